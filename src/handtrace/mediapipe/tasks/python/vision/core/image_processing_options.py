"""``ImageProcessingOptions`` of the vision tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ImageProcessingOptions:
    """Accepted for compatibility: the hand tasks refuse a ``region_of_interest`` (as MediaPipe's do) and
    handtrace supports ``rotation_degrees=0`` only (others raise ``NotImplementedError``)."""

    region_of_interest: Any = None
    rotation_degrees: int = 0
