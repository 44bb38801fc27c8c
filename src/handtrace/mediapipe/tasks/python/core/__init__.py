"""Core options of the Tasks API."""

from handtrace.mediapipe.tasks.python.core import base_options

__all__ = ["base_options"]
