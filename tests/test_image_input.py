"""The models' 8-bit image input: RGB or RGBA pixels in, the float network's values inside."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.runtime import HandLandmarkModel, PalmDetectorModel


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (2, 224, 224, 4), dtype=np.uint8)


def test_rgb_rgba_and_float_inputs_give_the_same_outputs(pixels):
    model = HandLandmarkModel("lite", threads=1)
    rgba = model(pixels)
    rgb = model(np.ascontiguousarray(pixels[..., :3]))
    floats = model(pixels[..., :3].astype(np.float32) / 255)
    for other in (rgb, floats):
        for a, b in zip(rgba, other, strict=True):
            np.testing.assert_array_equal(a, b)
    # Alpha is ignored, whatever it holds.
    flipped = pixels.copy()
    flipped[..., 3] = 255 - flipped[..., 3]
    np.testing.assert_array_equal(model(flipped).landmarks, rgba.landmarks)


def test_bad_batches_are_named():
    model = PalmDetectorModel("lite", threads=1)
    with pytest.raises(ValueError, match=r"\(N, H, W \(multiples of 32\), 3\|4\)"):
        model(np.zeros((1, 192, 192, 2), np.uint8))
    with pytest.raises(ValueError, match="multiples of 32"):
        model(np.zeros((1, 192, 100, 4), np.uint8))
    with pytest.raises(ValueError, match="3\\|4"):
        model(np.zeros((1, 192, 192, 4), np.float32))  # floats are RGB only
    with pytest.raises(ValueError, match="uint8"):
        model(np.zeros((1, 192, 192, 3), np.int16))
    with pytest.raises(ValueError, match=r"\(N, 224, 224, 3\|4\)"):
        HandLandmarkModel("lite", threads=1)(np.zeros((1, 192, 192, 4), np.uint8))


def test_palm_model_runs_any_multiple_of_32_one_session_per_size():
    model = PalmDetectorModel("lite", threads=1)
    assert model.any_size
    for h, w in [(128, 192), (192, 128), (128, 128), (128, 192)]:
        regressors, logits = model(np.zeros((2, h, w, 4), np.uint8))
        assert regressors.shape == (2, (h // 8) * (w // 8) * 2 + (h // 16) * (w // 16) * 6, 18)
        assert logits.shape == regressors.shape[:2]
    assert list(model.session.sessions) == [(192, 192), (192, 128), (128, 128), (128, 192)]  # order of use


def test_palm_sessions_are_capped_least_recently_used_first():
    model = PalmDetectorModel("lite", threads=1)
    cap = model.session.MAX_SIZES
    sizes = [(32 * (k + 1), 160) for k in range(cap + 1)]
    for h, w in sizes:
        model(np.zeros((1, h, w, 4), np.uint8))
    assert len(model.session.sessions) == cap and (192, 192) not in model.session.sessions
    assert list(model.session.sessions)[-1] == sizes[-1]


def test_litert_palm_model_takes_192_only():
    pytest.importorskip("ai_edge_litert")
    model = PalmDetectorModel("lite", threads=1, backend="litert")
    assert not model.any_size
    with pytest.raises(ValueError, match=r"\(N, 192, 192, 3\|4\)"):
        model(np.zeros((1, 128, 192, 4), np.uint8))


def test_uint8_input_round_trip_keeps_the_network():
    onnx = pytest.importorskip("onnx")
    from handtrace.models.image_input import is_uint8_input, to_float_input, to_uint8_input
    from handtrace.runtime import model_path

    shipped = onnx.load(str(model_path("palm_detection_lite")))
    floating = to_float_input(onnx.load(str(model_path("palm_detection_lite"))))
    assert is_uint8_input(shipped) and not is_uint8_input(floating)
    assert floating.graph.input[0].type.tensor_type.shape.dim[3].dim_value == 3
    again = to_uint8_input(floating)
    assert [n.op_type for n in again.graph.node] == [n.op_type for n in shipped.graph.node]
    assert to_uint8_input(again) is again  # already uint8: unchanged
    with pytest.raises(ValueError, match="Transpose"):
        broken = to_float_input(onnx.load(str(model_path("palm_detection_lite"))))
        broken.graph.node.remove(next(n for n in broken.graph.node if n.op_type == "Transpose"))
        to_uint8_input(broken)
