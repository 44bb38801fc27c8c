"""``mp.solutions.drawing_styles``: MediaPipe's default hand colours (BGR), per finger."""

from __future__ import annotations

from collections.abc import Mapping

from handtrace.mediapipe.solutions import hands_connections as _conn
from handtrace.mediapipe.solutions.drawing_utils import DrawingSpec
from handtrace.mediapipe.solutions.hands import HandLandmark as _HL

_RADIUS = 5
_RED = (48, 48, 255)
_GREEN = (48, 255, 48)
_BLUE = (192, 101, 21)
_YELLOW = (0, 204, 255)
_GRAY = (128, 128, 128)
_PURPLE = (128, 64, 128)
_PEACH = (180, 229, 255)
_WHITE = (224, 224, 224)
_THICKNESS_WRIST_MCP = 3
_THICKNESS_FINGER = 2
_THICKNESS_DOT = -1  # filled

#: Landmark groups and their colours: the palm (wrist, thumb CMC, finger MCPs) red, then one colour a finger.
_LANDMARK_COLORS: tuple[tuple[tuple[int, ...], tuple[int, int, int]], ...] = (
    ((_HL.WRIST, _HL.THUMB_CMC, _HL.INDEX_FINGER_MCP, _HL.MIDDLE_FINGER_MCP, _HL.RING_FINGER_MCP,
      _HL.PINKY_MCP), _RED),
    ((_HL.THUMB_MCP, _HL.THUMB_IP, _HL.THUMB_TIP), _PEACH),
    ((_HL.INDEX_FINGER_PIP, _HL.INDEX_FINGER_DIP, _HL.INDEX_FINGER_TIP), _PURPLE),
    ((_HL.MIDDLE_FINGER_PIP, _HL.MIDDLE_FINGER_DIP, _HL.MIDDLE_FINGER_TIP), _YELLOW),
    ((_HL.RING_FINGER_PIP, _HL.RING_FINGER_DIP, _HL.RING_FINGER_TIP), _GREEN),
    ((_HL.PINKY_PIP, _HL.PINKY_DIP, _HL.PINKY_TIP), _BLUE),
)
#: (colour, thickness) of each finger's connections.
HAND_PALM_CONNECTIONS_STYLE = (_GRAY, _THICKNESS_WRIST_MCP)
HAND_THUMB_CONNECTIONS_STYLE = (_PEACH, _THICKNESS_FINGER)
HAND_INDEX_FINGER_CONNECTIONS_STYLE = (_PURPLE, _THICKNESS_FINGER)
HAND_MIDDLE_FINGER_CONNECTIONS_STYLE = (_YELLOW, _THICKNESS_FINGER)
HAND_RING_FINGER_CONNECTIONS_STYLE = (_GREEN, _THICKNESS_FINGER)
HAND_PINKY_FINGER_CONNECTIONS_STYLE = (_BLUE, _THICKNESS_FINGER)
_CONNECTION_STYLES = (
    (_conn.HAND_PALM_CONNECTIONS, HAND_PALM_CONNECTIONS_STYLE),
    (_conn.HAND_THUMB_CONNECTIONS, HAND_THUMB_CONNECTIONS_STYLE),
    (_conn.HAND_INDEX_FINGER_CONNECTIONS, HAND_INDEX_FINGER_CONNECTIONS_STYLE),
    (_conn.HAND_MIDDLE_FINGER_CONNECTIONS, HAND_MIDDLE_FINGER_CONNECTIONS_STYLE),
    (_conn.HAND_RING_FINGER_CONNECTIONS, HAND_RING_FINGER_CONNECTIONS_STYLE),
    (_conn.HAND_PINKY_FINGER_CONNECTIONS, HAND_PINKY_FINGER_CONNECTIONS_STYLE),
)


def get_default_hand_landmarks_style() -> Mapping[int, DrawingSpec]:
    """Drawing spec of each hand landmark (filled dots of radius 5)."""
    return {lm: DrawingSpec(color=color, thickness=_THICKNESS_DOT, circle_radius=_RADIUS)
            for group, color in _LANDMARK_COLORS for lm in group}


def get_default_hand_connections_style() -> Mapping[tuple[int, int], DrawingSpec]:
    """Drawing spec of each hand connection (palm grey and thicker, fingers in their colour)."""
    return {c: DrawingSpec(*style) for group, style in _CONNECTION_STYLES for c in group}
