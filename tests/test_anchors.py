"""SSD anchors of the palm detector."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.anchors import PALM_MAX_SCALE, PALM_MIN_SCALE, palm_anchors, ssd_anchors


def test_count_and_layout():
    a = palm_anchors()
    assert a.shape == (2016, 4)
    assert a.dtype == np.float32
    # 24x24 cells x 2 anchors, then 12x12 cells x 6 anchors.
    assert np.allclose(a[:1152:2], a[1:1152:2])
    assert np.allclose(a[1152:1158], a[1152])
    assert np.all(a[:, 2:] == 1.0)  # fixed anchor size


def test_first_and_last_values():
    a = palm_anchors()
    np.testing.assert_allclose(a[0], [0.5 / 24, 0.5 / 24, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[2], [1.5 / 24, 0.5 / 24, 1, 1], rtol=1e-6)  # x varies fastest
    np.testing.assert_allclose(a[48], [0.5 / 24, 1.5 / 24, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[1151], [23.5 / 24, 23.5 / 24, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[1152], [0.5 / 12, 0.5 / 12, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[-1], [11.5 / 12, 11.5 / 12, 1, 1], rtol=1e-6)


def test_cached_and_read_only():
    assert palm_anchors() is palm_anchors()
    assert palm_anchors(128) is palm_anchors(128) and palm_anchors(128) is not palm_anchors()
    with pytest.raises(ValueError):
        palm_anchors()[0, 0] = 0.0


def test_small_input_grid():
    # The fallback's 128x128 input: 16x16 cells x 2 anchors, then 8x8 cells x 6.
    a = palm_anchors(128)
    assert a.shape == (896, 4)
    np.testing.assert_allclose(a[0], [0.5 / 16, 0.5 / 16, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[511], [15.5 / 16, 15.5 / 16, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[512], [0.5 / 8, 0.5 / 8, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[-1], [7.5 / 8, 7.5 / 8, 1, 1], rtol=1e-6)


def test_scales_when_not_fixed():
    a = ssd_anchors(fixed_anchor_size=False)
    s0 = PALM_MIN_SCALE
    s1 = PALM_MIN_SCALE + (PALM_MAX_SCALE - PALM_MIN_SCALE) / 3
    np.testing.assert_allclose(a[0, 2:], [s0, s0], rtol=1e-6)
    np.testing.assert_allclose(a[1, 2:], [np.sqrt(s0 * s1)] * 2, rtol=1e-6)
    # The last layer interpolates towards scale 1.
    np.testing.assert_allclose(a[-1, 2:], [np.sqrt(PALM_MAX_SCALE)] * 2, rtol=1e-6)
    np.testing.assert_allclose(a[:, :2], palm_anchors()[:, :2])
