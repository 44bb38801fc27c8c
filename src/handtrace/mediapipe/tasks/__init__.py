"""``mp.tasks``: the Tasks API (``from mediapipe.tasks import python``; ``mp.tasks.vision``,
``mp.tasks.BaseOptions``)."""

from handtrace.mediapipe.tasks import python
from handtrace.mediapipe.tasks.python import BaseOptions, components, vision

__all__ = ["BaseOptions", "components", "python", "vision"]
