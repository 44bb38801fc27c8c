"""``mp.solutions``: the legacy hand solution and its drawing helpers (``hands``, ``drawing_utils``,
``drawing_styles``, ``hands_connections``)."""

from handtrace.mediapipe.solutions import drawing_styles, drawing_utils, hands, hands_connections

__all__ = ["drawing_styles", "drawing_utils", "hands", "hands_connections"]
