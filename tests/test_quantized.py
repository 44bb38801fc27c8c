"""Int8 landmark models (``precision="int8"``): close to the float models on real hand crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from handtrace.evaluation import load_hand_graph_cnn
from handtrace.runtime import PRECISIONS, HandLandmarkModel, PalmDetectorModel, model_path
from handtrace.tracker import HandTracker

IMAGES = 12  # hand-graph-cnn-realworld photos whose pipeline crops are compared


def _pipeline_crops(data_dir: Path, variant: str) -> np.ndarray:
    """The 224x224 crops the float tracker feeds its landmark model on a few real photos."""
    crops: list[np.ndarray] = []
    complexity = 1 if variant == "full" else 0
    with HandTracker(model_complexity=complexity, num_threads=1, gestures=False) as tracker:
        assert tracker._landmarker is not None
        model = tracker._landmarker.model

        def record(batch: np.ndarray) -> object:
            crops.extend(batch)
            return model(batch)

        tracker._landmarker.model = record
        for k, sample in enumerate(load_hand_graph_cnn(data_dir)):
            if k == IMAGES:
                break
            tracker.process(sample.image)
    return np.stack(crops)


@pytest.mark.parametrize("variant", ["full", "lite"])
def test_int8_landmarks_close_to_float_on_real_crops(data_dir: Path, variant: str):
    if not (data_dir / "hand-graph-cnn-realworld").is_dir():
        pytest.skip("hand-graph-cnn-realworld not found")
    crops = _pipeline_crops(data_dir, variant)
    assert len(crops) >= IMAGES
    ref = HandLandmarkModel(variant, threads=1)(crops)
    out = HandLandmarkModel(variant, threads=1, precision="int8")(crops)
    lm_err = np.abs(out.landmarks[..., :2] - ref.landmarks[..., :2])  # crop pixels, 224 scale
    assert lm_err.mean() < 1.0 and lm_err.max() < 10.0
    np.testing.assert_allclose(out.presence, ref.presence, atol=0.02)
    # Handedness: the same label wherever the float model is sure of it, and close on average (onnxruntime's
    # int8 kernels move an unsure crop's output by more than a sure one's: 0.056 -> 0.112 on 1.32).
    sure = np.abs(ref.handedness - 0.5) > 0.2
    assert np.array_equal(out.handedness[sure] > 0.5, ref.handedness[sure] > 0.5)
    hand_err = np.abs(out.handedness - ref.handedness)
    assert hand_err.mean() < 0.02 and hand_err.max() < 0.1
    assert np.abs(out.world_landmarks - ref.world_landmarks).mean() < 0.005  # metres


def test_int8_models_are_packaged_and_smaller():
    for variant in ("full", "lite"):
        name = f"hand_landmark_{variant}"
        assert model_path(f"{name}_int8").stat().st_size < model_path(name).stat().st_size


def test_int8_model_accepts_batches():
    crops = np.random.default_rng(0).random((3, 224, 224, 3), dtype=np.float32)
    out = HandLandmarkModel("lite", threads=1, precision="int8")(crops)
    assert out.landmarks.shape == (3, 21, 3) and out.presence.shape == (3,)
    assert np.all(np.isfinite(out.landmarks))


@pytest.mark.parametrize("cls", [PalmDetectorModel, HandLandmarkModel])
@pytest.mark.parametrize("precision", ["fp16", "INT8", "", "uint8"])
def test_unknown_precision_raises(cls, precision: str):
    with pytest.raises(ValueError, match="precision must be one of"):
        cls("lite", threads=1, precision=precision)


@pytest.mark.parametrize("cls", [PalmDetectorModel, HandLandmarkModel])
def test_int8_needs_the_onnx_backend(cls):
    with pytest.raises(ValueError, match="needs backend 'onnx'"):
        cls("lite", threads=1, backend="litert", precision="int8")


def test_missing_int8_file_names_it():
    name = "palm_detection_full_int8.onnx"
    if (model_path("palm_detection_full").parent / name).is_file():
        pytest.skip(f"{name} is packaged")
    with pytest.raises(FileNotFoundError, match=name):
        PalmDetectorModel("full", threads=1, precision="int8")


def test_float_is_the_default_precision():
    assert PRECISIONS[0] == "float"
    assert HandLandmarkModel("lite", threads=1).precision == "float"


def test_float32_model_folds_casts_without_changing_outputs():
    """The quantizer's view of a model: float input (image_input undone), float32 weights, same outputs."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from handtrace.models.image_input import is_uint8_input, to_float_input, to_uint8_input
    from handtrace.models.quantize import float32_model

    shipped = onnx.load(str(model_path("hand_landmark_lite")))
    assert is_uint8_input(shipped)
    model = float32_model(to_float_input(shipped))
    assert not any(n.op_type == "Cast" for n in model.graph.node)
    pixels = np.random.default_rng(1).integers(0, 256, (2, 224, 224, 4), dtype=np.uint8)
    crops = pixels[..., :3].astype(np.float32) * np.float32(1 / 255)
    folded = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = HandLandmarkModel("lite", threads=1)(pixels)
    out = folded.run(None, {"image": crops})
    np.testing.assert_allclose(out[0].reshape(2, 21, 3), ref.landmarks, atol=1e-3)
    # And back: the uint8 input again gives the shipped model's outputs exactly.
    uint8_model = to_uint8_input(model).SerializeToString()
    again = ort.InferenceSession(uint8_model, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(again.run(None, {"image": pixels})[0].reshape(2, 21, 3), ref.landmarks,
                               atol=1e-5)
