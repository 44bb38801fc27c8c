"""Streaming outputs of video tracking: JSON Lines, CSV and an annotated video.

Every writer takes one frame at a time, ``writer.write(frame, hands, events=None)``, and pushes it to disk
before returning, so a run that stops at frame N (a broken input, an exception, Ctrl-C) leaves frames 0..N-1
in the file. Writers are context managers; ``close()`` may be called more than once. :func:`open_writer`
picks the writer from the file's suffix.

**JSON Lines** (``.jsonl``, ``.ndjson``): one JSON object per frame, in order::

    {"frame": 0, "timestamp_ms": 0.0, "hands": [HAND, ...]}            # "events": [...] too, when given

where ``HAND`` is ``{"id": 1, ...}`` followed by :meth:`handtrace.results.Hand.to_dict`: ``handedness``,
``handedness_score``, ``presence``, ``detection_score``, ``box`` ([x_min, y_min, x_max, y_max] px),
``landmarks`` (21 x [x, y, z] px), ``world_landmarks`` (21 x [x, y, z] m), and ``gesture`` / ``gesture_score``
when a gesture was recognised. ``id`` is ``null`` for hands without a track id.

**CSV** (``.csv``): a header row, then one row per hand per frame (frames without a hand have no row). Columns
(:data:`CSV_COLUMNS`): ``frame, timestamp_ms, id, handedness, handedness_score, presence, detection_score,
gesture, gesture_score``, then ``x0, y0, z0, ..., x20, y20, z20`` (image landmarks, px) and ``wx0, wy0, wz0,
..., wx20, wy20, wz20`` (world landmarks, m). Empty cells for a missing id or gesture. Events are not written
(use JSON Lines for them).

**Video** (``.mp4``: MPEG-4 Part 2 'mp4v'; ``.avi``: Motion JPEG): each frame drawn by a callable
``draw(image_rgb, hands) -> image_rgb`` (default :func:`handtrace.drawing.draw_hands`), at the input's frame
rate and size (the codecs' 4:2:0 colour needs even sizes: FFmpeg drops the last column or row of an odd
one). OpenCV's writer cannot flush per frame: an MP4 file's index is written by ``close()``, so it plays only
once closed. Closing happens on exceptions, a broken input and Ctrl-C through the context manager, but not
when the process is killed; then an AVI file still plays up to its last internal buffer flush (every few
hundred KB), an MP4 file not at all.
"""

from __future__ import annotations

import csv
import json
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import cv2
import numpy as np

from handtrace.results import Hand

__all__ = [
    "CSV_COLUMNS",
    "WRITER_SUFFIXES",
    "CsvWriter",
    "FrameWriter",
    "JsonlWriter",
    "VideoWriter",
    "hand_record",
    "open_writer",
]

#: Header of the CSV output.
CSV_COLUMNS: tuple[str, ...] = (
    "frame", "timestamp_ms", "id", "handedness", "handedness_score", "presence", "detection_score",
    "gesture", "gesture_score",
    *(f"{axis}{i}" for i in range(21) for axis in "xyz"),
    *(f"w{axis}{i}" for i in range(21) for axis in "xyz"),
)  # fmt: skip

#: Output file suffixes understood by :func:`open_writer`.
WRITER_SUFFIXES: dict[str, str] = {
    ".jsonl": "JSON Lines", ".ndjson": "JSON Lines", ".csv": "CSV", ".mp4": "MP4 video", ".avi": "AVI video",
}

#: Codec per video suffix: 'mp4v' plays nearly everywhere and ships with OpenCV's FFmpeg; MJPG keeps most of
#: an AVI readable even when it is not closed.
_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}

DrawFn = Callable[[np.ndarray, Sequence[Hand]], np.ndarray]


