"""handtrace: real-time hand tracking and gesture recognition."""

from handtrace.results import HAND_CONNECTIONS, LANDMARK_NAMES, Hand

__all__ = ["HAND_CONNECTIONS", "LANDMARK_NAMES", "Hand"]
__version__ = "0.1.0"
