"""handtrace.training.data: the annotation readers and their errors (no PyTorch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from handtrace.training.data import AnnotationError, load_annotations


def _image(path: Path, w: int = 64, h: int = 48) -> Path:
    cv2.imwrite(str(path), np.full((h, w, 3), 128, np.uint8))
    return path


def _points(n: int = 21, x: float = 10.0, y: float = 10.0) -> list[list[float]]:
    return [[x + i, y + i * 0.5] for i in range(n)]


def test_hand_graph_depth_and_world(data_dir: Path) -> None:
    samples = load_annotations(data_dir / "hand-graph-cnn-realworld")
    assert len(samples) == 150
    meta = json.loads((data_dir / "hand-graph-cnn-realworld" / "annotations_21kp.json").read_text())
    hand, s = samples[0].hands[0], meta["samples"][0]
    np.testing.assert_allclose(hand.keypoints, s["keypoints_2d"], atol=1e-3)
    cam = np.asarray(s["keypoints_3d_cam_cm"]) / 100
    np.testing.assert_allclose(hand.world, cam - cam.mean(0), atol=1e-6)  # metres, centred
    assert hand.depth[0] == 0
    # Depth at the scale of x: a joint's depth offset, projected like a lateral offset at the wrist's depth.
    fx = s["K_crop"]["fx"]
    np.testing.assert_allclose(hand.depth[4], fx * (cam[4, 2] - cam[0, 2]) / cam[0, 2], rtol=1e-5)
    assert samples[0].record.endswith("annotations_21kp.json#images/00003.jpg")


def test_coco_wholebody_hands_and_handedness(data_dir: Path) -> None:
    samples = load_annotations(data_dir / "mmpose" / "coco" / "test_coco_wholebody.json")
    hands = [h for s in samples for h in s.hands]
    assert len(hands) >= 9 and {h.handedness for h in hands} == {"Left", "Right"}
    for h in hands:
        assert h.visible.any() and (h.keypoints[~h.visible] == 0).all()
    meta = json.loads((data_dir / "mmpose" / "coco" / "test_coco_wholebody.json").read_text())
    valid = sum(bool(a.get(f"{side}_valid")) and any(v > 0 for v in a[f"{side}_kpts"][2::3])
                for a in meta["annotations"] for side in ("lefthand", "righthand"))
    assert len(hands) == valid  # every valid hand, no invalid one


def test_coco_hand_file(data_dir: Path) -> None:
    samples = load_annotations(data_dir / "mmpose" / "onehand10k" / "test_onehand10k.json")
    assert len(samples) == 4 and all(len(s.hands) == 1 and s.image_path.is_file() for s in samples)
    assert all(s.hands[0].handedness is None for s in samples)


def test_coco_body_file_names_file_and_record(data_dir: Path) -> None:
    path = data_dir / "mmpose" / "coco" / "test_coco.json"
    match = r"test_coco\.json#annotation \d+: keypoints: expected 21 points"
    with pytest.raises(AnnotationError, match=match):
        load_annotations(path)


def test_own_layout_folder(tmp_path: Path) -> None:
    _image(tmp_path / "a.png")
    _image(tmp_path / "empty.png")
    records = [{"image": "a.png", "hands": [{"landmarks": _points(), "handedness": "Right",
                                             "visible": [True] * 20 + [False]}]},
               {"image": "empty.png", "hands": []}]
    (tmp_path / "annotations.json").write_text(json.dumps(records))
    samples = load_annotations(tmp_path)
    assert [len(s.hands) for s in samples] == [1, 0]
    hand = samples[0].hands[0]
    assert hand.handedness == "Right" and hand.visible.sum() == 20 and hand.depth is None
    assert samples[0].image_path == tmp_path / "a.png"
    assert samples[1].record.endswith("annotations.json#1")


@pytest.mark.parametrize(("hand", "match"), [
    ({"landmarks": _points(20)}, r"annotations\.json#0: hand 0 landmarks: expected 21 points"),
    ({"landmarks": _points(x=100)}, r"annotations\.json#0: keypoint\(s\) \[.*\] outside the 64x48 image"),
    ({"landmarks": _points(), "handedness": "left"}, r"annotations\.json#0: handedness must be"),
    ({"landmarks": [[1, "a"]] * 21}, r"annotations\.json#0: hand 0 landmarks"),
])
def test_bad_annotation_names_file_and_record(tmp_path: Path, hand: dict, match: str) -> None:
    _image(tmp_path / "a.png")
    (tmp_path / "annotations.json").write_text(json.dumps([{"image": "a.png", "hands": [hand]}]))
    with pytest.raises(AnnotationError, match=match):
        load_annotations(tmp_path)


def test_missing_image_and_missing_annotations(tmp_path: Path) -> None:
    (tmp_path / "annotations.json").write_text(json.dumps([{"image": "gone.png", "hands": []}]))
    with pytest.raises(AnnotationError, match=r"annotations\.json#0: image not found: .*gone\.png"):
        load_annotations(tmp_path)
    with pytest.raises(FileNotFoundError, match="no annotation file"):
        load_annotations(tmp_path / "..")
    with pytest.raises(AnnotationError, match="not valid JSON"):
        (tmp_path / "bad.json").write_text("{")
        load_annotations(tmp_path / "bad.json")


def test_detect_output_pseudo_labels(tmp_path: Path) -> None:
    """``handtrace detect -o`` records: depth from z (wrist 0), world landmarks, points past the border."""
    _image(tmp_path / "a.png")
    lm = [[x, y, 0.5 * i] for i, (x, y) in enumerate(_points(x=50))]  # runs past the 64 px wide image
    hand = {"handedness": "Left", "presence": 0.99, "landmarks": lm, "world_landmarks": [[0.01, 0, 0]] * 21}
    (tmp_path / "det.json").write_text(json.dumps([{"image": "a.png", "width": 64, "height": 48,
                                                    "hands": [hand]}]))
    h = load_annotations(tmp_path / "det.json")[0].hands[0]
    assert h.depth is not None and h.depth[0] == 0 and h.depth[2] == pytest.approx(1.0)
    assert h.world is not None and h.world.shape == (21, 3) and h.handedness == "Left"
    (tmp_path / "det.json").write_text(json.dumps([{"image": "a.png", "error": "cannot decode"}]))
    with pytest.raises(AnnotationError, match=r"det\.json#0: the record is a failed image"):
        load_annotations(tmp_path / "det.json")


def test_track_output_needs_and_uses_the_frames(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in (0, 1, 10):  # natural order: 0, 1, 10 (not 0, 10, 1)
        _image(frames / f"f{i}.png")
    lines = [{"frame": k, "timestamp_ms": 33.3 * k, "hands": [{"landmarks": _points(), "presence": 0.9}]}
             for k in range(3)]
    path = tmp_path / "track.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    with pytest.raises(AnnotationError, match="frames"):
        load_annotations(path)
    samples = load_annotations(path, images=frames)
    assert [s.image_path.name for s in samples] == ["f0.png", "f1.png", "f10.png"]
    assert samples[2].record.endswith("track.jsonl#line 3")
    path.write_text(json.dumps({"frame": 3, "hands": []}) + "\n")
    with pytest.raises(AnnotationError, match=r"track\.jsonl#line 1: frame 3: .* has 3 images"):
        load_annotations(path, images=frames)
