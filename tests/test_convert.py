"""The PyTorch model code loads MediaPipe's weights and reproduces the shipped ONNX models."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.runtime import HandLandmarkModel, PalmDetectorModel

torch = pytest.importorskip("torch", reason="model conversion needs the optional PyTorch install")
pytest.importorskip("tflite", reason="model conversion needs the `convert` extra")


@pytest.mark.parametrize("name", ["palm_detection_full", "palm_detection_lite",
                                  "hand_landmark_full", "hand_landmark_lite"])
def test_pytorch_model_matches_shipped_onnx(models_dir, name):
    from handtrace.models.convert import load_tflite

    model = load_tflite(name, models_dir / f"{name}.tflite")
    size = 192 if name.startswith("palm") else 224
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (2, size, size, 4), dtype=np.uint8)  # RGBA: the shipped models drop alpha
    x = pixels[..., :3].astype(np.float32) / 255
    with torch.no_grad():
        ours = [t.numpy().reshape(2, -1) for t in model(torch.from_numpy(x))]
    variant = name.rsplit("_", 1)[1]
    shipped = PalmDetectorModel(variant)(pixels) if size == 192 else HandLandmarkModel(variant)(pixels)
    for a, b in zip(ours, shipped, strict=True):
        np.testing.assert_allclose(a, np.asarray(b).reshape(2, -1), atol=1e-3, rtol=0)


def test_layer_count_mismatch_is_reported(models_dir):
    from handtrace.models.convert import load_tflite

    with pytest.raises(ValueError, match="layers"):
        load_tflite("palm_detection_lite", models_dir / "palm_detection_full.tflite")
