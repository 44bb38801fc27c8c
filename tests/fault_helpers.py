"""Helpers of the fault tests: a file that fills up like a full disk, and the frames a video decodes to."""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np


class FullDisk(io.RawIOBase):
    """A binary file that takes ``limit`` bytes, then fails as a full disk does (``OSError(ENOSPC)``); with
    ``fail_on_close`` its close fails too (the last flush of a full disk)."""

    def __init__(self, path: Path, limit: int, fail_on_close: bool = False) -> None:
        self._f = open(path, "wb")  # noqa: SIM115
        self.limit, self.n, self.fail_on_close = limit, 0, fail_on_close

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.n + len(data) > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.n += len(data)
        return self._f.write(data)

    def seek(self, *args: Any) -> int:
        return self._f.seek(*args)

    def tell(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        if not self.closed:
            self._f.close()
            super().close()
            if self.fail_on_close:
                raise OSError(errno.ENOSPC, "No space left on device")


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from a video file (BGR), in order."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames
