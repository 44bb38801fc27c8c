"""Where the runtime's landmark regions fall relative to a hand's own region (the jitter ranges of training).

For each hand-graph-cnn photo: the region of the palm detection (``detection_to_roi``) and the region the
first landmark pass gives (``landmarks_to_roi`` of its landmarks), each against ``landmarks_to_roi`` of the
labelled keypoints: centre offset across / along the hand in region widths, size ratio, angle difference.

    PYTHONPATH=src python benchmarks/landmark_regions.py
"""

from __future__ import annotations

import numpy as np

from handtrace.datasets import data_root
from handtrace.io import read_image
from handtrace.roi import detection_to_roi, landmarks_to_roi
from handtrace.tracker import HandTracker
from handtrace.training.data import load_annotations


def relative(roi: np.ndarray, ref: np.ndarray) -> tuple[float, float, float, float]:
    """``roi`` against ``ref`` (5,): offset across / along ``ref`` (its widths), size ratio, degrees."""
    c, s = np.cos(ref[4]), np.sin(ref[4])
    dx, dy = roi[:2] - ref[:2]
    angle = np.rad2deg((roi[4] - ref[4] + np.pi) % (2 * np.pi) - np.pi)
    return (dx * c + dy * s) / ref[2], (-dx * s + dy * c) / ref[2], roi[2] / ref[2], angle


def main() -> int:
    samples = load_annotations(data_root() / "hand-graph-cnn-realworld")
    rows: dict[str, list] = {"palm detection": [], "first landmark pass": []}
    with HandTracker(gestures=False, refine=False) as tracker:
        for s in samples:
            image = read_image(s.image_path)
            ref = landmarks_to_roi(s.hands[0].keypoints[None])[0]
            det = tracker.detect(image)
            if len(det):
                roi = detection_to_roi(det.boxes[:1], det.keypoints[:1])[0]
                rows["palm detection"].append(relative(roi, ref))
            hands = tracker.process(image)
            if hands:
                roi = landmarks_to_roi(hands[0].landmarks[None])[0]
                rows["first landmark pass"].append(relative(roi, ref))
    print("| region | n | across (widths) | along | size ratio | angle (deg) |")
    print("|---|---:|---|---|---|---|")
    for name, r in rows.items():
        a = np.array(r)
        cells = [f"{m:.3f} ± {sd:.3f} ({lo:.3f} .. {hi:.3f})" for m, sd, lo, hi in
                 zip(a.mean(0), a.std(0), np.percentile(a, 5, 0), np.percentile(a, 95, 0), strict=True)]
        print(f"| {name} | {len(a)} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
