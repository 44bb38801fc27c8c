"""Palm detector training targets: anchor assignment on known boxes, encode/decode round trip (numpy)."""

from __future__ import annotations

import numpy as np

from handtrace.anchors import palm_anchors
from handtrace.detection import decode_boxes
from handtrace.training.palm_targets import (
    IGNORE,
    NEGATIVE,
    POSITIVE,
    encode,
    nominal_anchor_boxes,
    palm_targets,
)


def test_nominal_anchor_boxes_follow_the_runtime_anchor_order():
    anchors = palm_anchors()
    boxes = nominal_anchor_boxes()
    assert boxes.shape == (2016, 4)
    np.testing.assert_allclose((boxes[:, :2] + boxes[:, 2:]) / 2, anchors[:, :2], atol=1e-6)
    sides = boxes[:, 2] - boxes[:, 0]
    # 24x24 cells x 2 (scale 0.148 and the interpolated one), then 12x12 x 6 (0.35 ... 0.87).
    np.testing.assert_allclose(sides[:2], [0.1484375, np.sqrt(0.1484375 * 0.3489583)], rtol=1e-4)
    assert sides[1152:1158].min() > 0.34 and sides[1152:1158].max() < 0.9


def test_a_box_on_an_anchor_gets_that_anchor_and_decodes_back():
    anchors = palm_anchors()
    nominal = nominal_anchor_boxes()
    k = 1152 + 6 * (12 * 5 + 7) + 2  # coarse map, row 5, column 7, third anchor
    box = nominal[k][None].copy()
    kp = np.random.default_rng(0).uniform(box[0, :2], box[0, 2:], (1, 7, 2))
    t = palm_targets(box, kp)
    assert t.labels[k] == POSITIVE and t.matched[k] == 0
    # Its neighbours of a clearly different size are negatives, far anchors too.
    assert t.labels[0] == NEGATIVE
    pos = np.flatnonzero(t.labels == POSITIVE)
    assert set(np.unique(t.labels)) <= {POSITIVE, NEGATIVE, IGNORE}
    decoded, keypoints = decode_boxes(t.regressors[pos], anchors[pos])
    np.testing.assert_allclose(decoded, np.repeat(box, len(pos), 0), atol=1e-5)
    np.testing.assert_allclose(keypoints, np.repeat(kp, len(pos), 0), atol=1e-5)
    np.testing.assert_array_equal(t.regressors[t.labels != POSITIVE], 0)


def test_every_palm_keeps_its_best_anchor_even_when_tiny():
    # A 4-pixel palm overlaps no nominal anchor by 0.4: its nearest smallest anchor becomes positive.
    box = np.array([[100, 60, 104, 64]]) / 192
    t = palm_targets(box, np.zeros((1, 7, 2)))
    pos = np.flatnonzero(t.labels == POSITIVE)
    assert len(pos) == 1
    anchors = palm_anchors()
    assert pos[0] < 1152  # fine map
    np.testing.assert_allclose(anchors[pos[0], :2], [(12 + 0.5) / 24, (7 + 0.5) / 24])


def test_two_palms_are_matched_to_their_own_anchors():
    boxes = np.array([[0.05, 0.05, 0.30, 0.30], [0.50, 0.40, 0.95, 0.85]])
    t = palm_targets(boxes, np.zeros((2, 7, 2)))
    for g in (0, 1):
        mine = np.flatnonzero((t.labels == POSITIVE) & (t.matched == g))
        assert len(mine) >= 1
        centres = palm_anchors()[mine, :2]
        assert ((centres >= boxes[g, :2]) & (centres <= boxes[g, 2:])).all()
    assert np.array_equal(t.matched[t.labels != POSITIVE], np.full((t.labels != POSITIVE).sum(), -1))


def test_no_palm_means_all_negative():
    t = palm_targets(np.zeros((0, 4)), np.zeros((0, 7, 2)))
    assert (t.labels == NEGATIVE).all() and not t.regressors.any()


def test_encode_inverts_the_runtime_decoder_on_a_non_square_input():
    rng = np.random.default_rng(1)
    anchors = palm_anchors(128, 192)
    idx = rng.choice(len(anchors), 50, replace=False)
    lo = rng.uniform(0, 0.6, (50, 2))
    boxes = np.concatenate([lo, lo + rng.uniform(0.05, 0.4, (50, 2))], axis=1)
    kp = rng.uniform(0, 1, (50, 7, 2))
    raw = encode(boxes, kp, anchors[idx], (192, 128))
    decoded, keypoints = decode_boxes(raw, anchors[idx], (192, 128))
    np.testing.assert_allclose(decoded, boxes, atol=1e-5)
    np.testing.assert_allclose(keypoints, kp, atol=1e-5)
