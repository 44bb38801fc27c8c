"""Hand regions: rotation, rect transformation, detection/landmark regions and crop matrices."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.roi import (
    apply_affine,
    crop_to_image_matrices,
    detection_to_roi,
    image_to_crop_matrices,
    invert_affine,
    landmarks_to_rect,
    landmarks_to_roi,
    normalize_radians,
    rotation_from_points,
    transform_rects,
)


def test_normalize_radians_range():
    a = normalize_radians(np.array([np.pi, -np.pi, 3 * np.pi / 2, -3 * np.pi / 2, 0.25]))
    np.testing.assert_allclose(a, [-np.pi, -np.pi, -np.pi / 2, np.pi / 2, 0.25])


@pytest.mark.parametrize(
    ("direction", "expected"),
    [((0, -1), 0.0), ((1, 0), np.pi / 2), ((-1, 0), -np.pi / 2), ((0, 1), -np.pi), ((1, -1), np.pi / 4)],
)
def test_rotation_from_points(direction, expected):
    r = rotation_from_points(np.array([10.0, 10.0]), np.array([10.0, 10.0]) + direction)
    assert float(r) == pytest.approx(expected)


def _palm(wrist, middle):
    boxes = np.array([[50.0, 100.0, 150.0, 200.0]])
    kps = np.zeros((1, 7, 2))
    kps[0, 0], kps[0, 2] = wrist, middle
    return boxes, kps


def test_detection_to_roi_upright_palm():
    roi = detection_to_roi(*_palm((100, 200), (100, 120)))
    # Centre moves half a box towards the fingers (up), square of 2.6 x the box side.
    np.testing.assert_allclose(roi[0], [100, 100, 260, 260, 0], atol=1e-9)


def test_detection_to_roi_shift_follows_rotation():
    roi = detection_to_roi(*_palm((60, 150), (140, 150)))  # fingers point right
    np.testing.assert_allclose(roi[0], [150, 150, 260, 260, np.pi / 2], atol=1e-9)


def test_transform_rects_square_long_and_scale():
    out = transform_rects(np.array([[0.0, 0.0, 40.0, 10.0, 0.0]]), scale=2.0, shift_y=0.5, shift_x=0.25)
    np.testing.assert_allclose(out[0], [10.0, 5.0, 80.0, 80.0, 0.0])


def _upright_hand(rng) -> np.ndarray:
    """21 plausible landmarks of an upright hand (fingers up), pixels."""
    base = np.array([
        [0, 0], [-30, -15], [-45, -40], [-55, -65], [-60, -85],   # wrist, thumb
        [-22, -80], [-24, -115], [-25, -135], [-26, -152],        # index
        [0, -85], [0, -122], [0, -145], [0, -163],                # middle
        [20, -80], [22, -113], [23, -133], [24, -150],            # ring
        [38, -70], [42, -96], [44, -112], [46, -126],             # pinky
    ], float)  # fmt: skip
    return base + rng.normal(0, 1.0, base.shape) + [300, 400]


def test_landmarks_roi_of_upright_hand():
    rng = np.random.default_rng(0)
    lm = _upright_hand(rng)[None]
    rect = landmarks_to_rect(lm)[0]
    assert abs(rect[4]) < 0.1
    roi = landmarks_to_roi(lm)[0]
    assert roi[2] == roi[3] == pytest.approx(2 * max(rect[2], rect[3]))
    # Shifted by 0.1 x height along the region's up axis (sin r, -cos r).
    up = np.array([np.sin(rect[4]), -np.cos(rect[4])])
    np.testing.assert_allclose(roi[:2], rect[:2] + 0.1 * rect[3] * up, atol=1e-9)
    assert roi[4] == rect[4]


@pytest.mark.parametrize("angle", [0.7, -2.0, 3.0])
def test_landmarks_roi_is_rotation_equivariant(angle):
    rng = np.random.default_rng(1)
    lm = _upright_hand(rng)
    c = np.array([320.0, 240.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    turned = (lm - c) @ rot.T + c
    a, b = landmarks_to_roi(np.stack([lm, turned]))
    assert normalize_radians(b[4] - a[4] - angle) == pytest.approx(0, abs=1e-9)
    np.testing.assert_allclose(b[:2], rot @ (a[:2] - c) + c, atol=1e-6)
    np.testing.assert_allclose(b[2:4], a[2:4], atol=1e-6)


def test_landmarks_roi_uses_only_the_stable_subset():
    rng = np.random.default_rng(2)
    lm = _upright_hand(rng)[None]
    moved = lm.copy()
    moved[0, [4, 8, 12, 16, 20]] += 500  # fingertips are ignored
    np.testing.assert_allclose(landmarks_to_roi(moved), landmarks_to_roi(lm))


def test_crop_matrices_round_trip_and_corners():
    rng = np.random.default_rng(3)
    rois = np.column_stack([rng.uniform(0, 500, (6, 2)), np.repeat(rng.uniform(20, 300, (6, 1)), 2, 1),
                            rng.uniform(-np.pi, np.pi, 6)])
    to_img = crop_to_image_matrices(rois, 224)
    to_crop = image_to_crop_matrices(rois, 224)
    pts = rng.uniform(-50, 300, (6, 10, 2))
    np.testing.assert_allclose(apply_affine(to_img, apply_affine(to_crop, pts)), pts, atol=1e-9)
    np.testing.assert_allclose(invert_affine(invert_affine(to_img)), to_img, atol=1e-9)
    centre = apply_affine(to_img, np.full((6, 1, 2), 112.0))[:, 0]
    np.testing.assert_allclose(centre, rois[:, :2], atol=1e-9)
    # Crop top-centre lies half a side from the centre along the region's "up" axis (sin r, -cos r).
    top = apply_affine(to_img, np.tile([[112.0, 0.0]], (6, 1, 1)))[:, 0]
    up = np.column_stack([np.sin(rois[:, 4]), -np.cos(rois[:, 4])])
    np.testing.assert_allclose(top, rois[:, :2] + up * rois[:, 3:4] / 2, atol=1e-9)


def test_crop_of_right_pointing_region_turns_it_up():
    roi = np.array([[100.0, 100.0, 224.0, 224.0, np.pi / 2]])
    # The image point right of the centre appears above the crop centre.
    p = apply_affine(image_to_crop_matrices(roi, 224), np.array([[[150.0, 100.0]]]))
    np.testing.assert_allclose(p[0, 0], [112, 62], atol=1e-9)
