"""``mp.Image`` and ``mp.ImageFormat``: MediaPipe's image container, over a numpy array."""

from __future__ import annotations

import enum
import os

import cv2
import numpy as np

from handtrace.io import as_rgb_uint8, read_image


class ImageFormat(enum.IntEnum):
    """MediaPipe's image formats (same names and values); handtrace reads the 8-bit ones."""

    UNKNOWN = 0
    SRGB = 1
    SRGBA = 2
    GRAY8 = 3
    GRAY16 = 4
    SRGB48 = 7
    SRGBA64 = 8
    VEC32F1 = 9
    SBGRA = 11
    VEC32F2 = 12


_CHANNELS = {ImageFormat.SRGB: 3, ImageFormat.SRGBA: 4, ImageFormat.SBGRA: 4, ImageFormat.GRAY8: 1}


class Image:
    """An image for the Tasks API: ``mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb_array)``.

    ``data``: uint8 (H, W, 3) for SRGB, (H, W, 4) for SRGBA / SBGRA, (H, W) or (H, W, 1) for GRAY8. The array
    is copied, as MediaPipe copies it, so later changes to ``data`` do not change the image.
    """

    def __init__(self, image_format: ImageFormat, data: np.ndarray) -> None:
        fmt = ImageFormat(image_format)
        array = np.asarray(data)
        if array.dtype.kind == "f":
            raise RuntimeError("float image data should be either VEC32F1, VEC32F2, or VEC32F4 MediaPipe "
                               "image formats.")
        if fmt not in _CHANNELS:
            raise ValueError(f"handtrace.mediapipe.Image supports SRGB, SRGBA, SBGRA and GRAY8, got "
                             f"{fmt.name}")
        if array.dtype != np.uint8:
            raise RuntimeError(f"{fmt.name} image data must be uint8, got {array.dtype}")
        channels = 1 if array.ndim == 2 else array.shape[-1] if array.ndim == 3 else -1
        if channels != _CHANNELS[fmt] or array.size == 0:
            raise ValueError(f"{fmt.name} image data must have shape (H, W, {_CHANNELS[fmt]}), got "
                             f"{array.shape}")
        self._format = fmt
        self._data = np.array(array, copy=True, order="C")
        self._data.flags.writeable = False

    @classmethod
    def create_from_file(cls, file_name: str | os.PathLike[str]) -> Image:
        """Read an image file as SRGB (alpha dropped, EXIF orientation applied)."""
        try:
            rgb = read_image(file_name)
        except (FileNotFoundError, ValueError) as exc:
            raise RuntimeError(f"Image decoding failed: {exc}") from exc
        return cls(ImageFormat.SRGB, rgb)

    def numpy_view(self) -> np.ndarray:
        """The pixels as a read-only array (H, W, C), or (H, W) for GRAY8."""
        gray = self._data.ndim == 3 and self._format == ImageFormat.GRAY8
        return self._data[:, :, 0] if gray else self._data

    @property
    def width(self) -> int:
        return int(self._data.shape[1])

    @property
    def height(self) -> int:
        return int(self._data.shape[0])

    @property
    def channels(self) -> int:
        return _CHANNELS[self._format]

    @property
    def image_format(self) -> ImageFormat:
        return self._format

    def is_empty(self) -> bool:
        return self._data.size == 0

    def uses_gpu(self) -> bool:
        return False

    def rgb(self) -> np.ndarray:
        """The image as RGB uint8 (H, W, 3), what the tracker takes."""
        if self._format == ImageFormat.SBGRA:
            return cv2.cvtColor(self._data, cv2.COLOR_BGRA2RGB)
        return as_rgb_uint8(self._data)

    def __repr__(self) -> str:
        return f"<handtrace.mediapipe.Image {self._format.name} {self.width}x{self.height}>"


def as_rgb(image: Image | np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) from an :class:`Image` or an RGB array (Tasks API input)."""
    if isinstance(image, Image):
        return image.rgb()
    return as_rgb_uint8(image)