def _json_default(value: Any) -> Any:
    """Numpy scalars and arrays (e.g. in ``Hand.extras``) as plain JSON values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (in nested lists and dicts)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def hand_record(hand: Hand, decimals: int = 2) -> dict[str, Any]:
    """The JSON object of one hand: ``{"id": ..., **hand.to_dict(decimals)}`` (``id`` first, maybe
    ``None``)."""
    return {"id": hand.id, **hand.to_dict(decimals)}


def _frame_fields(frame: Any) -> tuple[int, float]:
    """``(index, timestamp_ms)`` of a :class:`handtrace.video.Frame` or an ``(index, timestamp_ms)`` pair."""
    if isinstance(frame, tuple):
        index, ts = frame
        return int(index), float(ts)
    return int(frame.index), float(frame.timestamp_ms)


def _check_parent(path: Path) -> None:
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output folder does not exist: {path.parent} (for {path})")


class FrameWriter(ABC):
    """Base of the streaming writers: ``write`` per frame, ``close`` once or more, a context manager.

    Attributes:
        path: the output file.
        frames_written: number of frames written so far.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.frames_written = 0
        self._closed = False

    def write(self, frame: Any, hands: Sequence[Hand], events: Sequence[Any] | None = None) -> None:
        """Write one frame's results.

        Args:
            frame: a :class:`handtrace.video.Frame` (``index``, ``timestamp_ms``, ``image_rgb``), or for the
                JSON Lines and CSV writers an ``(index, timestamp_ms)`` pair.
            hands: the hands found in the frame.
            events: optional JSON-ready events of this frame (e.g. a track starting or ending).
        """
        if self._closed:
            raise ValueError(f"{self.path}: write to a closed writer")
        self._write(frame, hands, events)
        self.frames_written += 1

    @abstractmethod
    def _write(self, frame: Any, hands: Sequence[Hand], events: Sequence[Any] | None) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def close(self) -> None:
        """Finish the file. Idempotent."""
        if not self._closed:
            self._closed = True
            self._close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, frames_written={self.frames_written})"


class JsonlWriter(FrameWriter):
    """JSON Lines: one object per frame (see the module docstring), flushed after each line.

    Args:
        path: output file (overwritten).
        decimals: pixel values rounded to this many decimals, metres to ``decimals + 3``.
    """

    def __init__(self, path: str | os.PathLike[str], decimals: int = 2) -> None:
        super().__init__(path)
        _check_parent(self.path)
        self.decimals = decimals
        self._file: IO[str] = open(self.path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    def _write(self, frame: Any, hands: Sequence[Hand], events: Sequence[Any] | None) -> None:
        index, ts = _frame_fields(frame)
        record: dict[str, Any] = {"frame": index, "timestamp_ms": round(ts, 3),
                                  "hands": [hand_record(h, self.decimals) for h in hands]}
        if events is not None:
            record["events"] = list(events)
        try:
            line = json.dumps(record, default=_json_default, separators=(",", ":"), allow_nan=False)
        except ValueError:  # NaN or infinity somewhere: not JSON, so write null rather than break the file
            line = json.dumps(_finite(json.loads(json.dumps(record, default=_json_default))),
                              separators=(",", ":"), allow_nan=False)
        self._file.write(line + "\n")
        self._file.flush()

    def _close(self) -> None:
        self._file.close()


def _cell(value: float, decimals: int) -> str:
    return "" if not math.isfinite(value) else f"{value:.{decimals}f}"


class CsvWriter(FrameWriter):
    """CSV: one row per hand per frame, columns :data:`CSV_COLUMNS`; flushed after each frame.

    Args:
        path: output file (overwritten).
        decimals: pixel values written with this many decimals, metres with ``decimals + 3``.
    """

    def __init__(self, path: str | os.PathLike[str], decimals: int = 2) -> None:
        super().__init__(path)
        _check_parent(self.path)
        self.decimals = decimals
        self._file: IO[str] = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._file)
        self._csv.writerow(CSV_COLUMNS)
        self._file.flush()

    def _write(self, frame: Any, hands: Sequence[Hand], events: Sequence[Any] | None) -> None:
        index, ts = _frame_fields(frame)
        d = self.decimals
        for h in hands:
            lm = np.asarray(h.landmarks, np.float64).reshape(21, 3)
            world = np.asarray(h.world_landmarks, np.float64).reshape(21, 3)
            self._csv.writerow([
                index, f"{ts:.3f}", "" if h.id is None else h.id, h.handedness,
                f"{h.handedness_score:.4f}", f"{h.presence:.4f}", f"{h.detection_score:.4f}",
                h.gesture or "", f"{h.gesture_score:.4f}" if h.gesture is not None else "",
                *(_cell(v, d) for v in lm.ravel()),
                *(_cell(v, d + 3) for v in world.ravel()),
            ])  # fmt: skip
        self._file.flush()

    def _close(self) -> None:
        self._file.close()


