"""``mediapipe.framework``: only ``formats`` (landmark and classification messages)."""

from handtrace.mediapipe.framework import formats

__all__ = ["formats"]
