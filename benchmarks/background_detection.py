"""How to run the palm detector beside the landmark model in video mode (issue 17): designs and the tracker.

::

    python benchmarks/background_detection.py designs [--frames 600]   # raw sessions, five designs
    python benchmarks/background_detection.py tracker [--passes 3]     # HandTracker, inline vs background

``designs`` mimics a tracked frame with the raw onnxruntime sessions (0.9 ms of Python, a 2-thread landmark
run, 0.9 ms of Python) and starts a palm run every 6 frames: ``inline`` (2 threads, before the landmark run),
``worker`` (1 thread on a worker thread at normal priority), ``side-by-side`` (the worker, and the landmark
run on 1 thread while it runs), ``idle`` (the worker in ``SCHED_IDLE``) and ``nice`` (the worker at nice 19).
Each design runs in a fresh process, in turn. Prints per-frame mean / median / p95 / p99 and, for the
worker designs, how many frames after its start a palm run finished.

``tracker`` runs ``HandTracker`` (full model, ``max_num_hands=2``, gestures off) over the ASL video (one hand
in every frame) with ``background_detection`` False and True, alternating, and prints per pass the same
figures plus the frames on which a detection ran or started against the others.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
DATA = Path(os.environ.get("HANDTRACE_DATA", REPO.parent / "shared" / "data"))
VIDEO = DATA / "tfjs-models" / "asl_hand.25fps.mp4"
DESIGNS = ("inline", "worker", "side-by-side", "idle", "nice")
WARMUP = 20


def _busy(ms: float) -> None:
    """Hold the GIL and a core for ``ms`` milliseconds, as the pipeline's Python does."""
    end = time.perf_counter() + ms / 1e3
    while time.perf_counter() < end:
        pass


def _stats(times: list[float]) -> str:
    t = np.asarray(times[WARMUP:])
    return (f"mean {t.mean():.2f} median {np.median(t):.2f} p95 {np.percentile(t, 95):.2f} "
            f"p99 {np.percentile(t, 99):.2f} ms")


def run_design(design: str, frames: int) -> str:
    from handtrace.runtime import create_session, model_path

    def session(name: str, threads: int):
        s = create_session(model_path(name), threads)
        return s, s.get_inputs()[0].name

    lm1, lm_in = session("hand_landmark_full", 1)
    lm2, _ = session("hand_landmark_full", 2)
    palm1, palm_in = session("palm_detection_full", 1)
    palm2, _ = session("palm_detection_full", 2)
    crop = np.random.default_rng(0).integers(0, 255, (1, 224, 224, 3), np.uint8)
    palm_input = np.random.default_rng(1).integers(0, 255, (1, 192, 192, 3), np.uint8)

    def lower() -> None:
        if design == "idle":
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        elif design == "nice":
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)

    worker = ThreadPoolExecutor(1, initializer=lower)
    for _ in range(10):
        lm1.run(None, {lm_in: crop})
        lm2.run(None, {lm_in: crop})
        palm1.run(None, {palm_in: palm_input})
    times, delays, job, started = [], [], None, 0
    for f in range(frames):
        t0 = time.perf_counter()
        _busy(0.9)
        if design == "inline":
            if f % 6 == 0:
                palm2.run(None, {palm_in: palm_input})
            lm2.run(None, {lm_in: crop})
        else:
            if job is not None and job.done():
                delays.append(f - started)
                job = None
            if f % 6 == 0 and job is None:
                job, started = worker.submit(palm1.run, None, {palm_in: palm_input}), f
            one = design == "side-by-side" and job is not None and not job.done()
            (lm1 if one else lm2).run(None, {lm_in: crop})
        _busy(0.9)
        times.append((time.perf_counter() - t0) * 1e3)
    worker.shutdown()
    joined = f"; palm runs finished {np.mean(delays):.1f} frames after their start (max {max(delays)})" \
        if delays else ""
    return f"{design:13s} {_stats(times)}{joined}"


def run_tracker(passes: int) -> None:
    from handtrace import HandTracker
    from speed import read_video, to_rgb

    frames = to_rgb(read_video(VIDEO))  # raises OSError naming the file when nothing decodes
    for p in range(passes):
        for in_background in ((False, True) if p % 2 == 0 else (True, False)):
            with HandTracker(static_image_mode=False, max_num_hands=2, gestures=False,
                             background_detection=in_background) as tracker:
                times, detected = [], []
                for i, rgb in enumerate(frames):
                    runs = tracker.stats.detector_runs
                    t0 = time.perf_counter()
                    tracker.process(rgb, timestamp_ms=i * 40)
                    times.append((time.perf_counter() - t0) * 1e3)
                    detected.append(tracker.stats.detector_runs > runs)
            t, d = np.asarray(times[5:]), np.asarray(detected[5:])
            print(f"pass {p} {'background' if in_background else 'inline    '}: mean {t.mean():.2f} median "
                  f"{np.median(t):.2f} p95 {np.percentile(t, 95):.2f} p99 {np.percentile(t, 99):.2f} ms; "
                  f"{d.sum()} frames with a detection (run or started): {t[d].mean():.2f} ms, others "
                  f"{t[~d].mean():.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="part", required=True)
    designs = sub.add_parser("designs")
    designs.add_argument("--frames", type=int, default=600)
    designs.add_argument("--only", choices=DESIGNS, help=argparse.SUPPRESS)  # one design, in this process
    tracker = sub.add_parser("tracker")
    tracker.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    if args.part == "tracker":
        run_tracker(args.passes)
    elif args.only:
        print(run_design(args.only, args.frames), flush=True)
    else:
        for design in DESIGNS:  # a fresh process each: no thread or cache left over from the previous one
            subprocess.run([sys.executable, __file__, "designs", "--frames", str(args.frames),
                            "--only", design], check=True)


if __name__ == "__main__":
    main()
