"""Benchmark worker for ``benchmarks/speed.py``: runs one hand tracker (handtrace or MediaPipe) on request.

The same script serves every side so that all are timed by identical code; only :class:`Impl` differs. It
runs with the project's Python (``--impl handtrace``) or with ``.venv-mediapipe/bin/python`` (``--impl
mediapipe``: the legacy ``mp.solutions.hands.Hands``; ``--impl mediapipe_tasks``: the Tasks API's
``HandLandmarker``), so it imports nothing beyond the standard library, numpy and cv2 at module level.

The Tasks API needs a ``hand_landmarker.task``; the released one cannot be downloaded here, so
``--task-dir DIR`` holds ``hand_landmarker_full.task`` / ``hand_landmarker_lite.task`` assembled from the
original ``.tflite`` files (``mediapipe_reference.build_task_bundle``), built there when missing.

Modes::

    _worker.py --impl IMPL serve                  # JSON lines on stdin -> JSON lines on stdout (see serve())
    _worker.py --impl IMPL first IMAGE [-c 0|1]   # fresh process: print a line as soon as the first result is
                                                  # ready, then one JSON line with the peak RSS
    _worker.py --impl IMPL offline VIDEO OUT.jsonl [-c 0|1] [--max-num-hands N] [--threads N] [--no-reader]
                                                  # decode + track + write JSONL, one JSON line of results

(``--impl mediapipe_tasks`` takes ``--task-dir DIR`` before the mode.)

Timings use ``time.perf_counter`` around each ``process`` call. Peak RSS is ``ru_maxrss`` of this process.
"""

from __future__ import annotations

import argparse
import inspect
import json
import queue
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: Frames at the start of each video run left out of the per-frame statistics (start-up, first detections).
WARMUP_FRAMES = 5


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB.

    ``VmHWM`` from ``/proc/self/status`` (the high-water mark of this address space); ``ru_maxrss`` is the
    fallback elsewhere, though on Linux it also carries the parent's peak across fork + exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- session timing (handtrace only) ---------------------------------------------------------------
