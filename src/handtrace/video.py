"""Frame sources for video tracking: video files, image folders or glob patterns, and webcams.

:func:`open_source` picks the source from a spec and returns a :class:`FrameSource` that yields
:class:`Frame` objects (RGB uint8 images with an index and a timestamp in milliseconds)::

    with open_source("clip.mp4") as source:
        for frame in source:                     # raises VideoReadError if the file breaks off
            hands = tracker.process(frame.image_rgb, timestamp_ms=frame.timestamp_ms)

A source that stops before its end (a truncated or corrupt video, an image that cannot be decoded, a camera
that disappears) first yields every frame it could read and then raises :class:`VideoReadError`, whose
message says where and why it stopped ("clip.mp4: stopped at frame 86: ..."); with ``strict=False``
iteration just ends and the error is left in :attr:`FrameSource.error`.
"""

from __future__ import annotations

import glob as globlib
import math
import os
import queue
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from handtrace.io import IMAGE_SUFFIXES, read_image

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "CameraSource",
    "Frame",
    "FrameSource",
    "ImageSequenceSource",
    "VideoFileSource",
    "VideoReadError",
    "natural_key",
    "open_source",
]

#: Suffixes whose header frame count is exact (FFmpeg reads it from the index), so a shortfall means
#: truncation. For other containers OpenCV estimates the count from the duration and may be off by a frame
#: or so.
VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".m4v", ".mov", ".avi", ".3gp"})
#: Frame rate assumed when neither the container nor the caller gives one.
DEFAULT_FPS = 30.0
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True, eq=False)
class Frame:
    """One frame: ``index`` from 0, ``timestamp_ms``, and ``image_rgb`` (H, W, 3) RGB uint8."""

    index: int
    timestamp_ms: float
    image_rgb: np.ndarray

    @property
    def timestamp_s(self) -> float:
        return self.timestamp_ms / 1000.0


class VideoReadError(RuntimeError):
    """A frame source stopped before its end.

    Attributes:
        source: name of the source (a path, a pattern, "camera 0").
        frame_index: index of the first frame that could not be read (= the number of frames read).
        reason: why, in words.
    """

    def __init__(self, source: str, frame_index: int, reason: str) -> None:
        self.source = source
        self.frame_index = frame_index
        self.reason = reason
        super().__init__(f"{source}: stopped at frame {frame_index}: {reason}")


def natural_key(path: str | os.PathLike[str]) -> tuple[object, ...]:
    """Sort key that orders numbers by value: ``frame2.png`` before ``frame10.png``."""
    parts = re.split(r"(\d+)", str(path))
    return tuple((0, int(p), p) if p.isdigit() else (1, p.lower(), p) for p in parts)


_END = object()  # end of frames marker, passed through the reader thread's queue


