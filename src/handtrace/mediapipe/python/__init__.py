"""``mediapipe.python``: ``Image``, ``ImageFormat`` and ``solutions`` (MediaPipe's top level re-exports
them)."""

from handtrace.mediapipe import solutions
from handtrace.mediapipe._image import Image, ImageFormat

__all__ = ["Image", "ImageFormat", "solutions"]
