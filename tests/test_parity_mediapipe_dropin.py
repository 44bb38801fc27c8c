"""handtrace.mediapipe against MediaPipe 0.10.21 itself, through MediaPipe's own APIs, on the shared photos.

Fixture: ``benchmarks/mediapipe_reference.py dropin`` (run in MediaPipe's environment): MediaPipe's legacy
``Hands(static_image_mode=True, max_num_hands=2)`` and Tasks ``HandLandmarker(num_hands=2)`` results in their
own units (normalised landmarks). Our side: the drop-in with its defaults, read the way user code does.

Legacy API (the published weights and MediaPipe's graph, which handtrace reproduces): every hand MediaPipe
finds is found, each hand's landmarks within 1% of the image size on average (measured: mean 0.047%, max
0.76%), handedness labels MediaPipe's. Extra hands appear only where MediaPipe found none (the full-frame
fallback).

Tasks API: the fixture's Tasks results come from a bundle assembled from the same weights (MediaPipe's
released ``hand_landmarker.task`` cannot be downloaded here). MediaPipe's Tasks graph itself lands 1-4 px
(on these 256-pixel photos) away from its legacy graph with the same weights and pixels, so our Tasks
results, which follow the legacy graph, are held to MediaPipe Tasks as closely as MediaPipe's legacy graph
is, and to MediaPipe's labels (the released bundle's: those of the legacy graph, see the fixture's notes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import handtrace.mediapipe as mp
from handtrace.io import read_image

FIXTURE = Path(__file__).parent / "fixtures" / "mediapipe_0.10.21_dropin.json"
#: Per hand: mean landmark distance / image size (largest side).
MAX_MEAN_ERROR = 0.01


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(FIXTURE.read_text())


def _errors(ours: list[np.ndarray], refs: list[np.ndarray], size: tuple[int, int]) -> list[tuple[int, float]]:
    """For each reference hand (21, 2+ normalised): (index of our nearest hand or -1, its mean distance as a
    share of the image's largest side)."""
    w, h = size
    out = []
    for ref in refs:
        d = [float(np.linalg.norm((o[:, :2] - ref[:, :2]) * (w, h), axis=1).mean()) / max(w, h) for o in ours]
        out.append((int(np.argmin(d)), min(d)) if d else (-1, np.inf))
    return out


@pytest.fixture(scope="module")
def compared(reference, data_dir):
    """Per image: legacy matches, Tasks matches, our hand counts and labels."""
    rows = {}
    options = mp.tasks.vision.HandLandmarkerOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path="hand_landmarker.task"), num_hands=2)
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2) as hands, \
            mp.tasks.vision.HandLandmarker.create_from_options(options) as landmarker:
        for name, record in reference["images"].items():
            size = tuple(record["size"])
            legacy = hands.process(read_image(data_dir / name))
            ours = [np.array([[p.x, p.y, p.z] for p in h.landmark])
                    for h in legacy.multi_hand_landmarks or []]
            labels = [h.classification[0] for h in legacy.multi_handedness or []]
            tasks = landmarker.detect(mp.Image.create_from_file(str(data_dir / name)))
            ours_t = [np.array([[p.x, p.y, p.z] for p in h]) for h in tasks.hand_landmarks]
            refs = [np.array(h["landmarks"]) for h in record["legacy"]]
            rows[name] = {
                "legacy": _errors(ours, refs, size), "labels": labels, "n": len(ours),
                "tasks": _errors(ours_t, [np.array(h["landmarks"]) for h in record["tasks"]], size),
                "tasks_vs_legacy": _errors(ours_t, refs, size),
                "tasks_labels": [c[0] for c in tasks.handedness], "n_tasks": len(ours_t)}
    return rows


def test_every_mediapipe_hand_is_found_within_one_percent(reference, compared):
    errors = [e for row in compared.values() for _, e in row["legacy"]]
    assert len(errors) >= 190
    worst = sorted(((e, n) for n, row in compared.items() for _, e in row["legacy"]), reverse=True)[:3]
    assert max(errors) < MAX_MEAN_ERROR, worst
    assert np.mean(errors) < 0.002, worst  # measured 0.00047


def test_extra_hands_only_where_mediapipe_found_none(reference, compared):
    extra = {n: row["n"] for n, row in compared.items() if row["n"] > len(reference["images"][n]["legacy"])}
    assert all(not reference["images"][n]["legacy"] for n in extra), extra
    assert len(extra) <= 5  # measured 3: hands filling the frame, found by the full-frame fallback


def test_handedness_labels_are_mediapipes(reference, compared):
    same, score_diff = [], []
    for name, row in compared.items():
        for (k, _), ref in zip(row["legacy"], reference["images"][name]["legacy"], strict=True):
            c = row["labels"][k]
            same.append((c.label, c.index) == (ref["label"], ref["index"]))
            score_diff.append(abs(c.score - ref["score"]))
    assert len(same) >= 190 and all(same)
    assert np.median(score_diff) < 0.005 and np.mean(np.array(score_diff) < 0.05) >= 0.98


def test_tasks_api_matches_mediapipe(reference, compared):
    # Same hands as MediaPipe's legacy graph (whose labels the released Tasks bundle gives), with its labels.
    legacy = [(e, row["tasks_labels"][k].category_name == ref["label"])
              for name, row in compared.items()
              for (k, e), ref in zip(row["tasks_vs_legacy"], reference["images"][name]["legacy"],
                                     strict=True)]
    assert max(e for e, _ in legacy) < MAX_MEAN_ERROR and all(ok for _, ok in legacy)
    # Against MediaPipe's own Tasks graph: as close as MediaPipe's legacy graph is to it (same weights). Both
    # miss the same 6 of its 192 hands by more than 5% (measured): its Tasks graph picks other crops there.
    ours = np.array([e for row in compared.values() for _, e in row["tasks"]])
    mediapipe_self = []
    for record in reference["images"].values():
        refs = [np.array(h["landmarks"]) for h in record["legacy"]]
        mediapipe_self += [e for _, e in _errors(refs, [np.array(h["landmarks"]) for h in record["tasks"]],
                                                 tuple(record["size"]))]
    theirs = np.array(mediapipe_self)
    assert len(ours) == len(theirs) >= 185
    assert np.mean(ours < 0.05) >= np.mean(theirs < 0.05) >= 0.95
    assert np.median(ours) <= np.median(theirs) + 0.001  # measured: 0.0098 for both
    assert np.percentile(ours, 90) <= np.percentile(theirs, 90) + 0.005
