"""Landmark stage: crops, projection back to the image, world landmarks, handedness."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.landmarks import (
    LandmarkEstimator,
    crop_regions,
    decode_handedness,
    project_landmarks,
    rotate_world_landmarks,
)
from handtrace.runtime import LandmarkOutput


def test_project_centre_scale_and_depth():
    rois = np.array([[300.0, 200.0, 448.0, 448.0, 0.0], [300.0, 200.0, 448.0, 448.0, np.pi / 2]])
    lm = np.array([[[112.0, 112.0, 0.0], [112.0, 12.0, 22.4]]] * 2, np.float32)
    out = project_landmarks(lm, rois)
    np.testing.assert_allclose(out[:, 0, :2], [[300, 200], [300, 200]], atol=1e-4)
    # 100 crop px above the centre = 200 image px along the region's up axis.
    np.testing.assert_allclose(out[0, 1, :2], [300, 0], atol=1e-4)
    np.testing.assert_allclose(out[1, 1, :2], [500, 200], atol=1e-4)
    # z: crop px scaled like x (x2 here), then divided by MediaPipe's normalize_z 0.4.
    np.testing.assert_allclose(out[:, 1, 2], [22.4 * 2 / 0.4] * 2, rtol=1e-5)


def test_crop_and_projection_agree_on_a_marked_pixel():
    image = np.zeros((300, 400, 3), np.uint8)
    image[118:121, 248:251] = 255  # a 3x3 dot centred at (249, 119)
    roi = np.array([[220.0, 140.0, 150.0, 150.0, 0.9]])
    crop = crop_regions(image, roi)
    assert crop.shape == (1, 224, 224, 4) and crop.dtype == np.uint8
    weights = crop[0, :, :, 0].astype(np.float64)
    vv, uu = np.mgrid[:224, :224]
    uv = np.array([(weights * uu).sum(), (weights * vv).sum()]) / weights.sum()
    back = project_landmarks(np.array([[[uv[0], uv[1], 0.0]]], np.float32), roi)[0, 0, :2]
    np.testing.assert_allclose(back, [249, 119], atol=0.3)


def test_crop_border_modes():
    image = np.full((10, 10, 3), 200, np.uint8)
    roi = np.array([[5.0, 5.0, 40.0, 40.0, 0.0]])  # mostly outside the image
    zero = crop_regions(image, roi, border="zero")
    rep = crop_regions(image, roi, border="replicate")
    assert zero[0, 0, 0, 0] == 0 and zero[0, 112, 112, 0] == 200
    assert rep[..., :3].min() == 200


def test_rotate_world_landmarks():
    w = np.array([[[0.01, 0.0, 0.02], [0.0, -0.03, 0.0]]], np.float32)
    out = rotate_world_landmarks(w, np.array([np.pi / 2]))
    np.testing.assert_allclose(out, [[[0.0, 0.01, 0.02], [0.03, 0.0, 0.0]]], atol=1e-7)


def test_decode_handedness():
    labels, scores = decode_handedness(np.array([0.9, 0.2]))
    assert labels == ["Right", "Left"]
    np.testing.assert_allclose(scores, [0.9, 0.8])
    assert decode_handedness(np.array([0.9, 0.2]), mirrored=True)[0] == ["Left", "Right"]


def test_estimator_runs_one_batch_and_projects():
    seen = []

    def model(crops):
        seen.append(crops.shape)
        n = len(crops)
        lm = np.tile(np.array([112.0, 112.0, 0.0], np.float32), (n, 21, 1))
        world = np.tile(np.array([0.01, 0.0, 0.0], np.float32), (n, 21, 1))
        return LandmarkOutput(lm, np.full(n, 0.9, np.float32), np.full(n, 0.3, np.float32), world)

    image = np.zeros((100, 200, 3), np.uint8)
    rois = np.array([[50.0, 50.0, 80.0, 80.0, 0.0], [150.0, 40.0, 60.0, 60.0, -np.pi / 2]])
    out = LandmarkEstimator(model)(image, rois)
    assert seen == [(2, 224, 224, 4)]
    assert len(out) == 2
    np.testing.assert_allclose(out.landmarks[:, 0, :2], [[50, 50], [150, 40]], atol=1e-4)
    np.testing.assert_allclose(out.world_landmarks[1, 0], [0.0, -0.01, 0.0], atol=1e-7)
    np.testing.assert_allclose(out.presence, [0.9, 0.9])
    with pytest.raises(ValueError, match="border"):
        LandmarkEstimator(model, border="reflect")


def test_landmark_batch_where_and_concat():
    from handtrace.landmarks import LandmarkBatch

    def batch(value: float, k: int = 2) -> LandmarkBatch:
        points = np.full((k, 21, 3), value, np.float32)
        scores = np.full(k, value, np.float32)
        return LandmarkBatch(points, points.copy(), scores, scores.copy(), np.full((k, 5), value))

    mixed = batch(1.0).where(np.array([False, True]), batch(2.0))
    assert mixed.landmarks[:, 0, 0].tolist() == [1.0, 2.0]
    assert mixed.rois[:, 0].tolist() == [1.0, 2.0] and mixed.presence.tolist() == [1.0, 2.0]
    both = LandmarkBatch.concat([batch(1.0), batch(3.0, 1)])
    assert len(both) == 3 and both[2:].presence.tolist() == [3.0]
