"""Components of the Tasks API: result containers and processing options."""

from handtrace.mediapipe.tasks.python.components import containers, processors

__all__ = ["containers", "processors"]
