"""What ``handtrace.mediapipe`` adds on top of ``HandTracker``: converting results to MediaPipe's types.

    PYTHONPATH=src python benchmarks/dropin_overhead.py [--image PATH] [--repeat N]

Runs the tracker once on a photo (default: the shared two-hand photo), then times building the legacy
``SolutionOutputs`` (landmark lists, world lists, handedness) and the Tasks ``HandLandmarkerResult`` from its
hands, and prints milliseconds per hand (median over repeats).
"""

from __future__ import annotations

import argparse
import statistics
import time

from handtrace.datasets import data_root
from handtrace.io import read_image
from handtrace.mediapipe.solutions.hands import solution_outputs
from handtrace.mediapipe.tasks.python.vision._task import hand_lists
from handtrace.tracker import HandTracker


def per_hand_ms(fn, n_hands: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times) / n_hands


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--image", default=str(data_root() / "mediapipe-rs/google_sample_woman_hands.jpg"))
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    rgb = read_image(args.image)
    h, w = rgb.shape[:2]
    with HandTracker(static_image_mode=True, mirrored=True, refine=False, gestures=False) as tracker:
        hands = tracker.process(rgb)
    if not hands:
        raise SystemExit(f"no hand found in {args.image}")
    legacy = per_hand_ms(lambda: solution_outputs(hands, w, h), len(hands), args.repeat)
    tasks = per_hand_ms(lambda: hand_lists(hands, w, h), len(hands), args.repeat)
    print(f"{len(hands)} hands; per hand: legacy outputs {legacy:.3f} ms, Tasks result {tasks:.3f} ms")


if __name__ == "__main__":
    main()
