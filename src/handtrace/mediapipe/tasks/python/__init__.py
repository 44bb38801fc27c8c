"""``mediapipe.tasks.python``: ``BaseOptions``, ``vision`` and the result containers."""

from handtrace.mediapipe.tasks.python import components, core, vision
from handtrace.mediapipe.tasks.python.core.base_options import BaseOptions

__all__ = ["BaseOptions", "components", "core", "vision"]
