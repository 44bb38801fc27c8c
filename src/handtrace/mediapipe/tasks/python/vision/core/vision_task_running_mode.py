"""``RunningMode`` of the vision tasks."""

from __future__ import annotations

import enum


class VisionTaskRunningMode(enum.Enum):
    """IMAGE: unrelated images; VIDEO: decoded video frames with timestamps; LIVE_STREAM: asynchronous frames
    (a camera), results through ``result_callback``."""

    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    LIVE_STREAM = "LIVE_STREAM"
