"""Reading images and validating image arrays: everything else in handtrace takes RGB uint8 (H, W, 3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

#: Image file suffixes (case-insensitive) taken from folders by every command and source: what
#: ``cv2.imread`` reads among the common formats.
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def as_rgb_uint8(image: Any, name: str = "image") -> np.ndarray:
    """Validate an image array and return it as C-contiguous RGB uint8 (H, W, 3).

    Accepts (H, W, 3) RGB, (H, W) or (H, W, 1) grayscale (repeated to 3 channels) and (H, W, 4) RGBA (alpha
    dropped). A valid contiguous RGB array is returned as is, without a copy.

    Raises:
        ValueError: for None, a non-uint8 dtype, a wrong number of dimensions or channels, or an empty image.
    """
    if image is None:
        raise ValueError(f"{name} is None; expected an RGB uint8 array of shape (H, W, 3)")
    if not isinstance(image, np.ndarray):
        try:
            image = np.asarray(image)
        except Exception as exc:  # e.g. ragged nested lists
            raise ValueError(f"{name} cannot be converted to an array: {exc}") from exc
    if image.dtype != np.uint8:
        hint = " (scale [0, 1] floats by 255 and cast to uint8)" if image.dtype.kind == "f" else ""
        raise ValueError(f"{name} must be uint8, got {image.dtype}{hint}")
    if image.ndim not in (2, 3):
        raise ValueError(f"{name} must be 2-D (H, W) or 3-D (H, W, C), got {image.ndim}-D array "
                         f"of shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 1:
        return np.ascontiguousarray(np.repeat(image, 3, axis=2))
    if channels == 4:
        # Alpha is dropped, as MediaPipe does (its RGBA -> RGB conversion ignores alpha).
        return np.ascontiguousarray(image[:, :, :3])
    if channels != 3:
        raise ValueError(f"{name} must have 1, 3 or 4 channels, got {channels} (shape {image.shape})")
    return np.ascontiguousarray(image)


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3): EXIF orientation applied, 16 bit reduced to 8 bit, grayscale
    expanded, alpha dropped (as ``cv2.imread`` does, and as MediaPipe treats RGBA).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: when it is not a file or cannot be decoded as an image.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image file not found: {p}")
    if not p.is_file():
        raise ValueError(f"not an image file (not a regular file): {p}")
    # imdecode from bytes rather than imread: works with any path (non-ASCII names on Windows).
    data = np.fromfile(p, dtype=np.uint8)
    if data.size == 0:
        raise ValueError(f"cannot read image {p}: the file is empty")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ValueError(f"cannot decode image {p}: not an image or an unsupported format")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
