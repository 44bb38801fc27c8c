"""The exported ONNX models against MediaPipe's original .tflite files, on real hand images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from handtrace.runtime import HandLandmarkModel, PalmDetectorModel

pytest.importorskip("ai_edge_litert", reason="ai-edge-litert runs the original models")

IMAGES = [
    "hand-graph-cnn-realworld/images/00003.jpg",
    "hand-graph-cnn-realworld/images/00117.jpg",
    "tfjs-models/hands.jpg",
    "mediapipe-samples/gesture_thumb_up.jpg",
    "mediapipe-rs/victory.jpg",
    "mediapipe-rs/banana.jpg",
]


def _letterbox(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    s = size / max(h, w)
    resized = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    out = np.zeros((size, size, 3), np.uint8)
    y, x = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
    out[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return out


@pytest.fixture(scope="module")
def images(data_dir: Path, models_dir: Path) -> list[np.ndarray]:
    out = []
    for name in IMAGES:
        bgr = cv2.imread(str(data_dir / name))
        assert bgr is not None, name
        out.append(bgr[:, :, ::-1])
    return out


def _hand_crops(images: list[np.ndarray]) -> np.ndarray:
    """Square crops around the hand-filled photos, plus a rotated one, as the landmark model sees them."""
    crops = [_letterbox(im, 224) for im in images]
    m = cv2.getRotationMatrix2D((112, 112), 30, 1.1)
    crops.append(cv2.warpAffine(crops[0], m, (224, 224)))
    return np.stack(crops).astype(np.float32) / 255


@pytest.mark.parametrize("variant", ["full", "lite"])
def test_palm_detector_matches_tflite(images, variant):
    batch = np.stack([_letterbox(im, 192) for im in images]).astype(np.float32) / 255
    ours = PalmDetectorModel(variant)
    reference = PalmDetectorModel(variant, backend="litert")
    regressors, logits = ours(batch)
    ref_regressors, ref_logits = reference(batch)
    assert regressors.shape == (len(images), 2016, 18)
    assert logits.shape == (len(images), 2016)
    # Regressors are in 192-pixel units: 1e-3 is far below a pixel.
    np.testing.assert_allclose(regressors, ref_regressors, atol=1e-3, rtol=0)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-3, rtol=0)
    # The hand photos do produce confident anchors, so the comparison is not between near-zero outputs.
    assert ref_logits[0].max() > 2


@pytest.mark.parametrize("variant", ["full", "lite"])
def test_landmark_model_matches_tflite(images, variant):
    crops = _hand_crops(images)
    ours = HandLandmarkModel(variant)(crops)
    ref = HandLandmarkModel(variant, backend="litert")(crops)
    np.testing.assert_allclose(ours.landmarks, ref.landmarks, atol=0.05, rtol=0)  # pixels of the 224 crop
    np.testing.assert_allclose(ours.presence, ref.presence, atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours.handedness, ref.handedness, atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours.world_landmarks, ref.world_landmarks, atol=1e-3, rtol=0)
    assert ref.presence[0] > 0.9  # a real hand


@pytest.mark.parametrize("variant", ["full", "lite"])
def test_batched_equals_one_by_one(images, variant):
    crops = _hand_crops(images)[:3]
    model = HandLandmarkModel(variant)
    batched = model(crops)
    for i in range(len(crops)):
        single = model(crops[i : i + 1])
        np.testing.assert_allclose(batched.landmarks[i], single.landmarks[0], atol=1e-3)
        np.testing.assert_allclose(batched.presence[i], single.presence[0], atol=1e-5)


def test_empty_batch_and_bad_shape():
    model = HandLandmarkModel("lite")
    out = model(np.zeros((0, 224, 224, 3), np.float32))
    assert out.landmarks.shape == (0, 21, 3)
    with pytest.raises(ValueError, match=r"\(N, 224, 224, 3\)"):
        model(np.zeros((1, 192, 192, 3), np.float32))
    with pytest.raises(ValueError, match="variant"):
        PalmDetectorModel("heavy")
