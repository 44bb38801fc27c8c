"""handtrace.training with PyTorch: crops against the runtime's geometry, a tiny training run, export and
loading through HandTracker, untouched weights exported equal to the packaged models, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")
pytest.importorskip("tqdm")

from handtrace import cli  # noqa: E402
from handtrace.io import read_image  # noqa: E402
from handtrace.landmarks import project_landmarks  # noqa: E402
from handtrace.runtime import HandLandmarkModel, model_path  # noqa: E402
from handtrace.training.config import LandmarkTrainConfig  # noqa: E402
from handtrace.training.data import load_annotations  # noqa: E402
from handtrace.training.export import export_landmark_net, load_landmark_net  # noqa: E402
from handtrace.training.landmark_data import (  # noqa: E402
    NO_AUGMENT,
    NO_JITTER,
    LandmarkExamples,
    flip,
    hand_example,
    hand_region,
)
from handtrace.training.landmark_train import artifact_paths, forward_logits, train_landmarks  # noqa: E402


@pytest.fixture(scope="module")
def photos(data_dir: Path) -> list:
    return load_annotations(data_dir / "hand-graph-cnn-realworld")


@pytest.fixture(scope="module")
def tiny_run(photos: list, tmp_path_factory: pytest.TempPathFactory):
    """4 photos, lite model from MediaPipe's weights, heads only, 4 epochs without augmentation."""
    out = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    config = LandmarkTrainConfig(epochs=4, batch_size=5, variant="lite", cache_variants=1,
                                 jitter=NO_JITTER, augment=NO_AUGMENT, seed=3)
    result = train_landmarks(photos[:4], out, config, val=photos[4:6], progress=False, log=lambda m: None)
    return out, config, result


def test_crop_targets_project_back_with_the_runtime(photos: list) -> None:
    """Targets in crop pixels, projected with the runtime's own function, land on the labelled keypoints."""
    s = photos[0]
    hand = s.hands[0]
    roi = hand_region(hand) + np.array([5.0, -3.0, 0, 0, 0.2])
    ex = hand_example(read_image(s.image_path), hand, roi)
    back = project_landmarks(ex.keypoints[None], roi[None])[0]
    np.testing.assert_allclose(back[:, :2], hand.keypoints, atol=1e-3)
    np.testing.assert_allclose(back[:, 2], hand.depth, atol=1e-3)  # z too, through NORMALIZE_Z
    assert ex.image.shape == (224, 224, 3) and ex.presence == 1.0 and ex.has_world


def test_flip_mirrors_targets_and_swaps_handedness(photos: list) -> None:
    s = photos[0]
    hand = s.hands[0]
    hand.handedness = "Left"
    ex = hand_example(read_image(s.image_path), hand, hand_region(hand))
    image, kp, world = ex.image.copy(), ex.keypoints.copy(), ex.world.copy()
    f = flip(ex)
    assert f.right == 1.0
    np.testing.assert_array_equal(f.image, image[:, ::-1])
    np.testing.assert_allclose(f.keypoints[:, 0], 224 - kp[:, 0])
    np.testing.assert_allclose(f.world[:, 0], -world[:, 0])
    hand.handedness = None


def test_examples_are_seeded(photos: list) -> None:
    a = LandmarkExamples(photos[:6], seed=5)
    b = LandmarkExamples(photos[:6], seed=5)
    items = a.epoch(2)
    assert items == b.epoch(2) and items != a.epoch(3)
    assert sum(kind != "hand" for kind, *_ in items) == 2  # 0.25 negatives per hand, rounded
    for item in items[:3]:
        np.testing.assert_array_equal(a.make(item).image, b.make(item).image)