class TimedSession:
    """Wraps an onnxruntime session: forwards everything, adds up the time spent in ``run*`` calls."""

    def __init__(self, session: Any, kind: str) -> None:
        self._session = session
        self.kind = kind
        self.seconds = 0.0
        self.calls = 0
        self.threads: list[int] = []  # intra-op threads of each call
        # AutoThreadsSession picks 1 or several threads per call (``last_threads``); a plain session has a
        # fixed count, read once here rather than inside the timed calls.
        self._fixed_threads = (None if hasattr(session, "last_threads")
                               else session.get_session_options().intra_op_num_threads)

    def _timed(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1
            self.threads.append(self._session.last_threads if self._fixed_threads is None
                                else self._fixed_threads)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(self._session.run, *args, **kwargs)

    def run_with_iobinding(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(self._session.run_with_iobinding, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def instrument(tracker: Any, depth: int = 3) -> list[TimedSession]:
    """Wrap the ``session`` of every runtime model reachable from ``tracker`` in a :class:`TimedSession`."""
    from handtrace import runtime

    found: list[TimedSession] = []
    seen: set[int] = set()

    def visit(obj: Any, level: int) -> None:
        if id(obj) in seen or level > depth:
            return
        seen.add(id(obj))
        if isinstance(obj, runtime.PalmDetectorModel | runtime.HandLandmarkModel):
            session = getattr(obj, "session", None)
            if session is not None and not isinstance(session, TimedSession):
                kind = "palm" if isinstance(obj, runtime.PalmDetectorModel) else "landmark"
                obj.session = TimedSession(session, kind)
                found.append(obj.session)
            return
        children = vars(obj).values() if hasattr(obj, "__dict__") else ()
        for child in children:
            if isinstance(child, list | tuple):
                for item in child:
                    visit(item, level + 1)
            elif hasattr(child, "__dict__") and not isinstance(child, type):
                visit(child, level + 1)

    visit(tracker, 0)
    return found


# -- the implementations ---------------------------------------------------------------------------
class Impl:
    """One hand tracker behind a common interface."""

    name = ""

    def version(self) -> dict[str, str]:
        raise NotImplementedError

    def make(
        self, static: bool, max_num_hands: int, complexity: int, threads: int | None = None, **options: Any
    ) -> Any:
        """A tracker; ``options``: extra keyword arguments (handtrace only, e.g. ``gestures``)."""
        raise NotImplementedError

    def process(self, tracker: Any, rgb: np.ndarray, timestamp_ms: int) -> Any:
        raise NotImplementedError

    def count(self, result: Any) -> int:
        raise NotImplementedError

    def records(self, result: Any, width: int, height: int) -> list[dict[str, Any]]:
        """JSON-ready hand records of one result (``width``, ``height``: the image's size)."""
        raise NotImplementedError

    def close(self, tracker: Any) -> None:
        tracker.close()


class HandtraceImpl(Impl):
    name = "handtrace"

    def __init__(self) -> None:
        sys.path.insert(0, str(REPO / "src"))
        from handtrace.tracker import HandTracker

        self.cls = HandTracker
        self.takes_timestamp = "timestamp_ms" in inspect.signature(HandTracker.process).parameters
        self.parameters = set(inspect.signature(HandTracker).parameters)

    def version(self) -> dict[str, str]:
        import onnxruntime

        import handtrace

        return {
            "handtrace": handtrace.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
            "cv2": cv2.__version__,
        }

    def make(
        self, static: bool, max_num_hands: int, complexity: int, threads: int | None = None, **options: Any
    ) -> Any:
        # Like for like with MediaPipe Hands: no gesture recognition unless asked for.
        options = {"gestures": False, **options}
        return self.cls(
            static_image_mode=static,
            max_num_hands=max_num_hands,
            model_complexity=complexity,
            num_threads=threads,
            **{k: v for k, v in options.items() if k in self.parameters},
        )

    def process(self, tracker: Any, rgb: np.ndarray, timestamp_ms: int) -> Any:
        if self.takes_timestamp and not tracker.static_image_mode:
            return tracker.process(rgb, timestamp_ms=timestamp_ms)
        return tracker.process(rgb)

    def count(self, result: Any) -> int:
        return len(result)

    def records(self, result: Any, width: int, height: int) -> list[dict[str, Any]]:
        return [hand.to_dict() for hand in result]


class MediaPipeImpl(Impl):
    name = "mediapipe"

    def __init__(self) -> None:
        import mediapipe as mp

        self.mp = mp

    def version(self) -> dict[str, str]:
        return {"mediapipe": self.mp.__version__, "numpy": np.__version__, "cv2": cv2.__version__}

    def make(
        self, static: bool, max_num_hands: int, complexity: int, threads: int | None = None, **options: Any
    ) -> Any:
        return self.mp.solutions.hands.Hands(
            static_image_mode=static,
            max_num_hands=max_num_hands,
            model_complexity=complexity,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    def process(self, tracker: Any, rgb: np.ndarray, timestamp_ms: int) -> Any:
        return tracker.process(rgb)  # the legacy API stamps frames itself

    def count(self, result: Any) -> int:
        return len(result.multi_hand_landmarks or [])

    def records(self, result: Any, width: int, height: int) -> list[dict[str, Any]]:
        # The same content as handtrace's Hand.to_dict: image pixels (2 decimals), metres (5 decimals).
        if not result.multi_hand_landmarks:
            return []
        w, h = width, height
        out = []
        worlds = result.multi_hand_world_landmarks or [None] * len(result.multi_hand_landmarks)
        for lms, wlms, handed in zip(
            result.multi_hand_landmarks, worlds, result.multi_handedness, strict=True
        ):
            cls = handed.classification[0]
            xs = [p.x * w for p in lms.landmark]
            ys = [p.y * h for p in lms.landmark]
            out.append(
                {
                    "handedness": cls.label,
                    "handedness_score": round(float(cls.score), 4),
                    "box": [round(min(xs), 2), round(min(ys), 2), round(max(xs), 2), round(max(ys), 2)],
                    "landmarks": [
                        [round(x, 2), round(y, 2), round(p.z * w, 2)]
                        for x, y, p in zip(xs, ys, lms.landmark, strict=True)
                    ],
                    "world_landmarks": [[round(p.x, 5), round(p.y, 5), round(p.z, 5)] for p in wlms.landmark]
                    if wlms is not None
                    else [],
                }
            )
        return out


class TasksLandmarker:
    """A Tasks ``HandLandmarker`` with the legacy tracker's ``reset()``.

    ``reset`` closes the landmarker and creates a new one (untimed): like the legacy graph's restart, the
    next video run starts with no tracked hands, and its timestamps may start again at 0 (VIDEO mode refuses
    timestamps that do not increase).
    """

    def __init__(self, create: Callable[[], Any], video: bool) -> None:
        self._create = create
        self.video = video
        self.landmarker = create()

    def process(self, image: Any, timestamp_ms: int) -> Any:
        if self.video:
            return self.landmarker.detect_for_video(image, timestamp_ms)
        return self.landmarker.detect(image)

    def reset(self) -> None:
        self.landmarker.close()
        self.landmarker = self._create()

    def close(self) -> None:
        self.landmarker.close()


class MediaPipeTasksImpl(Impl):
    """MediaPipe's Tasks API ``HandLandmarker``: IMAGE mode for still images, VIDEO mode for video."""

    name = "mediapipe_tasks"

    def __init__(self, task_dir: Path | None = None) -> None:
        import mediapipe as mp
        from mediapipe.tasks import python as mp_tasks
        from mediapipe.tasks.python import vision

        self.mp, self.tasks, self.vision = mp, mp_tasks, vision
        if task_dir is None:  # standalone use: bundles live as long as this process
            self._tmp = tempfile.TemporaryDirectory(prefix="hand-landmarker-")
            task_dir = Path(self._tmp.name)
        self.task_dir = task_dir

    def bundle(self, complexity: int) -> Path:
        """The assembled ``hand_landmarker.task`` for this model complexity (built once, then reused)."""
        variant = "full" if complexity == 1 else "lite"
        path = self.task_dir / f"hand_landmarker_{variant}.task"
        if not path.exists():
            # mediapipe_reference imports MediaPipe only inside its functions; it sits beside this script.
            sys.path.insert(0, str(Path(__file__).parent))
            from mediapipe_reference import MODELS, build_task_bundle

            build_task_bundle(MODELS, path, variant)
        return path

    def version(self) -> dict[str, str]:
        return {"mediapipe": self.mp.__version__, "numpy": np.__version__, "cv2": cv2.__version__,
                "api": "tasks HandLandmarker, bundle assembled from the original .tflite files"}

    def make(
        self, static: bool, max_num_hands: int, complexity: int, threads: int | None = None, **options: Any
    ) -> Any:
        vision = self.vision
        options = vision.HandLandmarkerOptions(
            base_options=self.tasks.BaseOptions(model_asset_path=str(self.bundle(complexity))),
            running_mode=vision.RunningMode.IMAGE if static else vision.RunningMode.VIDEO,
            num_hands=max_num_hands,
            min_hand_detection_confidence=0.5,
            min_hand_presence_confidence=0.5,
            min_tracking_confidence=0.5,
        )
        return TasksLandmarker(lambda: vision.HandLandmarker.create_from_options(options), not static)

    def process(self, tracker: Any, rgb: np.ndarray, timestamp_ms: int) -> Any:
        # Wrapping the array is part of every Tasks call (the legacy API converts inside process), so timed.
        return tracker.process(self.mp.Image(image_format=self.mp.ImageFormat.SRGB, data=rgb), timestamp_ms)

    def count(self, result: Any) -> int:
        return len(result.hand_landmarks)

    def records(self, result: Any, width: int, height: int) -> list[dict[str, Any]]:
        # As MediaPipeImpl.records; the label is the assembled bundle's own (mediapipe_reference: dropin).
        out = []
        for lms, wlms, cats in zip(
            result.hand_landmarks, result.hand_world_landmarks, result.handedness, strict=True
        ):
            xs = [p.x * width for p in lms]
            ys = [p.y * height for p in lms]
            out.append(
                {
                    "handedness": cats[0].category_name,
                    "handedness_score": round(float(cats[0].score), 4),
                    "box": [round(min(xs), 2), round(min(ys), 2), round(max(xs), 2), round(max(ys), 2)],
                    "landmarks": [
                        [round(x, 2), round(y, 2), round(p.z * width, 2)]
                        for x, y, p in zip(xs, ys, lms, strict=True)
                    ],
                    "world_landmarks": [[round(p.x, 5), round(p.y, 5), round(p.z, 5)] for p in wlms],
                }
            )
        return out


IMPLS = ("handtrace", "mediapipe", "mediapipe_tasks")


def make_impl(name: str, task_dir: Path | None = None) -> Impl:
    if name == "handtrace":
        return HandtraceImpl()
    if name == "mediapipe_tasks":
        return MediaPipeTasksImpl(task_dir)
    return MediaPipeImpl()


# -- served requests -------------------------------------------------------------------------------
class Server:
    """Keeps frames and trackers between requests.

    A tracker is created once per setting and warmed up with ``WARMUP_CALLS`` untimed calls (MediaPipe's
    graph start, handtrace's first runs and thread choice); each video run starts with ``reset()``
    (handtrace: forget the tracks; MediaPipe: restart the graph; Tasks: a new landmarker), and the caller
    leaves each run's first ``WARMUP_FRAMES`` frames out of the statistics.
    """

    WARMUP_CALLS = 8

    def __init__(self, impl: Impl) -> None:
        self.impl = impl
        self.frames: dict[str, np.ndarray] = {}
        self.trackers: dict[str, Any] = {}
        self.sessions: dict[str, list[TimedSession]] = {}

    def load(self, req: dict[str, Any]) -> dict[str, Any]:
        for name, path in req["frames"].items():
            self.frames[name] = np.load(path)
        return {"loaded": {k: list(v.shape) for k, v in self.frames.items()}, "versions": self.impl.version()}

    def _tracker(self, req: dict[str, Any], static: bool, warmup: np.ndarray) -> tuple[Any, str | None]:
        """The tracker for these settings and its cache key (``None``: not cached, close it after use)."""
        options = req.get("options", {})
        key = json.dumps([static, req["complexity"], req.get("max_num_hands", 2), options], sort_keys=True)
        tracker = self.trackers.get(key)
        if tracker is None:
            tracker = self.impl.make(static, req.get("max_num_hands", 2), req["complexity"], **options)
            for i in range(self.WARMUP_CALLS):
                self.impl.process(tracker, warmup, i * 40)
            if isinstance(self.impl, HandtraceImpl):
                self.sessions[key] = instrument(tracker)
            if not (static or hasattr(tracker, "reset")):
                return tracker, None
            self.trackers[key] = tracker
        if not static:
            tracker.reset()
        return tracker, key

    def still(self, req: dict[str, Any]) -> dict[str, Any]:
        """``reps`` timed ``process`` calls on one image (static mode, one untimed call first)."""
        rgb = np.ascontiguousarray(self.frames[req["frames"]])
        tracker, key = self._tracker(req, True, rgb)
        hands = self.impl.count(self.impl.process(tracker, rgb, 0))
        stats = getattr(tracker, "stats", None)
        runs_before = getattr(stats, "detector_runs", None)
        sessions = self.sessions.get(key, []) if key else []
        calls_before = [len(s.threads) for s in sessions]
        times = []
        for _ in range(req["reps"]):
            t0 = time.perf_counter()
            self.impl.process(tracker, rgb, 0)
            times.append((time.perf_counter() - t0) * 1e3)
        out: dict[str, Any] = {"times_ms": times, "hands": hands}
        if sessions:  # share of the timed model calls that ran on one thread (the rest on several)
            calls = [t for s, n in zip(sessions, calls_before, strict=True) for t in s.threads[n:]]
            out["one_thread_share"] = sum(t == 1 for t in calls) / max(len(calls), 1)
        if runs_before is not None:
            out["detector_runs_per_image"] = (stats.detector_runs - runs_before) / req["reps"]
        return out

    def video(self, req: dict[str, Any]) -> dict[str, Any]:
        """Every frame of a clip in order, video mode; per-frame times, and model time for handtrace."""
        frames = self.frames[req["frames"]]
        n = min(len(frames), req.get("max_frames") or len(frames))
        fps = req.get("fps", 25.0)
        tracker, key = self._tracker(req, False, frames[0])
        sessions = self.sessions.get(key, []) if key else []
        stats = getattr(tracker, "stats", None)
        stats_before = stats.to_dict() if hasattr(stats, "to_dict") else None
        times, model_ms, palm_calls, hands = [], [], [], []
        calls_before = [len(s.threads) for s in sessions]
        try:
            for i in range(n):
                rgb = frames[i]
                before = [s.seconds for s in sessions]
                palm_before = sum(s.calls for s in sessions if s.kind == "palm")
                t0 = time.perf_counter()
                result = self.impl.process(tracker, rgb, round(i * 1000 / fps))
                times.append((time.perf_counter() - t0) * 1e3)
                model_ms.append(sum(s.seconds - b for s, b in zip(sessions, before, strict=True)) * 1e3)
                palm_calls.append(sum(s.calls for s in sessions if s.kind == "palm") - palm_before)
                hands.append(self.impl.count(result))
        finally:
            if key is None:
                self.impl.close(tracker)
        stats_dict = None
        if stats_before is not None:
            after = stats.to_dict()
            stats_dict = {k: after[k] - stats_before.get(k, 0) for k in after}
        out: dict[str, Any] = {"times_ms": times, "hands": hands, "stats": stats_dict}
        if sessions:
            out["model_ms"] = model_ms
            out["palm_calls"] = palm_calls
            # Share of this run's landmark-model calls on one thread (the rest on several): a run much
            # slower than the others shows here whether the thread choice went astray.
            calls = [t for s, n in zip(sessions, calls_before, strict=True) if s.kind == "landmark"
                     for t in s.threads[n:]]
            out["landmark_one_thread_share"] = sum(t == 1 for t in calls) / max(len(calls), 1)
        return out

    def serve(self) -> None:
        """Read one JSON request per line (``op``: load, still, video, quit); answer one JSON line each."""
        handlers = {"load": self.load, "still": self.still, "video": self.video}
        print(json.dumps({"ready": self.impl.name}), flush=True)
        for line in sys.stdin:
            req = json.loads(line)
            if req["op"] == "quit":
                break
            try:
                reply = handlers[req["op"]](req)
            except Exception as exc:  # report, keep serving
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            reply["peak_rss_mb"] = peak_rss_mb()
            print(json.dumps(reply), flush=True)


# -- fresh-process measurements --------------------------------------------------------------------
def first_result(impl: Impl, image: Path, complexity: int) -> None:
    """Load, read one image, process it, say so on stdout at once (the parent times start -> this line)."""
    bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    tracker = impl.make(True, 2, complexity)
    hands = impl.count(impl.process(tracker, rgb, 0))
    print(json.dumps({"first": hands}), flush=True)
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)


def opencv_frames(video: Path, reader: bool) -> Iterator[tuple[np.ndarray, int]]:
    """RGB frames and timestamps (ms) of a video with cv2.VideoCapture; ``reader``: decode on a thread."""
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=8)

    def work() -> None:  # decoding and colour conversion release the GIL
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                frames.put(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        finally:
            frames.put(None)

    if reader:
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
    try:
        n = 0
        while True:
            if reader:
                rgb = frames.get()
            else:
                ok, bgr = cap.read()
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None
            if rgb is None:
                break
            yield rgb, round(n * 1000 / fps)
            n += 1
        if reader:
            thread.join()
    finally:
        cap.release()


def handtrace_frames(video: Path, reader: bool) -> Iterator[tuple[np.ndarray, int]]:
    """handtrace's own documented source (``handtrace.video.open_source``, threaded) when it exists."""
    try:
        from handtrace.video import open_source
    except ImportError:
        yield from opencv_frames(video, reader)
        return
    with open_source(video, threaded=reader) as source:
        for frame in source:
            yield frame.image_rgb, frame.timestamp_ms


def offline(
    impl: Impl,
    video: Path,
    out_path: Path,
    complexity: int,
    max_num_hands: int,
    threads: int | None,
    reader: bool,
) -> None:
    """Decode + track + write JSONL for a whole video file; prints frames, seconds, fps and peak RSS.

    handtrace reads frames with its own ``open_source(..., threaded=True)``; MediaPipe gets the same kind of
    reader thread here (cv2.VideoCapture + BGR->RGB on a thread), so decoding overlaps inference for all.
    """
    tracker = impl.make(False, max_num_hands, complexity, threads)
    t0 = time.perf_counter()
    frames = (
        handtrace_frames(video, reader) if isinstance(impl, HandtraceImpl) else opencv_frames(video, reader)
    )
    n = 0
    with open(out_path, "w", encoding="utf-8") as f:
        for rgb, timestamp_ms in frames:
            result = impl.process(tracker, rgb, timestamp_ms)
            records = impl.records(result, rgb.shape[1], rgb.shape[0])
            f.write(json.dumps({"frame": n, "hands": records}) + "\n")
            n += 1
    seconds = time.perf_counter() - t0
    stats = getattr(tracker, "stats", None)
    impl.close(tracker)
    print(
        json.dumps(
            {
                "frames": n,
                "seconds": seconds,
                "fps": n / seconds,
                "peak_rss_mb": peak_rss_mb(),
                "stats": stats.to_dict() if hasattr(stats, "to_dict") else None,
            }
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--impl", choices=IMPLS, required=True)
    parser.add_argument("--task-dir", type=Path, default=None,
                        help="mediapipe_tasks: folder of the assembled hand_landmarker_{full,lite}.task")
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("serve")
    p = sub.add_parser("first")
    p.add_argument("image", type=Path)
    p.add_argument("-c", "--complexity", type=int, choices=(0, 1), default=1)
    p = sub.add_parser("offline")
    p.add_argument("video", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("-c", "--complexity", type=int, choices=(0, 1), default=1)
    p.add_argument("--max-num-hands", type=int, default=2)
    p.add_argument(
        "--threads", type=int, default=None, help="handtrace inference threads (default: library's)"
    )
    p.add_argument("--no-reader", action="store_true", help="decode on the main thread")
    args = parser.parse_args(argv)
    impl = make_impl(args.impl, args.task_dir)
    if args.mode == "serve":
        Server(impl).serve()
    elif args.mode == "first":
        first_result(impl, args.image, args.complexity)
    else:
        offline(
            impl, args.video, args.out, args.complexity, args.max_num_hands, args.threads, not args.no_reader
        )


if __name__ == "__main__":
    main()
