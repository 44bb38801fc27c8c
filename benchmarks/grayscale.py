"""Hands found in colour and in grayscale copies of the same photos (the models were trained on colour).

    python benchmarks/grayscale.py                 # the 150 hand-graph-cnn photos, full model
    python benchmarks/grayscale.py --limit 50

Each photo holds one hand; a photo counts as found when the tracker returns a hand. Grayscale copies are
``cv2.cvtColor(RGB2GRAY)`` arrays of shape (H, W), which ``process`` repeats to three channels.
"""

from __future__ import annotations

import argparse
import itertools

import cv2

from handtrace import HandTracker
from handtrace.evaluation import evaluate, load_hand_graph_cnn, summarize


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, help="only the first N photos")
    args = ap.parse_args()
    samples = list(itertools.islice(load_hand_graph_cnn(), args.limit))
    gray = [s._replace(image=cv2.cvtColor(s.image, cv2.COLOR_RGB2GRAY)) for s in samples]
    with HandTracker(static_image_mode=True, gestures=False) as tracker:
        for name, batch in (("colour", samples), ("grayscale", gray)):
            summary = summarize(evaluate(tracker, batch)).to_dict()
            print(f"{name:9s} {len(batch)} photos: {summary}")


if __name__ == "__main__":
    main()
