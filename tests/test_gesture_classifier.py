"""The trained gesture classifier: normalisation, features, softmax training, cross-validation, JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from handtrace import gesture_classifier as gc
from handtrace.gesture_cli import add_gesture_commands
from synthetic_hands import CURLED, gesture_pose, make_hand, transform


def test_normalisation_removes_translation_scale_rotation_and_mirroring():
    base = gesture_pose("Rock")
    ref = gc.normalize_landmarks(base.landmarks, base.handedness)
    # Wrist at the origin, palm size 1, wrist -> middle MCP pointing up.
    assert np.allclose(ref[0], 0)
    assert np.linalg.norm(ref[[5, 9, 13, 17]], axis=1).mean() == pytest.approx(1.0)
    assert ref[9, 0] == pytest.approx(0, abs=1e-9) and ref[9, 1] < 0
    for angle, scale, mirror in ((37, 0.5, False), (190, 2.0, True), (-80, 1.3, True)):
        h = transform(base, angle=angle, scale=scale, mirror=mirror)
        got = gc.normalize_landmarks(h.landmarks, h.handedness)
        np.testing.assert_allclose(got, ref, atol=1e-9)
        w = gc.normalize_landmarks(h.world_landmarks, h.handedness)
        np.testing.assert_allclose(w, gc.normalize_landmarks(base.world_landmarks, "Right"), atol=1e-9)


def test_normalisation_is_batched():
    hs = [transform(gesture_pose("Call"), angle=a, mirror=m) for a, m in ((0, False), (120, True))]
    batch = gc.normalize_landmarks(np.stack([h.landmarks for h in hs]), [h.handedness for h in hs])
    assert batch.shape == (2, 21, 3)
    np.testing.assert_allclose(batch[0], batch[1], atol=1e-9)
    # Without rotation/mirroring the two differ.
    raw = gc.normalize_landmarks(np.stack([h.landmarks for h in hs]), [h.handedness for h in hs],
                                 rotate=False, mirror=False)
    assert not np.allclose(raw[0], raw[1], atol=1e-3)


def test_feature_vector_shape_and_orientation():
    up = transform(gesture_pose("Thumb_Up"), angle=0)
    down = transform(gesture_pose("Thumb_Up"), angle=180)
    a = gc.hand_feature_vector(up.landmarks, up.world_landmarks, up.handedness)
    b = gc.hand_feature_vector(down.landmarks, down.world_landmarks, down.handedness)
    assert a.ndim == 1 and a.shape == b.shape
    # Shape features match; only the orientation features (the last 4) differ.
    np.testing.assert_allclose(a[:-4], b[:-4], atol=1e-6)
    assert not np.allclose(a[-4:], b[-4:])
    c = gc.hand_feature_vector(up.landmarks, up.world_landmarks, up.handedness, orientation=False)
    assert c.shape[0] == a.shape[0] - 4
    both = gc.hand_feature_vector(np.stack([up.landmarks, down.landmarks]), None, ["Right", "Right"])
    assert both.shape == (2, a.shape[0])


CLASSES = {
    "fist": lambda: make_hand(CURLED, thumb="over_fist"),
    "palm": lambda: make_hand({}, thumb="open"),
    "peace": lambda: make_hand({**CURLED, "index": 0.0, "middle": 0.0}, thumb="across", spread=2.5),
    "claw": lambda: make_hand({"index": 0.5, "middle": 0.5, "ring": 0.5, "pinky": 0.5}, thumb="side"),
}


def _dataset(n_per_class: int, seed: int):
    rng = np.random.default_rng(seed)
    lm, world, side, labels = [], [], [], []
    for label, make in CLASSES.items():
        for _ in range(n_per_class):
            h = transform(make(), angle=float(rng.uniform(0, 360)), scale=float(rng.uniform(0.5, 2)),
                          mirror=bool(rng.integers(2)), size=float(rng.uniform(0.85, 1.15)), noise=1.5,
                          seed=int(rng.integers(1 << 30)))
            lm.append(h.landmarks)
            world.append(h.world_landmarks)
            side.append(h.handedness)
            labels.append(label)
    return np.stack(lm), np.stack(world), side, labels


def test_training_and_cross_validation_on_synthetic_classes():
    lm, world, side, labels = _dataset(10, seed=1)
    x = gc.hand_feature_vector(lm, world, side, orientation=False)
    cv = gc.cross_validate(x, labels, folds=5, orientation=False)
    assert cv.folds == 5
    assert cv.accuracy >= 0.9
    assert cv.confusion.sum() == len(labels) and cv.confusion.shape == (4, 4)
    model = gc.fit(x, labels, orientation=False)
    tl, tw, ts, tlabels = _dataset(5, seed=2)  # new photos of the same poses
    pred = model.predict(tl, tw, ts)
    assert np.mean([p[0] == t for p, t in zip(pred, tlabels, strict=True)]) >= 0.9
    assert all(0 <= p[1] <= 1 for p in pred)
    probs = model.predict_proba(tl, tw, ts)
    assert probs.shape == (len(tlabels), 4)
    np.testing.assert_allclose(probs.sum(1), 1)


def test_save_load_round_trip(tmp_path):
    lm, world, side, labels = _dataset(6, seed=3)
    model = gc.fit(gc.hand_feature_vector(lm, world, side), labels, none_class="claw", min_score=0.7)
    path = tmp_path / "m.json"
    model.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == gc.FORMAT and data["classes"] == sorted(CLASSES)
    back = gc.GestureClassifier.load(path)
    assert back.none_class == "claw" and back.min_score == 0.7 and back.orientation
    np.testing.assert_allclose(back.predict_proba(lm, world, side), model.predict_proba(lm, world, side))
    bad = dict(data, weights=data["weights"][:-1])
    with pytest.raises(ValueError):
        gc.GestureClassifier.from_dict(bad)
    with pytest.raises(ValueError):
        gc.GestureClassifier.from_dict(dict(data, format="other"))


def test_stratified_folds_spread_each_class():
    y = np.array([0] * 10 + [1] * 5 + [2] * 3)
    fold = gc.stratified_folds(y, 3, seed=0)
    for c in range(3):
        counts = np.bincount(fold[y == c], minlength=3)
        assert counts.max() - counts.min() <= 1


def test_confusion_and_tables():
    m = gc.confusion_matrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3)
    assert m.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    md = gc.markdown_confusion(m, ["a", "b", "c"])
    assert md.splitlines()[0].startswith("| true \\ predicted | a | b | c |") and "| b | 0 | 2 | 0 |" in md
    table = gc.per_class_table(m, ["a", "b", "c"])
    assert "| b | 0.67 | 1.00 | 2 |" in table and "| c | - | 0.00 | 1 |" in table


class _FakeHand:
    def __init__(self, h):
        self.landmarks, self.world_landmarks, self.handedness = h.landmarks, h.world_landmarks, h.handedness


def test_training_lists_images_without_a_hand(tmp_path):
    images = []
    for label in CLASSES:
        for i in range(4):
            images.append((tmp_path / label / f"{i}.jpg", label))
    images.append((tmp_path / "palm" / "empty.jpg", "palm"))
    rng = np.random.default_rng(0)

    def process(path):  # "read" hands the path through: build the hand from its folder
        if path.name == "empty.jpg":
            return []
        h = transform(CLASSES[path.parent.name](), angle=float(rng.uniform(0, 360)), noise=1.0,
                      seed=int(rng.integers(1000)))
        small = transform(h, scale=0.3)  # a second, smaller hand: the larger one is taken
        return [_FakeHand(small), _FakeHand(h)]

    samples = gc.extract_samples(images, process, read=lambda p: p)
    assert sum(s.landmarks is None for s in samples) == 1
    report = gc.train_samples(samples, none_class="claw", folds=4)
    assert report.missing == [tmp_path / "palm" / "empty.jpg"]
    assert report.model.none_class == "claw" and report.counts["palm"] == 4
    assert report.cv is not None and report.cv.accuracy >= 0.75
    md = report.to_markdown()
    assert "no hand found in 1 image" in md and "empty.jpg" in md and "cross-validated accuracy" in md
    assert report.model.training["no_hand"] == [str(tmp_path / "palm" / "empty.jpg")]
    with pytest.raises(ValueError):
        gc.train_samples([s for s in samples if s.label == "palm"])


def test_list_training_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "1.jpg").write_bytes(b"")
    (tmp_path / "b" / "2.PNG").write_bytes(b"")
    (tmp_path / "b" / "notes.txt").write_text("x")
    assert [(p.name, c) for p, c in gc.list_training_images(tmp_path)] == [("1.jpg", "a"), ("2.PNG", "b")]
    with pytest.raises(FileNotFoundError):
        gc.list_training_images(tmp_path / "missing")
    with pytest.raises(ValueError):
        gc.list_training_images(tmp_path / "a")


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="handtrace")
    add_gesture_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_gestures_train_command_on_model_maker_folders(data_dir, tmp_path, capsys):
    folder = data_dir / "mediapipe-model-maker-gestures"
    if not folder.is_dir():
        pytest.skip("model-maker gestures not found")
    pytest.importorskip("onnxruntime")
    out = tmp_path / "model.json"
    assert _cli(["gestures", "train", str(folder), "--output", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "cross-validated accuracy" in text and "| call |" in text
    model = gc.GestureClassifier.load(out)
    assert model.classes == ["call", "four", "none", "rock"] and model.none_class == "none"
    assert model.training["cv_accuracy"] >= 0.75
    # Images without a hand are listed, not dropped silently.
    for p in model.training["no_hand"]:
        assert Path(p).name in text


def test_gestures_train_command_usage_errors(tmp_path, capsys):
    assert _cli(["gestures", "train", str(tmp_path / "nope"), "--output", str(tmp_path / "m.json")]) == 2
    assert "not found" in capsys.readouterr().err
