"""Reading images and validating image arrays (everything else in handtrace takes RGB uint8 (H, W, 3)), and
the safety rules every command's files follow: :func:`check_output_not_input` (never write over an input)
and :func:`interrupt_on_signals` (SIGTERM and SIGHUP stop a command like Ctrl-C, so outputs are closed)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "Interrupted",
    "OutputIsInputError",
    "as_rgb_uint8",
    "check_output_not_input",
    "interrupt_on_signals",
    "read_image",
]

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
        raise ValueError(f"{name} must be uint8, got {image.dtype}{_dtype_hint(image)}")
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


def _dtype_hint(image: np.ndarray) -> str:
    """How to turn a non-uint8 image into uint8, judged from its values (a [0, 1] float or 0-255 numbers)."""
    if image.dtype.kind not in "fiub" or image.size == 0:
        return ""
    with np.errstate(all="ignore"):
        finite = image[np.isfinite(image)] if image.dtype.kind == "f" else image
        high = float(finite.max()) if finite.size else float("nan")
    if image.dtype.kind == "f" and high <= 1.0:
        return " (values look like [0, 1] floats: (image * 255).round().astype(np.uint8))"
    if high <= 255.0:
        return " (values are in 0-255: image.astype(np.uint8))"
    return f" (values reach {high:g}: scale them to 0-255 first, e.g. 16 bit: (image >> 8).astype(np.uint8))"


#: File signatures of the image formats OpenCV reads: a file that starts like one but cannot be decoded is
#: truncated or corrupt, not "not an image".
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _image_format(data: np.ndarray) -> str | None:
    head = data[:16].tobytes()
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for sig, name in _SIGNATURES if head.startswith(sig)), None)


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
        kind = _image_format(data)
        if kind is not None:
            raise ValueError(f"cannot decode image {p}: the {kind} data is truncated or corrupt "
                             f"({data.size} bytes)")
        raise ValueError(f"cannot decode image {p}: not an image or an unsupported format")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# ------------------------------------------------------------------------------------- output safety


class OutputIsInputError(ValueError):
    """An output path resolves to an input (the same file, a hard link to it, or an input folder)."""


def _same_path(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are one file or folder: same device and inode when both exist (hard and
    symbolic links included), else the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_output_not_input(
    outputs: Iterable[str | os.PathLike[str]],
    inputs: Iterable[str | os.PathLike[str]],
    *,
    output_dirs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Refuse outputs that would overwrite an input, before anything is written.

    Args:
        outputs: output files (existing or not).
        inputs: input files and folders.
        output_dirs: output folders (e.g. ``detect --draw DIR``): refused when equal to an input folder or to
            the folder of an input file, where a written file could replace an input.

    Raises:
        OutputIsInputError: naming the output and the input it resolves to; also for an output given twice.
    """
    ins = [Path(p) for p in inputs]
    in_dirs = {p if p.is_dir() else p.parent for p in ins}
    for folder in map(Path, output_dirs):
        for inp in in_dirs:
            if _same_path(folder, inp):
                raise OutputIsInputError(
                    f"output folder {folder} is the input folder {inp}: its files could be overwritten; "
                    "choose another folder")
    seen: list[Path] = []
    for out in map(Path, outputs):
        for inp in ins:
            if _same_path(out, inp):
                what = "is" if os.path.abspath(out) == os.path.abspath(inp) else "resolves to"
                raise OutputIsInputError(
                    f"output {out} {what} the input {inp}: refusing to overwrite an input")
        for other in seen:
            if _same_path(out, other):
                raise OutputIsInputError(f"output {out} is given twice (also as {other})")
        seen.append(out)


class Interrupted(KeyboardInterrupt):
    """Raised by :func:`interrupt_on_signals` on SIGTERM or SIGHUP; ``signal`` is the signal number.

    A :class:`KeyboardInterrupt`, so code that closes its outputs on Ctrl-C does the same on these signals.
    """

    def __init__(self, signum: int) -> None:
        self.signal = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


#: Signals that stop a command like Ctrl-C: ``timeout`` and container stops send SIGTERM, a closed terminal
#: SIGHUP.
TERMINATION_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def interrupt_on_signals(signals: Iterable[int] = TERMINATION_SIGNALS) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted` (a KeyboardInterrupt) in the main
    thread, so ``except KeyboardInterrupt`` / ``finally`` close outputs cleanly; the previous handlers come
    back on leaving. The first signal raises; later ones are ignored, so cleanup is not cut short. Outside
    the main thread (where Python cannot set handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Interrupted(signum)

    previous: dict[int, Any] = {}
    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
