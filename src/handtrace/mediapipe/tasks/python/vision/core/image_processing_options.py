"""``ImageProcessingOptions`` of the vision tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ImageProcessingOptions:
    """``rotation_degrees`` (a multiple of 90): the image is turned this much clockwise before detection, and
    the results are given in the input image's frame, as MediaPipe does. The hand tasks refuse a
    ``region_of_interest``, as MediaPipe's do."""

    region_of_interest: Any = None
    rotation_degrees: int = 0
