"""A/B: still-image ``process`` with the per-thread RGBA scratch buffer (now) against one shared buffer (the
old, thread-unsafe one), alternating in one process so both see the same machine load.

    python benchmarks/scratch_ab.py --calls 300

A 1280x720 frame (over the 300,000 pixels where crops go through the scratch buffer) with the shared hand
photo pasted in; medians and means of ``time.perf_counter`` per call.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from handtrace import HandTracker, read_image
from handtrace.datasets import data_root


class SharedScratch:
    """The old buffer: one array for every thread."""

    def __init__(self) -> None:
        self.buffer: np.ndarray | None = None

    def source(self, image: np.ndarray, to_image: np.ndarray, size: int) -> np.ndarray:
        import cv2

        from handtrace.warp import RGBA_MAX_PIXELS, footprint

        h, w = image.shape[:2]
        x0, y0, x1, y1 = footprint(to_image, size, h, w)
        if (x1 - x0) * (y1 - y0) > RGBA_MAX_PIXELS:
            return image
        if self.buffer is None or self.buffer.shape[:2] != (h, w):
            self.buffer = np.empty((h, w, 4), np.uint8)
        cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2RGBA, dst=self.buffer[y0:y1, x0:x1])
        return self.buffer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300, help="calls per variant (default 300)")
    args = ap.parse_args()
    photo = read_image(data_root() / "mediapipe-samples/handlandmarker_test_image.jpg")
    frame = np.full((720, 1280, 3), 60, np.uint8)
    frame[100:100 + photo.shape[0], 300:300 + photo.shape[1]] = photo
    with HandTracker(static_image_mode=True, gestures=False) as tracker:
        landmarker = tracker._landmarker
        assert landmarker is not None
        per_thread, shared = landmarker._scratch, SharedScratch()
        times: dict[str, list[float]] = {"per-thread (now)": [], "shared (old)": []}
        for _ in range(10):
            tracker.process(frame)  # warm-up
        for i in range(2 * args.calls):
            name = "per-thread (now)" if i % 2 == 0 else "shared (old)"
            landmarker._scratch = per_thread if i % 2 == 0 else shared
            t0 = time.perf_counter()
            tracker.process(frame)
            times[name].append(time.perf_counter() - t0)
    for name, ts in times.items():
        print(f"{name:18s} median {1000 * statistics.median(ts):.2f} ms, "
              f"mean {1000 * statistics.mean(ts):.2f} ms"
              f" ({len(ts)} calls)")


if __name__ == "__main__":
    main()