def test_tiny_training_lowers_the_loss(tiny_run) -> None:
    out, _, result = tiny_run
    losses = [row["loss_landmarks"] for row in result.history]
    assert len(losses) == 4 and losses[-1] < 0.8 * losses[0]
    paths = artifact_paths(out)
    rows = list(csv.DictReader(paths["csv"].read_text().splitlines()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4] and "val_error_px" in rows[0]
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["checkpoint"].is_file() and out.is_file()


def test_trained_model_runs_in_the_tracker(tiny_run, photos: list) -> None:
    """The exported file has the packaged model's interface and HandTracker runs it."""
    import handtrace

    out, _, _ = tiny_run
    state = torch.load(artifact_paths(out)["checkpoint"], weights_only=False)
    net = load_landmark_net("lite", pretrained=False)
    net.load_state_dict(state["model"])
    ex = LandmarkExamples(photos[:2], jitter=NO_JITTER, aug=NO_AUGMENT)
    crops = np.stack([ex.make(("hand", i, 0, 0)).image for i in range(2)])
    with torch.no_grad():
        ref = net(torch.from_numpy(crops).float() / 255)
    onnx_out = HandLandmarkModel("lite", path=out, threads=1)(crops)
    np.testing.assert_allclose(onnx_out.landmarks.reshape(2, -1), ref[0].numpy(), atol=1e-2)
    np.testing.assert_allclose(onnx_out.presence, ref[1].numpy().ravel(), atol=1e-4)
    with handtrace.HandTracker(landmark_model=out, model_complexity=0, gestures=False,
                               min_tracking_confidence=0.0) as tracker:
        hands = tracker.process(read_image(photos[0].image_path))
    assert len(hands) >= 1 and hands[0].landmarks.shape == (21, 3)


def test_untouched_weights_export_equal_to_packaged(tmp_path: Path, photos: list) -> None:
    net = load_landmark_net("lite")
    path = export_landmark_net(net, tmp_path / "lite.onnx")
    ex = LandmarkExamples(photos[:3], jitter=NO_JITTER, aug=NO_AUGMENT)
    crops = np.stack([ex.make(("hand", i, 0, 0)).image for i in range(3)])
    ours = HandLandmarkModel("lite", path=path, threads=1)(crops)
    packaged = HandLandmarkModel("lite", threads=1)(crops)
    for name in ours._fields:
        np.testing.assert_allclose(getattr(ours, name), getattr(packaged, name), atol=1e-4, err_msg=name)
    import onnx

    a, b = onnx.load(str(path)), onnx.load(str(model_path("hand_landmark_lite")))
    assert [n.op_type for n in a.graph.node] == [n.op_type for n in b.graph.node]  # the packaged form
    assert a.graph.input[0].type == b.graph.input[0].type  # uint8 NHWC, dynamic batch


def test_forward_logits_match_the_network(photos: list) -> None:
    net = load_landmark_net("lite").eval()
    ex = LandmarkExamples(photos[:1], aug=NO_AUGMENT)
    x = torch.from_numpy(np.stack([ex.make(("hand", 0, 0, 0)).image]))
    with torch.no_grad():
        lm, presence, _, world = forward_logits(net, x)
        ref = net(x.float() * (1 / 255))
    torch.testing.assert_close(lm.reshape(1, -1), ref[0])
    torch.testing.assert_close(torch.sigmoid(presence), ref[1].reshape(1))
    torch.testing.assert_close(world.reshape(1, -1), ref[3])


def test_cli_resumes_and_writes_the_model(tiny_run, tmp_path: Path, data_dir: Path, capsys) -> None:
    """``handtrace train landmarks`` going on from the tiny run's checkpoint for one more epoch."""
    out, _, _ = tiny_run
    ckpt = artifact_paths(out)["checkpoint"]
    images = tmp_path / "data"
    images.mkdir()
    src = data_dir / "hand-graph-cnn-realworld"
    meta = json.loads((src / "annotations_21kp.json").read_text())
    records = [{"image": str(src / s["image"]), "hands": [{"landmarks": s["keypoints_2d"]}]}
               for s in meta["samples"][:4]]
    (images / "annotations.json").write_text(json.dumps(records))
    target = tmp_path / "more.onnx"
    status = cli.main(["train", "landmarks", str(images), "-o", str(target), "--resume", str(ckpt),
                       "--epochs", "5", "-q"])
    assert status == 0, capsys.readouterr().err
    rows = list(csv.DictReader(artifact_paths(target)["csv"].read_text().splitlines()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]  # the resumed history plus one epoch
    assert HandLandmarkModel("lite", path=target, threads=1) is not None


@pytest.mark.parametrize("case", ["bad_data", "output_is_input", "no_torch"])
def test_cli_usage_errors_exit_2(case: str, tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "annotations.json").write_text(json.dumps([{"image": "missing.png", "hands": []}]))
    argv = ["train", "landmarks", str(tmp_path), "-o", str(tmp_path / "m.onnx"), "-q"]
    if case == "output_is_input":
        argv[4] = str(tmp_path / "annotations.json")
    if case == "no_torch":
        import importlib.util

        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name == "torch" else real(name, *a))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    expected = {"bad_data": "annotations.json#0: image not found", "output_is_input": "is one of the inputs",
                "no_torch": "install handtrace[train]"}[case]
    assert expected in err
