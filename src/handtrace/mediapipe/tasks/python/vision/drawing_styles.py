"""``mediapipe.tasks.python.vision.drawing_styles`` (MediaPipe 0.10.30+): default hand styles keyed for the
Tasks API's ``HandLandmarksConnections`` (its palm runs wrist - thumb CMC - index MCP)."""

from __future__ import annotations

from collections.abc import Mapping

from handtrace.mediapipe.solutions import drawing_styles as _legacy
from handtrace.mediapipe.solutions.drawing_utils import DrawingSpec
from handtrace.mediapipe.tasks.python.vision.hand_landmarker import HandLandmarksConnections as _C

get_default_hand_landmarks_style = _legacy.get_default_hand_landmarks_style

_GROUPS = (
    (_C.HAND_PALM_CONNECTIONS, _legacy.HAND_PALM_CONNECTIONS_STYLE),
    (_C.HAND_THUMB_CONNECTIONS, _legacy.HAND_THUMB_CONNECTIONS_STYLE),
    (_C.HAND_INDEX_FINGER_CONNECTIONS, _legacy.HAND_INDEX_FINGER_CONNECTIONS_STYLE),
    (_C.HAND_MIDDLE_FINGER_CONNECTIONS, _legacy.HAND_MIDDLE_FINGER_CONNECTIONS_STYLE),
    (_C.HAND_RING_FINGER_CONNECTIONS, _legacy.HAND_RING_FINGER_CONNECTIONS_STYLE),
    (_C.HAND_PINKY_FINGER_CONNECTIONS, _legacy.HAND_PINKY_FINGER_CONNECTIONS_STYLE),
)


def get_default_hand_connections_style() -> Mapping[tuple[int, int], DrawingSpec]:
    """Drawing spec of each Tasks hand connection, keyed by ``(start, end)``."""
    return {(c.start, c.end): DrawingSpec(*style) for group, style in _GROUPS for c in group}


__all__ = ["get_default_hand_connections_style", "get_default_hand_landmarks_style"]
