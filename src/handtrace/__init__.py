"""handtrace: real-time hand tracking and gesture recognition."""

from handtrace.drawing import draw_hands
from handtrace.io import read_image
from handtrace.results import HAND_CONNECTIONS, LANDMARK_NAMES, Hand
from handtrace.tracker import HandTracker
from handtrace.video import Frame, open_source

__all__ = [
    "HAND_CONNECTIONS",
    "LANDMARK_NAMES",
    "Frame",
    "Hand",
    "HandTracker",
    "draw_hands",
    "open_source",
    "read_image",
]
__version__ = "0.1.0"
