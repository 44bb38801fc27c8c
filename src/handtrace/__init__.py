"""handtrace: real-time hand tracking and gesture recognition."""

import os
from typing import Any

from handtrace.drawing import draw_hands
from handtrace.gestures import Gesture, GestureRecognizer
from handtrace.io import read_image
from handtrace.motion import GestureEvent, GestureEventDetector
from handtrace.results import HAND_CONNECTIONS, LANDMARK_NAMES, Hand
from handtrace.tracker import HandTracker
from handtrace.video import Frame, open_source


def read_results(path: str | os.PathLike[str]) -> Any:
    """The rows of a ``handtrace batch`` OUT_DIR as a pandas DataFrame (needs the ``[batch]`` extra); see
    :func:`handtrace.batch.read_results`."""
    from handtrace.batch import read_results as read

    return read(path)


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
    "read_results",
]
__version__ = "0.1.0"
