"""Result containers of the Tasks API."""

from handtrace.mediapipe.tasks.python.components.containers import category, landmark
from handtrace.mediapipe.tasks.python.components.containers.category import Category
from handtrace.mediapipe.tasks.python.components.containers.landmark import Landmark, NormalizedLandmark

__all__ = ["Category", "Landmark", "NormalizedLandmark", "category", "landmark"]
