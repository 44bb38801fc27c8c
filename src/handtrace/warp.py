"""Bilinear affine warps of RGB(A) uint8 images into the models' 8-bit RGBA inputs.

Both networks see their input through one warp: the palm detector a letterboxed copy of the whole image,
the landmark model a rotated crop per hand. The warp writes straight into the model's batch: the models
take 8-bit pixels and scale them themselves (:mod:`handtrace.models.image_input`). OpenCV vectorises its
bilinear warp for 4-channel images but not for 3-channel ones (here 0.05 ms against 0.14 ms for a 224x224
crop) and both give bit-identical values, so :func:`prepare` turns a small image into RGBA once per frame
(alpha unused) when the warps it will go through save more than the conversion costs. A large frame
(video) keeps its RGB pixels; for each crop only the part the warp reads (its footprint) is converted, into
a reusable full-size RGBA scratch buffer, so that coordinates stay those of the frame and the values stay
bit-identical. The buffer is per thread (:class:`RGBAScratch`): one tracker shared by threads must not have
one thread's frame written into the buffer another thread is warping from.
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np

BORDERS = {"zero": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}
#: Images up to this many pixels are converted to RGBA for warping: the conversion costs ~0.12 ns per pixel
#: here, one 4-channel warp saves ~0.09 ms, and a frame goes through one to three warps.
RGBA_MAX_PIXELS = 300_000
#: Pixels added around a footprint: the bilinear neighbour, fixed-point rounding, and a spare.
FOOTPRINT_MARGIN = 2


def check_border(border: str) -> str:
    """``border`` if it names a border mode of :data:`BORDERS`, else a ValueError naming the choices."""
    if border not in BORDERS:
        raise ValueError(f"border must be one of {tuple(BORDERS)}, got {border!r}")
    return border


def prepare(image: np.ndarray) -> np.ndarray:
    """The image to warp from: RGBA (alpha unused) for an RGB image up to ``RGBA_MAX_PIXELS``, else as is.

    image: (H, W, 3) or (H, W, 4) uint8. Returns (H, W, 3) or (H, W, 4) uint8.
    """
    h, w, channels = image.shape
    if channels == 3 and h * w <= RGBA_MAX_PIXELS:
        return cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
    return image


def footprint(to_image: np.ndarray, size: int, height: int, width: int) -> tuple[int, int, int, int]:
    """Image pixels a (size x size) warp with output -> image matrix ``to_image`` (2, 3) reads.

    Returns ``x0, y0, x1, y1`` (end exclusive), clipped to the image but never empty: a warp lying wholly
    outside keeps the nearest edge row or column, which a replicated border repeats.
    """
    (a, b, c), (d, e, f) = np.asarray(to_image, np.float64).tolist()  # 6 numbers: scalar maths is faster
    n = size - 1
    x_lo, x_hi = c + min(a * n, 0.0) + min(b * n, 0.0), c + max(a * n, 0.0) + max(b * n, 0.0)
    y_lo, y_hi = f + min(d * n, 0.0) + min(e * n, 0.0), f + max(d * n, 0.0) + max(e * n, 0.0)
    x0 = min(max(math.floor(x_lo) - FOOTPRINT_MARGIN, 0), width - 1)
    y0 = min(max(math.floor(y_lo) - FOOTPRINT_MARGIN, 0), height - 1)
    x1 = max(min(math.floor(x_hi) + FOOTPRINT_MARGIN + 2, width), x0 + 1)
    y1 = max(min(math.floor(y_hi) + FOOTPRINT_MARGIN + 2, height), y0 + 1)
    return x0, y0, x1, y1


class RGBAScratch:
    """A full-size RGBA buffer per thread, reused from frame to frame, filled only where the current warp
    reads. Each thread gets its own buffer, so one scratch (one tracker) can serve several threads at once."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def buffer(self) -> np.ndarray | None:
        """The calling thread's buffer (``None`` before its first use)."""
        return getattr(self._local, "buffer", None)

    @buffer.setter
    def buffer(self, value: np.ndarray | None) -> None:
        self._local.buffer = value

    def source(self, image: np.ndarray, to_image: np.ndarray, size: int) -> np.ndarray:
        """What to warp ``image`` (H, W, 3) from: this buffer with the warp's footprint converted, or
        ``image`` itself when the footprint is too large to pay off."""
        h, w = image.shape[:2]
        x0, y0, x1, y1 = footprint(to_image, size, h, w)
        if (x1 - x0) * (y1 - y0) > RGBA_MAX_PIXELS:
            return image
        buffer = getattr(self._local, "buffer", None)
        if buffer is None or buffer.shape[:2] != (h, w):
            buffer = self._local.buffer = np.empty((h, w, 4), np.uint8)
        cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2RGBA, dst=buffer[y0:y1, x0:x1])
        return buffer


def warp_into(image: np.ndarray, to_image: np.ndarray, out: np.ndarray, border: str = "replicate",
              scratch: RGBAScratch | None = None) -> np.ndarray:
    """Bilinear warp of an RGB or RGBA uint8 image (H, W, 3|4) into ``out`` (h, w, 4) uint8 RGBA.

    ``to_image`` (2, 3): affine map from output pixels to image pixels (OpenCV's inverse map).
    ``border``: "zero" or "replicate" for samples outside the image. ``scratch``: converts the part of an
    RGB image the warp reads to RGBA first (same values, faster). The alpha channel is left unspecified
    (the models ignore it). Returns ``out``.
    """
    dsize = (out.shape[1], out.shape[0])
    to_image = np.asarray(to_image, np.float64)
    if scratch is not None and image.shape[2] == 3:
        image = scratch.source(image, to_image, max(dsize))  # a square footprint covers the rectangle's
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    if image.shape[2] == 4:
        cv2.warpAffine(image, to_image, dsize, dst=out, flags=flags, borderMode=BORDERS[border],
                       borderValue=0)
    else:  # a crop reading too much of a large frame to convert first
        warped = cv2.warpAffine(image, to_image, dsize, flags=flags, borderMode=BORDERS[border],
                                borderValue=0)
        cv2.cvtColor(warped, cv2.COLOR_RGB2RGBA, dst=out)
    return out
