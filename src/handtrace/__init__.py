"""handtrace: real-time hand tracking and gesture recognition."""

from handtrace.drawing import draw_hands
from handtrace.gestures import Gesture, GestureRecognizer
from handtrace.io import read_image
from handtrace.motion import GestureEvent, GestureEventDetector
from handtrace.results import HAND_CONNECTIONS, LANDMARK_NAMES, Hand
from handtrace.tracker import HandTracker
from handtrace.video import Frame, open_source

__all__ = [
    "HAND_CONNECTIONS",
    "LANDMARK_NAMES",
    "Frame",
    "Gesture",
    "GestureEvent",
    "GestureEventDetector",
    "GestureRecognizer",
    "Hand",
    "HandTracker",
    "draw_hands",
    "open_source",
    "read_image",
]
__version__ = "0.1.0"
