"""The PyTorch model code loads MediaPipe's weights and reproduces the shipped ONNX models."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.runtime import HandLandmarkModel, PalmDetectorModel

torch = pytest.importorskip("torch", reason="model conversion needs the optional PyTorch install")
pytest.importorskip("tflite", reason="model conversion needs the `convert` extra")


@pytest.mark.parametrize(("name", "shape"), [
    ("palm_detection_full", (192, 192)), ("palm_detection_lite", (192, 192)),
    ("palm_detection_full", (128, 128)), ("palm_detection_lite", (128, 192)),
    ("palm_detection_full", (192, 96)), ("hand_landmark_full", (224, 224)),
    ("hand_landmark_lite", (224, 224))])
def test_pytorch_model_matches_shipped_onnx(models_dir, name, shape):
    from handtrace.anchors import palm_anchors
    from handtrace.models.convert import load_tflite

    model = load_tflite(name, models_dir / f"{name}.tflite")
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (2, *shape, 4), dtype=np.uint8)  # RGBA: the shipped models drop alpha
    x = pixels[..., :3].astype(np.float32) / 255
    with torch.no_grad():
        ours = [t.numpy().reshape(2, -1) for t in model(torch.from_numpy(x))]
    variant = name.rsplit("_", 1)[1]
    palm = name.startswith("palm")
    shipped = (PalmDetectorModel(variant) if palm else HandLandmarkModel(variant))(pixels)
    if palm:  # one row per anchor, in anchor order: 2016 at 192x192, 1344 at 128x192, 1008 at 192x96
        assert shipped[0].shape == (2, len(palm_anchors(*shape)), 18)
    for a, b in zip(ours, shipped, strict=True):
        np.testing.assert_allclose(a, np.asarray(b).reshape(2, -1), atol=1e-3, rtol=0)


def test_layer_count_mismatch_is_reported(models_dir):
    from handtrace.models.convert import load_tflite

    with pytest.raises(ValueError, match="layers"):
        load_tflite("palm_detection_lite", models_dir / "palm_detection_full.tflite")
