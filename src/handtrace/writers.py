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

**Video** (``.mp4``, ``.avi``): each frame drawn by a callable ``draw(image_rgb, hands) -> image_rgb``
(default :func:`handtrace.drawing.draw_hands`), at the input's frame rate and size. Two backends:

* **PyAV** (the ``[video]`` extra, used when installed): ``.mp4`` is H.264 (libx264, ``veryfast``, CRF 23,
  a keyframe every second) in a *fragmented* MP4: the index travels with each one-second fragment, written
  and flushed as it completes, so a killed process (SIGKILL, power loss) leaves a file that plays up to
  its last complete fragment. Odd sizes are kept exactly (4:4:4 colour then, since 4:2:0 needs even sizes).
  ``.avi`` is Motion JPEG. Every write is checked: a failing write (a full disk) raises ``OSError``, and
  the fragments written before it stay playable.
* **OpenCV** (the fallback without PyAV): ``.mp4`` is MPEG-4 Part 2 'mp4v', ``.avi`` Motion JPEG. Its
  writer reports no write errors and writes an MP4's index only at ``close()``: a killed process leaves an
  MP4 that does not play (an AVI plays up to its last internal flush), odd sizes lose their last column or
  row, and ``close()`` can only check afterwards that the file plays (``OSError`` when it does not).
