"""``mediapipe.tasks.python.vision``: the hand tasks (``HandLandmarker``, ``GestureRecognizer``), their
options and results, ``RunningMode``, ``ImageProcessingOptions``, and (as MediaPipe 0.10.30+)
``drawing_utils`` / ``drawing_styles``."""

from handtrace.mediapipe.tasks.python.vision import (
    core,
    drawing_styles,
    drawing_utils,
    gesture_recognizer,
    hand_landmarker,
)
from handtrace.mediapipe.tasks.python.vision.core.image_processing_options import ImageProcessingOptions
from handtrace.mediapipe.tasks.python.vision.core.vision_task_running_mode import (
    VisionTaskRunningMode as RunningMode,
)
from handtrace.mediapipe.tasks.python.vision.gesture_recognizer import (
    GestureRecognizer,
    GestureRecognizerOptions,
    GestureRecognizerResult,
)
from handtrace.mediapipe.tasks.python.vision.hand_landmarker import (
    HandLandmarker,
    HandLandmarkerOptions,
    HandLandmarkerResult,
    HandLandmarksConnections,
)

__all__ = [
    "GestureRecognizer",
    "GestureRecognizerOptions",
    "GestureRecognizerResult",
    "HandLandmarker",
    "HandLandmarkerOptions",
    "HandLandmarkerResult",
    "HandLandmarksConnections",
    "ImageProcessingOptions",
    "RunningMode",
    "core",
    "drawing_styles",
    "drawing_utils",
    "gesture_recognizer",
    "hand_landmarker",
]
