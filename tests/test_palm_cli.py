"""``handtrace train palm`` (a tiny run, exported and loaded by the runtime) and ``handtrace eval palms``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from handtrace.cli import main


@pytest.fixture(scope="module")
def labels(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four hand-graph-cnn photos in handtrace's own annotation layout."""
    folder = data_dir / "hand-graph-cnn-realworld"
    meta = json.loads((folder / "annotations_21kp.json").read_text())["samples"][:4]
    records = [{"image": str((folder / s["image"]).resolve()), "hands": [{"landmarks": s["keypoints_2d"]}]}
               for s in meta]
    path = tmp_path_factory.mktemp("palm") / "labels.json"
    path.write_text(json.dumps(records))
    return path


def test_eval_palms_on_labelled_photos(labels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "ap.json"
    assert main(["eval", "palms", str(labels), "--pad", "128", "--json", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "4 images, 4 palms" in printed and "AP@0.5" in printed
    summary = json.loads(out.read_text())["summary"]
    assert summary["gt_hands"] == 4
    assert summary["ap@0.5"] >= 0.75  # MediaPipe's detector finds these padded palms


def test_eval_palms_bad_input_is_a_usage_error(tmp_path: Path, labels: Path,
                                               capsys: pytest.CaptureFixture[str]):
    assert main(["eval", "palms", str(tmp_path / "missing.json"), "-q"]) == 2
    assert "missing.json" in capsys.readouterr().err
    not_a_model = tmp_path / "model.onnx"
    not_a_model.write_bytes(b"not onnx")
    assert main(["eval", "palms", str(labels), "--palm-model", str(not_a_model), "-q"]) == 2
    assert "model.onnx" in capsys.readouterr().err
    assert main(["eval", "palms", str(labels), "--input-size", "100", "-q"]) == 2


def test_train_palm_refuses_to_overwrite_its_input(labels: Path, capsys: pytest.CaptureFixture[str]):
    pytest.importorskip("torch")
    assert main(["train", "palm", str(labels), "-o", str(labels), "-q"]) == 2
    assert "one of the inputs" in capsys.readouterr().err


def test_train_palm_exports_a_model_the_runtime_loads(labels: Path, tmp_path: Path):
    torch = pytest.importorskip("torch")
    from handtrace.detection import PalmDetector
    from handtrace.runtime import PalmDetectorModel
    from handtrace.tracker import HandTracker
    from handtrace.training.palm_model import build_palm_detector

    model = tmp_path / "palm.onnx"
    argv = ["train", "palm", str(labels), "--val", str(labels), "-o", str(model), "--from", "scratch",
            "--no-decoder", "--epochs", "1", "--steps", "2", "--batch-size", "2", "--size", "64", "-q"]
    assert main(argv) == 0
    for name in ("palm.ckpt.pt", "palm.curves.csv", "palm.curves.png"):
        assert (tmp_path / name).is_file()
    # The ONNX file computes what the trained PyTorch weights compute, through the runtime's runner.
    ckpt = torch.load(tmp_path / "palm.ckpt.pt", map_location="cpu", weights_only=False)
    net = build_palm_detector(decoder=False, init="scratch")
    net.load_state_dict(ckpt["best_state"])
    net.eval()
    runner = PalmDetectorModel(path=model)
    image = np.random.default_rng(0).integers(0, 256, (1, 64, 96, 3), dtype=np.uint8)
    regressors, logits = runner(image)
    with torch.no_grad():
        ref_r, ref_s = net(torch.from_numpy(image).float() / 255)
    np.testing.assert_allclose(regressors, ref_r.numpy(), atol=1e-3, rtol=1e-4)
    np.testing.assert_allclose(logits, ref_s.numpy()[..., 0], atol=1e-3, rtol=1e-4)
    assert len(PalmDetector(runner, min_score=0.0)(image[0])) >= 1
    with HandTracker(static_image_mode=True, palm_model=model) as tracker:
        tracker.process(image[0])  # runs end to end on the trained detector