def _default_draw() -> DrawFn:
    from handtrace.drawing import draw_hands  # imported late: drawing is optional for the other writers

    return draw_hands


class VideoWriter(FrameWriter):
    """An annotated video: each frame drawn with its hands, written with OpenCV.

    Args:
        path: ``.mp4`` ('mp4v') or ``.avi`` (MJPG), overwritten.
        fps: frame rate (use the input's).
        size: ``(width, height)``; ``None`` takes the first frame's. Frames of another size are resized to it.
        draw: ``draw(image_rgb, hands) -> image_rgb`` (``None``: :func:`handtrace.drawing.draw_hands`). It may
            draw in place; the writer passes it a copy of the frame.
        fourcc: codec override (four characters).

    Raises:
        ValueError: an unknown suffix or fps, or OpenCV cannot open the file for writing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        size: tuple[int, int] | None = None,
        draw: DrawFn | None = None,
        fourcc: str | None = None,
    ) -> None:
        super().__init__(path)
        _check_parent(self.path)
        suffix = self.path.suffix.lower()
        if fourcc is None:
            if suffix not in _FOURCC:
                raise ValueError(f"unknown video type {suffix!r} for {self.path}: use .mp4 or .avi")
            fourcc = _FOURCC[suffix]
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.fps = float(fps)
        self.fourcc = fourcc
        self.size = size
        self.draw = draw
        self._writer: cv2.VideoWriter | None = None
        if size is not None:
            self._open(size)

    def _open(self, size: tuple[int, int]) -> None:
        w, h = int(size[0]), int(size[1])
        if w <= 0 or h <= 0:
            raise ValueError(f"bad video size {size!r}")
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h))
        if not writer.isOpened():
            writer.release()
            raise ValueError(f"cannot open {self.path} for writing with codec {self.fourcc!r} at {w}x{h}")
        self.size = (w, h)
        self._writer = writer

    def _write(self, frame: Any, hands: Sequence[Hand], events: Sequence[Any] | None) -> None:
        image = getattr(frame, "image_rgb", None)
        if image is None:
            raise TypeError("the video writer needs frames with an image (handtrace.video.Frame)")
        if self._writer is None:
            self._open((image.shape[1], image.shape[0]))
        assert self._writer is not None and self.size is not None
        if self.draw is None:
            self.draw = _default_draw()
        out = self.draw(np.array(image, copy=True), hands)
        if (out.shape[1], out.shape[0]) != self.size:
            out = cv2.resize(out, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2BGR))

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def open_writer(
    path: str | os.PathLike[str],
    *,
    fps: float | None = None,
    size: tuple[int, int] | None = None,
    draw: DrawFn | None = None,
    decimals: int = 2,
) -> FrameWriter:
    """A writer chosen by the file's suffix: ``.jsonl``/``.ndjson``, ``.csv``, ``.mp4``/``.avi``.

    Args:
        path: output file.
        fps, size, draw: for videos (see :class:`VideoWriter`; ``fps`` is required for them).
        decimals: for JSON Lines and CSV.

    Raises:
        ValueError: an unknown suffix, or a video without ``fps``.
        FileNotFoundError: the output folder does not exist.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return JsonlWriter(p, decimals)
    if suffix == ".csv":
        return CsvWriter(p, decimals)
    if suffix in _FOURCC:
        if fps is None:
            raise ValueError(f"a video output needs the frame rate (fps) of the input: {p}")
        return VideoWriter(p, fps, size, draw)
    known = ", ".join(sorted(WRITER_SUFFIXES))
    raise ValueError(f"unknown output type {suffix or '(no suffix)'!r} for {p}: use one of {known}")
