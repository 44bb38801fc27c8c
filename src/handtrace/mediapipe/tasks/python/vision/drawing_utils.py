"""``mediapipe.tasks.python.vision.drawing_utils`` (MediaPipe 0.10.30+): the same drawing utilities, which
take Tasks landmark lists and ``HandLandmarksConnections`` connections too."""

from handtrace.mediapipe.solutions.drawing_utils import (
    BLACK_COLOR,
    BLUE_COLOR,
    GREEN_COLOR,
    RED_COLOR,
    WHITE_COLOR,
    DrawingSpec,
    draw_landmarks,
    plot_landmarks,
)

__all__ = ["BLACK_COLOR", "BLUE_COLOR", "GREEN_COLOR", "RED_COLOR", "WHITE_COLOR", "DrawingSpec",
           "draw_landmarks", "plot_landmarks"]