class FrameSource(ABC):
    """Frames from somewhere, in order. Iterate once; use as a context manager or call :meth:`close`.

    Attributes:
        name: what the frames come from, for messages.
        fps: frames per second (from the container or camera; else the ``fps`` given; else 30).
        frame_count: number of frames announced (header of a video, number of images), ``None`` when unknown.
        size: ``(width, height)`` of the first frame.
        frames_read: frames yielded so far.
        error: the :class:`VideoReadError` that ended iteration early, else ``None``.
    """

    name: str
    fps: float
    frame_count: int | None
    size: tuple[int, int]

    def __init__(self, *, threaded: bool = False, queue_size: int = 4, strict: bool = True) -> None:
        self.threaded = threaded
        self.queue_size = max(1, int(queue_size))
        self.strict = strict
        self.frames_read = 0
        self.error: VideoReadError | None = None
        self._started = False
        self._closed = False
        self._active: Iterator[Frame] | None = None  # the running iteration, closed by close()

    # -- to implement ----------------------------------------------------------------------------------------
    @abstractmethod
    def _frames(self) -> Iterator[Frame]:
        """Yield frames in order; raise :class:`VideoReadError` on an early stop."""

    def _release(self) -> None:  # noqa: B027 (optional hook)
        """Free the underlying reader (called once, from :meth:`close`)."""

    # -- iteration -------------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        if self._closed:
            raise ValueError(f"{self.name}: the frame source is closed")
        if self._started:
            raise RuntimeError(f"{self.name}: a frame source can be iterated only once")
        self._started = True
        self._active = self._iterate()
        return self._active

    def _iterate(self) -> Iterator[Frame]:
        frames = self._threaded_frames() if self.threaded else self._guarded_frames()
        try:
            for frame in frames:
                self.frames_read += 1
                yield frame
        except VideoReadError as exc:
            self.error = exc
            if self.strict:
                raise
        finally:
            frames.close()  # stops the reader thread first, so the reader is not in use when released
            self._active = None
            self.close()

    def _guarded_frames(self) -> Iterator[Frame]:
        """:meth:`_frames`, with decoder errors turned into a :class:`VideoReadError` at the current frame."""
        gen = self._frames()
        n = 0
        try:
            while True:
                try:
                    frame = next(gen)
                except StopIteration:
                    return
                except VideoReadError:
                    raise
                except (cv2.error, OSError, ValueError, MemoryError) as exc:
                    raise VideoReadError(self.name, n, f"{type(exc).__name__}: {exc}") from exc
                n += 1
                yield frame
        finally:
            gen.close()

    def _threaded_frames(self) -> Iterator[Frame]:
        """Frames decoded by a background thread into a bounded queue: decoding overlaps the caller's work."""
        q: queue.Queue[object] = queue.Queue(maxsize=self.queue_size)
        stop = threading.Event()

        def put(item: object) -> bool:
            while not stop.is_set():  # a bounded wait, so a stopped consumer never leaves the thread blocked
                try:
                    q.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            gen = self._guarded_frames()
            try:
                for frame in gen:
                    if not put(frame):
                        return
                put(_END)
            except BaseException as exc:  # passed on to the consumer, which re-raises it
                put(exc)
            finally:
                gen.close()

        thread = threading.Thread(target=work, name=f"handtrace-reader-{self.name}", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = q.get(timeout=0.1)
                except queue.Empty:
                    if not thread.is_alive() and q.empty():
                        raise VideoReadError(self.name, self.frames_read, "the reader thread ended") from None
                    continue
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, Frame)
                yield item
        finally:
            stop.set()
            thread.join()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop any reader thread and release the reader. Idempotent; also called when iteration ends."""
        active, self._active = self._active, None
        if active is not None:
            active.close()  # type: ignore[attr-defined]  # a generator: runs its cleanup (thread join) first
        if not self._closed:
            self._closed = True
            self._release()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __bool__(self) -> bool:  # not __len__, which fails for sources of unknown length
        return True

    def __len__(self) -> int:
        if self.frame_count is None:
            raise TypeError(f"{self.name}: the number of frames is unknown")
        return self.frame_count

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, fps={self.fps:g}, frame_count={self.frame_count}, "
                f"size={self.size})")


def _valid_fps(value: float) -> bool:
    return math.isfinite(value) and 0.5 <= value <= 1000.0


def _rgb(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _mp4_missing_index(path: Path) -> bool:
    """True for an MP4/MOV file whose top-level boxes stop before a 'moov' box (the index, written last by
    most encoders): the typical result of a recording cut short."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 8 or head[4:8] not in (b"ftyp", b"wide", b"mdat", b"free", b"skip", b"moov"):
                return False  # not an ISO media file
            f.seek(0)
            size_total = path.stat().st_size
            pos = 0
            while pos + 8 <= size_total:
                f.seek(pos)
                box = f.read(16)
                size, kind = int.from_bytes(box[:4], "big"), box[4:8]
                if kind == b"moov":
                    return False
                if size == 1 and len(box) >= 16:
                    size = int.from_bytes(box[8:16], "big")
                elif size == 0:
                    break  # box runs to the end of the file
                if size < 8:
                    break
                pos += size
            return True
    except OSError:
        return False


class _CaptureSource(FrameSource):
    """A source read through ``cv2.VideoCapture`` (a file or a camera); the first frame is read at open."""

    _cap: cv2.VideoCapture | None
    _first: np.ndarray | None

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._first = None