"""

from __future__ import annotations

import csv
import json
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from fractions import Fraction
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
    "have_pyav",
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

#: OpenCV codec per video suffix: 'mp4v' plays nearly everywhere and ships with OpenCV's FFmpeg; MJPG keeps
#: most of an AVI readable even when it is not closed.
_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}
#: PyAV container format and codecs (first one this FFmpeg build can encode) per video suffix.
_PYAV_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    ".mp4": ("mp4", ("libx264", "libopenh264", "h264", "mpeg4")),
    ".avi": ("avi", ("mjpeg",)),
}
#: Fragmented MP4, each fragment starting at a keyframe and flushed at once: what is on disk always plays.
_MP4_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}
#: libx264 settings: 'veryfast' encodes a 640x360 frame in ~5 ms here at a tenth of 'mp4v''s size.
_X264_OPTIONS = {"preset": "veryfast", "crf": "23"}
VIDEO_BACKENDS = ("pyav", "opencv")

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


def _open_file(path: Path, mode: str, **kwargs: Any) -> IO[Any]:
    """Open an output file (one place, so tests can put a failing file, e.g. a full disk, behind it)."""
    return open(path, mode, **kwargs)


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
        self._file: IO[str] = _open_file(self.path, "w", encoding="utf-8", newline="\n")

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
        self._file: IO[str] = _open_file(self.path, "w", encoding="utf-8", newline="")
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


def have_pyav() -> bool:
    """True when PyAV (``pip install handtrace[video]``) can be imported."""
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


class _PyAVEncoder:
    """Frames to a video file through PyAV; every write checked (``OSError`` on failure)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        import av

        suffix = path.suffix.lower()
        fmt, codecs = _PYAV_FORMATS[suffix]
        codec = next((c for c in codecs if _can_encode(c)), None)
        if codec is None:
            raise ValueError(f"this PyAV build has no encoder for {suffix} (tried {', '.join(codecs)})")
        w, h = size
        odd = w % 2 or h % 2
        self.path = path
        self.codec = codec
        # buffering=0: what FFmpeg flushes reaches the OS at once (a kill loses no Python-side buffer).
        self._file = _open_file(path, "wb", buffering=0)
        try:
            self._container = av.open(self._file, "w", format=fmt,
                                      options=_MP4_OPTIONS if fmt == "mp4" else {"flush_packets": "1"})
            rate = Fraction(fps).limit_denominator(1_000_000)
            options = {"g": str(max(1, round(fps)))}
            if codec == "libx264":
                options.update(_X264_OPTIONS)
            stream = self._container.add_stream(codec, rate=rate, options=options)
            stream.width, stream.height = w, h
            if codec == "mjpeg":
                stream.pix_fmt = "yuvj444p" if odd else "yuvj420p"
            else:  # 4:2:0 needs even sizes; libx264 keeps an odd one exactly in 4:4:4
                stream.pix_fmt = "yuv444p" if odd and codec == "libx264" else "yuv420p"
            self._stream = stream
            self._av_error = av.FFmpegError
        except BaseException:
            self._file.close()
            raise
        self._pts = 0

    def write(self, rgb: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self._pts
        self._pts += 1
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except self._av_error as exc:
            raise OSError(f"cannot write video {self.path}: {exc}") from exc

    def close(self, flush: bool = True) -> None:
        """Finish the file: encode the frames the encoder still holds (unless ``flush`` is false, after a
        failed write) and write the trailer. Raises ``OSError`` when that fails; the file is closed anyway."""
        try:
            if flush:
                try:
                    for packet in self._stream.encode(None):
                        self._container.mux(packet)
                except self._av_error as exc:
                    raise OSError(f"cannot write video {self.path}: {exc}") from exc
        finally:
            try:
                self._container.close()
            except self._av_error as exc:
                if flush:
                    raise OSError(f"cannot finish video {self.path}: {exc}") from exc
            finally:
                self._file.close()


def _can_encode(codec: str) -> bool:
    import av

    try:
        av.Codec(codec, "w")
    except Exception:  # unknown or decoder-only in this build
        return False
    return True


class _OpenCVEncoder:
    """Frames to a video file through ``cv2.VideoWriter`` (no PyAV): writes cannot be checked one by one,
    so :meth:`close` checks that the finished file plays."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], fourcc: str) -> None:
        self.path = path
        self.codec = fourcc
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if not writer.isOpened():
            writer.release()
            raise ValueError(f"cannot open {path} for writing with codec {fourcc!r} at {size[0]}x{size[1]}")
        self._writer = writer
        self._frames = 0

    def write(self, rgb: np.ndarray) -> None:
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self._frames += 1

    def close(self, flush: bool = True) -> None:
        self._writer.release()
        if flush and self._frames:
            cap = cv2.VideoCapture(str(self.path))
            try:
                ok = cap.isOpened() and cap.read()[0]
            finally:
                cap.release()
            if not ok:
                raise OSError(f"the video {self.path} was not written completely and does not play "
                              "(disk full or not writable?)")


class VideoWriter(FrameWriter):
    """An annotated video: each frame drawn with its hands, written with PyAV or OpenCV (module docstring).

    Args:
        path: ``.mp4`` or ``.avi``, overwritten.
        fps: frame rate (use the input's).
        size: ``(width, height)``; ``None`` takes the first frame's. Frames of another size are resized to it.
        draw: ``draw(image_rgb, hands) -> image_rgb`` (``None``: :func:`handtrace.drawing.draw_hands`). It may
            draw in place; the writer passes it a copy of the frame.
        fourcc: OpenCV codec override (four characters); implies ``backend="opencv"``.
        backend: "pyav", "opencv", or ``None``: PyAV when installed, else OpenCV.

    Attributes:
        backend: the backend in use. ``codec``: its codec, once the file is open.

    Raises:
        ValueError: an unknown suffix, fps or backend, or the file cannot be opened with the codec.
        OSError: the file cannot be created, or (PyAV) a frame cannot be written, e.g. on a full disk.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        size: tuple[int, int] | None = None,
        draw: DrawFn | None = None,
        fourcc: str | None = None,
        backend: str | None = None,
    ) -> None:
        super().__init__(path)
        _check_parent(self.path)
        suffix = self.path.suffix.lower()
        if fourcc is None and suffix not in _FOURCC:
            raise ValueError(f"unknown video type {suffix!r} for {self.path}: use .mp4 or .avi")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps!r}")
        if backend is None:
            backend = "opencv" if fourcc is not None or not have_pyav() else "pyav"
        if backend not in VIDEO_BACKENDS:
            raise ValueError(f"backend must be one of {VIDEO_BACKENDS}, got {backend!r}")
        if backend == "pyav" and fourcc is not None:
            raise ValueError("fourcc is an OpenCV codec: use it with backend='opencv'")
        self.backend = backend
        self.fps = float(fps)
        self.fourcc = fourcc or _FOURCC.get(suffix)
        self.codec: str | None = None
        self.size = size
        self.draw = draw
        self._encoder: _PyAVEncoder | _OpenCVEncoder | None = None
        self._failed = False
        if size is not None:
            self._open(size)

    def _open(self, size: tuple[int, int]) -> None:
        w, h = int(size[0]), int(size[1])
        if w <= 0 or h <= 0:
            raise ValueError(f"bad video size {size!r}")
        if self.backend == "pyav":
            self._encoder = _PyAVEncoder(self.path, self.fps, (w, h))
        else:
            assert self.fourcc is not None
            self._encoder = _OpenCVEncoder(self.path, self.fps, (w, h), self.fourcc)
        self.codec = self._encoder.codec
        self.size = (w, h)

    def _write(self, frame: Any, hands: Sequence[Hand], events: Sequence[Any] | None) -> None:
        image = getattr(frame, "image_rgb", None)
        if image is None:
            raise TypeError("the video writer needs frames with an image (handtrace.video.Frame)")
        if self._encoder is None:
            self._open((image.shape[1], image.shape[0]))
        assert self._encoder is not None and self.size is not None
        if self.draw is None:
            self.draw = _default_draw()
        out = self.draw(np.array(image, copy=True), hands)
        if (out.shape[1], out.shape[0]) != self.size:
            out = cv2.resize(out, self.size, interpolation=cv2.INTER_AREA)
        try:
            self._encoder.write(np.ascontiguousarray(out))
        except OSError:
            self._failed = True  # close() then only closes the file: the disk said no already
            raise

    def _close(self) -> None:
        encoder, self._encoder = self._encoder, None
        if encoder is not None:
            encoder.close(flush=not self._failed)


def open_writer(
    path: str | os.PathLike[str],
    *,
    fps: float | None = None,
    size: tuple[int, int] | None = None,
    draw: DrawFn | None = None,
    decimals: int = 2,
    backend: str | None = None,
) -> FrameWriter:
    """A writer chosen by the file's suffix: ``.jsonl``/``.ndjson``, ``.csv``, ``.mp4``/``.avi``.

    Args:
        path: output file.
        fps, size, draw, backend: for videos (see :class:`VideoWriter`; ``fps`` is required for them).
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
        return VideoWriter(p, fps, size, draw, backend=backend)
    known = ", ".join(sorted(WRITER_SUFFIXES))
    raise ValueError(f"unknown output type {suffix or '(no suffix)'!r} for {p}: use one of {known}")
