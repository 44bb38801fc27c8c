"""Annotated-video backends side by side: PyAV (fragmented H.264 MP4) and OpenCV ('mp4v' MP4), writing the
same decoded frames (drawing off), alternating runs in one process; ms per frame and file size.

    python benchmarks/video_writers.py --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2

from handtrace.datasets import data_root
from handtrace.video import Frame
from handtrace.writers import VideoWriter

CLIP = "mediapipe-samples/handlandmarker_test_video.mp4"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="runs per backend (default 3)")
    args = ap.parse_args()
    source = data_root() / CLIP
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(Frame(len(frames), 0.0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    cap.release()
    times: dict[str, list[float]] = {"pyav": [], "opencv": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for backend in times:
                path = Path(tmp) / f"{backend}.mp4"
                t0 = time.perf_counter()
                with VideoWriter(path, fps, draw=lambda im, hands: im, backend=backend) as w:
                    for f in frames:
                        w.write(f, [])
                times[backend].append((time.perf_counter() - t0) / len(frames))
                sizes[backend] = path.stat().st_size
    h, w_ = frames[0].image_rgb.shape[:2]
    print(f"{len(frames)} frames {w_}x{h} of {CLIP} ({source.stat().st_size} bytes)")
    for backend, ts in times.items():
        print(f"{backend:7s} {1000 * statistics.median(ts):.2f} ms/frame (median of {len(ts)} runs), "
              f"{sizes[backend]} bytes ({sizes[backend] / source.stat().st_size:.2f}x the input)")


if __name__ == "__main__":
    main()