class VideoFileSource(_CaptureSource):
    """Frames of a video file, decoded by OpenCV (FFmpeg).

    Timestamps come from the container (``CAP_PROP_POS_MSEC`` after each read) when it gives increasing
    values, else ``index * 1000 / fps``. Reading that ends before the header's frame count (for containers
    with an exact count, see :data:`VIDEO_SUFFIXES`) raises :class:`VideoReadError` after the last good
    frame.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not a file, or OpenCV cannot open it or decode its first frame.
    """

    def __init__(self, path: str | os.PathLike[str], *, fps: float | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        p = Path(path)
        self.name = str(p)
        self.path = p
        if not p.exists():
            raise FileNotFoundError(f"video file not found: {p}")
        if not p.is_file():
            raise ValueError(f"not a video file: {p}")
        if p.stat().st_size == 0:
            raise ValueError(f"cannot read video {p}: the file is empty")
        cap = cv2.VideoCapture(str(p))
        if not cap.isOpened():
            cap.release()
            hint = (" (its MP4 index is missing: the file looks truncated)" if _mp4_missing_index(p)
                    else " (not a video, or a format OpenCV's FFmpeg cannot read)")
            raise ValueError(f"cannot open video {p}{hint}")
        self._cap: cv2.VideoCapture | None = cap
        container_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = container_fps if _valid_fps(container_fps) else float(fps or DEFAULT_FPS)
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if math.isfinite(count) and count >= 1 else None
        # Decode the first frame now: a file that opens but cannot be decoded is an error at open time, and
        # the true frame size (after any rotation metadata) is the decoded one.
        ok, bgr = cap.read()
        if not ok or bgr is None:
            self.close()
            raise ValueError(f"cannot decode video {p}: no frame could be read")
        self._first: np.ndarray | None = bgr
        self._first_ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
        self.size = (int(bgr.shape[1]), int(bgr.shape[0]))

    def _frames(self) -> Iterator[Frame]:
        cap = self._cap
        if cap is None:
            return
        step_ms = 1000.0 / self.fps
        index, last_ms = 0, -math.inf
        bgr, pos_ms = self._first, self._first_ms
        self._first = None
        while bgr is not None:
            # Container time when it is usable (finite, increasing), else extrapolate at the nominal rate.
            if math.isfinite(pos_ms) and pos_ms >= 0 and pos_ms > last_ms:
                ts = pos_ms
            else:
                ts = index * step_ms if last_ms == -math.inf else last_ms + step_ms
            yield Frame(index, ts, _rgb(bgr))
            index, last_ms = index + 1, ts
            ok, bgr = cap.read()
            if not ok:
                bgr = None
            else:
                pos_ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
        expected = self.frame_count
        if expected is not None and index < expected:
            exact = self.path.suffix.lower() in VIDEO_SUFFIXES
            # Estimated counts (other containers) may overshoot slightly: tolerate 1% + 1 frame there.
            tolerance = 0 if exact else 1 + expected // 100
            if expected - index > tolerance:
                raise VideoReadError(self.name, index, f"the video has {expected} frames but decoding failed "
                                     f"after {index} (file truncated or corrupt)")


class ImageSequenceSource(FrameSource):
    """Frames from image files in the given order; timestamps ``index * 1000 / fps``.

    Images may differ in size (``size`` is the first one's). An image that cannot be read stops iteration
    with a :class:`VideoReadError` after the frames before it.
    """

    def __init__(
        self, paths: Sequence[str | os.PathLike[str]], *, name: str | None = None, fps: float | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.paths = [Path(p) for p in paths]
        self.name = name or (str(self.paths[0].parent) if self.paths else "images")
        if not self.paths:
            raise ValueError(f"no images in {self.name}")
        if fps is not None and not _valid_fps(float(fps)):
            raise ValueError(f"fps must be in [0.5, 1000], got {fps!r}")
        self.fps = float(fps or DEFAULT_FPS)
        self.frame_count = len(self.paths)
        self._first: np.ndarray | None = read_image(self.paths[0])  # fails early on an unreadable first image
        self.size = (int(self._first.shape[1]), int(self._first.shape[0]))

    def _release(self) -> None:
        self._first = None

    def _frames(self) -> Iterator[Frame]:
        step_ms = 1000.0 / self.fps
        first, self._first = self._first, None
        for i, p in enumerate(self.paths):
            if i == 0 and first is not None:
                image = first
            else:
                try:
                    image = read_image(p)
                except (OSError, ValueError) as exc:
                    raise VideoReadError(self.name, i, str(exc)) from exc
            yield Frame(i, i * step_ms, image)


class CameraSource(_CaptureSource):
    """Frames from a webcam (OpenCV device index). Timestamps: the monotonic clock since the first frame.

    Raises:
        ValueError: the camera cannot be opened or gives no first frame.
    """

    def __init__(self, index: int, *, fps: float | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.index = int(index)
        self.name = f"camera {self.index}"
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise ValueError(f"cannot open camera {self.index}")
        self._cap: cv2.VideoCapture | None = cap
        if fps is not None:
            cap.set(cv2.CAP_PROP_FPS, float(fps))
        cam_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = cam_fps if _valid_fps(cam_fps) else float(fps or DEFAULT_FPS)
        self.frame_count = None
        ok, bgr = cap.read()
        if not ok or bgr is None:
            self.close()
            raise ValueError(f"camera {self.index} opened but gave no frame")
        self._t0 = time.monotonic()
        self._first: np.ndarray | None = bgr
        self.size = (int(bgr.shape[1]), int(bgr.shape[0]))

    def _frames(self) -> Iterator[Frame]:
        cap = self._cap
        if cap is None:
            return
        bgr, index = self._first, 0
        self._first = None
        t = self._t0
        while True:
            # Capture time: a camera has no container clock, and frames may be dropped, so use the wall clock.
            yield Frame(index, (t - self._t0) * 1000.0, _rgb(bgr))
            index += 1
            ok, bgr = cap.read()
            t = time.monotonic()
            if not ok or bgr is None:
                raise VideoReadError(self.name, index, "the camera stopped delivering frames")


def _list_folder(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                  key=natural_key)


def open_source(
    spec: str | int | os.PathLike[str],
    *,
    fps: float | None = None,
    threaded: bool = False,
    queue_size: int = 4,
    strict: bool = True,
) -> FrameSource:
    """Open a frame source.

    Args:
        spec: a video file; a folder of images (sorted naturally); a glob pattern of images, sorted naturally
            (``"frames/*.png"``); a single image; or a webcam index (an int, or a string of digits that is
            not an existing path).
        fps: frame rate for image sequences (default 30) and for videos or cameras that do not report one.
        threaded: decode in a background thread into a queue of ``queue_size`` frames.
        strict: raise :class:`VideoReadError` when the source stops early (after yielding the good frames);
            ``False`` ends iteration quietly and leaves the error in ``source.error``.

    Raises:
        FileNotFoundError: no such file or folder, or a pattern that matches nothing.
        ValueError: a file that cannot be opened or decoded, a folder with no images.
    """
    kwargs: dict[str, object] = {"threaded": threaded, "queue_size": queue_size, "strict": strict}
    if isinstance(spec, bool):
        raise TypeError(f"not a frame source: {spec!r}")
    if isinstance(spec, int | np.integer):
        return CameraSource(int(spec), fps=fps, **kwargs)
    text = os.fspath(spec)
    path = Path(text)
    if isinstance(spec, str) and text.strip().isdigit() and not path.exists():
        return CameraSource(int(text), fps=fps, **kwargs)
    if path.is_dir():
        files = _list_folder(path)
        if not files:
            raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {path}")
        return ImageSequenceSource(files, name=str(path), fps=fps, **kwargs)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageSequenceSource([path], name=str(path), fps=fps, **kwargs)
        return VideoFileSource(path, fps=fps, **kwargs)
    if _GLOB_CHARS.search(text):
        matches = (Path(p) for p in globlib.glob(text, recursive=True))
        files = sorted((p for p in matches if p.is_file()), key=natural_key)
        if not files:
            raise FileNotFoundError(f"no files match the pattern {text}")
        return ImageSequenceSource(files, name=text, fps=fps, **kwargs)
    raise FileNotFoundError(f"video file or image folder not found: {path}")
