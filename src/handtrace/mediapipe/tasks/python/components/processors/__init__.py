"""Processing options of the Tasks API."""

from handtrace.mediapipe.tasks.python.components.processors import classifier_options
from handtrace.mediapipe.tasks.python.components.processors.classifier_options import ClassifierOptions

__all__ = ["ClassifierOptions", "classifier_options"]
