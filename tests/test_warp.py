"""Warps into model inputs: the faster 4-channel paths give exactly the 3-channel warp's values."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from handtrace.roi import crop_to_image_matrices
from handtrace.warp import RGBA_MAX_PIXELS, RGBAScratch, footprint, prepare, warp_into


def _image(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(h * w)
    smooth = cv2.resize(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8), (w, h))
    return np.ascontiguousarray(smooth ^ rng.integers(0, 16, (h, w, 3), dtype=np.uint8))


def _reference(image: np.ndarray, to_image: np.ndarray, size: int, border: int) -> np.ndarray:
    """The plain 3-channel warp."""
    return cv2.warpAffine(image, to_image, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=border)


def _random_regions(h: int, w: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    side = rng.uniform(20, 1.5 * max(h, w), n)
    return np.stack([rng.uniform(-0.3, 1.3, n) * w, rng.uniform(-0.3, 1.3, n) * h, side, side,
                     rng.uniform(-np.pi, np.pi, n)], axis=1)


@pytest.mark.parametrize("border", ["replicate", "zero"])
def test_rgba_and_scratch_warps_equal_the_plain_warp(border):
    mode = {"replicate": cv2.BORDER_REPLICATE, "zero": cv2.BORDER_CONSTANT}[border]
    image = _image(720, 1280)
    scratch = RGBAScratch()
    rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
    for m in crop_to_image_matrices(_random_regions(720, 1280, 60, 1), 224):
        ref = _reference(image, m, 224, mode)
        out = np.empty((224, 224, 4), np.uint8)
        np.testing.assert_array_equal(warp_into(image, m, out, border)[..., :3], ref)
        np.testing.assert_array_equal(warp_into(rgba, m, out, border)[..., :3], ref)
        # The scratch buffer keeps stale pixels of earlier crops: they must never be read.
        np.testing.assert_array_equal(warp_into(image, m, out, border, scratch)[..., :3], ref)
    assert scratch.buffer is not None and scratch.buffer.shape == (720, 1280, 4)


def test_footprint_covers_every_sample_and_stays_in_the_image():
    h, w = 300, 500
    for m in crop_to_image_matrices(_random_regions(h, w, 200, 2), 64):
        x0, y0, x1, y1 = footprint(m, 64, h, w)
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        grid = np.stack(np.meshgrid(np.arange(64.0), np.arange(64.0)), -1).reshape(-1, 2)
        pts = grid @ m[:, :2].T + m[:, 2]
        inside = (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
        p = pts[inside]
        assert (np.floor(p[:, 0]) >= x0).all() and (np.floor(p[:, 0]) + 1 <= x1).all()
        assert (np.floor(p[:, 1]) >= y0).all() and (np.floor(p[:, 1]) + 1 <= y1).all()


def test_prepare_converts_only_small_rgb_images():
    small, big = _image(200, 300), _image(720, 1280)
    assert 200 * 300 <= RGBA_MAX_PIXELS < 720 * 1280
    assert prepare(small).shape == (200, 300, 4)
    np.testing.assert_array_equal(prepare(small)[..., :3], small)
    assert prepare(big) is big
    rgba = cv2.cvtColor(small, cv2.COLOR_RGB2RGBA)
    assert prepare(rgba) is rgba
