"""Palm boxes from landmarks and average precision at IoU 0.5 (numpy only)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from handtrace import evaluation as ev


def _hand(x0: float, y0: float, side: float) -> np.ndarray:
    """21 landmarks whose 7 palm points span exactly [x0, x0 + side] x [y0, y0 + side]."""
    hand = np.full((21, 2), np.nan)
    palm = np.array([[0, 0], [1, 1], [0.5, 0.5], [1, 0], [0, 1], [0.2, 0.7], [0.9, 0.3]])
    hand[list(ev.PALM_LANDMARKS)] = palm * side + [x0, y0]
    hand[8] = [x0 + 5 * side, y0 - 3 * side]  # a fingertip far out: not part of the palm box
    return hand


def test_palm_box_is_a_square_around_the_seven_palm_points():
    box = ev.palm_box(_hand(10, 20, 40))
    half = 40 * ev.PALM_BOX_SCALE / 2
    np.testing.assert_allclose(box, [30 - half, 40 - half, 30 + half, 40 + half])
    # A taller than wide palm: the side is the long side.
    hand = _hand(0, 0, 10)
    hand[list(ev.PALM_LANDMARKS), 1] *= 3
    box = ev.palm_box(hand, scale=1.0)
    np.testing.assert_allclose(box, [-10, 0, 20, 30])


def test_palm_box_needs_three_annotated_palm_points():
    hand = _hand(0, 0, 10)
    hand[[0, 5, 9, 13, 17]] = np.nan
    assert np.isnan(ev.palm_box(hand)).all()
    hand = _hand(0, 0, 10)
    hand[[0, 5, 9, 13]] = np.nan
    assert np.isfinite(ev.palm_box(hand)).all()


def test_match_palms_takes_each_ground_truth_once_best_score_first():
    gt = np.array([[0, 0, 10, 10]], float)
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [50, 50, 60, 60]], float)
    tp = ev.match_palms(boxes, np.array([0.6, 0.9, 0.8]), gt)
    assert tp.tolist() == [False, True, False]  # the better-scored duplicate takes it
    # IoU 0.5 exactly matches, just below does not.
    assert ev.match_palms(np.array([[0, 0, 10, 5]], float), np.array([1.0]), gt).tolist() == [True]
    assert ev.match_palms(np.array([[0, 0, 10, 4.9]], float), np.array([1.0]), gt).tolist() == [False]


def test_average_precision_on_known_rankings():
    # Perfect ranking: all hits first -> AP 1 (even with a miss ranked last).
    assert ev.average_precision(np.array([0.9, 0.8, 0.1]), np.array([True, True, False]), 2) == 1.0
    # Hit, miss, hit with 2 ground truths: precision 1 at recall 0.5, 2/3 at recall 1 -> 0.5 + 1/3.
    ap = ev.average_precision(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 2)
    assert ap == pytest.approx(0.5 + 1 / 3)
    # Miss first: precision made monotone -> 1/2 at recall 1/2, 2/3 at recall 1 -> (2/3) * 0.5 + (2/3) * 0.5.
    ap = ev.average_precision(np.array([0.9, 0.8, 0.7]), np.array([False, True, True]), 2)
    assert ap == pytest.approx(2 / 3)
    # Half the ground truth never found caps AP at 0.5.
    assert ev.average_precision(np.array([0.9]), np.array([True]), 2) == pytest.approx(0.5)
    assert ev.average_precision(np.zeros(0), np.zeros(0, bool), 3) == 0.0
    assert np.isnan(ev.average_precision(np.zeros(0), np.zeros(0, bool), 0))


def test_evaluate_and_summarize_palms():
    hands = [_hand(10, 10, 40), _hand(100, 100, 20)]
    gt = ev.palm_box(np.stack(hands))
    image = np.zeros((200, 200, 3), np.uint8)
    detections = SimpleNamespace(boxes=np.array([gt[0], [150, 0, 190, 40], gt[1] + 2]),
                                 scores=np.array([0.9, 0.7, 0.4]))
    records = ev.evaluate_palms(lambda im: detections, [ev.Sample(image, hands, "a")])
    assert records[0].tp.tolist() == [True, False, True]
    s = ev.summarize_palms(records, threshold=0.5)
    assert (s.images, s.gt_hands) == (1, 2)
    assert s.recall == 0.5 and s.precision == 0.5  # above 0.5: one right, one wrong
    assert s.ap == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert s.to_dict()["ap@0.5"] == round(s.ap, 4)


def test_detections_of_hands_without_a_palm_box_are_not_false():
    hand = _hand(10, 10, 40)
    partial = np.full((21, 2), np.nan)
    partial[[8, 12]] = [[100, 100], [140, 140]]  # fingertips only: no palm box
    detections = SimpleNamespace(boxes=np.array([ev.palm_box(hand), [110, 110, 130, 130]]),
                                 scores=np.array([0.9, 0.8]))
    records = ev.evaluate_palms(lambda im: detections, [ev.Sample(np.zeros((9, 9, 3), np.uint8),
                                                                  [hand, partial], "a")])
    assert records[0].num_gt == 1
    assert records[0].tp.tolist() == [True]  # the second detection was dropped, not counted false
