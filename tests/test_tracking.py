"""Track bookkeeping: motion prediction, detector schedule, id re-use, handedness votes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from handtrace.detection import box_iou_matrix
from handtrace.tracking import (
    MAX_ROTATION_STEP,
    TrackSet,
    overlapping,
    predict_regions,
    region_bounds,
    region_velocity,
)


def test_velocity_and_prediction_round_trip():
    a = np.array([[100.0, 200.0, 80.0, 80.0, 3.0]])
    b = np.array([[130.0, 190.0, 88.0, 88.0, -3.1]])  # turned across the +-pi seam
    v = region_velocity(a, b)
    assert v[0, 4] == pytest.approx(2 * np.pi - 6.1, abs=1e-9)  # the short way round
    np.testing.assert_allclose(predict_regions(a, v, 1.0), b, atol=1e-9)
    two = predict_regions(b, v, 1.0)
    assert two[0, 0] == pytest.approx(160.0)
    assert two[0, 2] == pytest.approx(88.0 * 1.1)


def test_region_bounds_of_rotated_square():
    bounds = region_bounds(np.array([[0.0, 0.0, 10.0, 10.0, np.pi / 4]]))
    np.testing.assert_allclose(bounds, [[-5 * np.sqrt(2), -5 * np.sqrt(2), 5 * np.sqrt(2), 5 * np.sqrt(2)]])
    iou = box_iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [[1 / 3, 0.0]])


def test_detector_schedule():
    tracks = TrackSet(max_num_hands=2, detection_interval=5)
    assert tracks.should_detect(0)  # nothing tracked: detect
    tracks.mark_detection(0)
    assert tracks.should_detect(1)  # still nothing tracked: every frame
    tracks.start(np.array([100.0, 100, 50, 50, 0]), 1)
    tracks.mark_detection(1)
    runs = [f for f in range(2, 22) if tracks.should_detect(f) and (tracks.mark_detection(f) or True)]
    assert runs == [6, 11, 16, 21]  # one frame in five with one of two hands tracked
    tracks.start(np.array([300.0, 100, 50, 50, 0]), 22)
    assert not any(tracks.should_detect(f) for f in range(22, 40))  # all hands tracked: never
    with pytest.raises(ValueError):
        TrackSet(detection_interval=0)


def test_prediction_follows_constant_motion():
    tracks = TrackSet(velocity_smoothing=1.0)
    t = tracks.start(np.array([100.0, 100, 50, 50, 0]), 0)
    tracks.update(t, np.array([140.0, 100, 50, 50, 0]), 1)
    np.testing.assert_allclose(tracks.predicted_regions(2)[0, :2], [180, 100])
    assert overlapping(np.array([[182.0, 101, 50, 50, 0]]), tracks.predicted_regions(2))[0]
    assert not overlapping(np.array([[100.0, 100, 50, 50, 0]]), tracks.predicted_regions(2))[0]


def test_extrapolated_rotation_is_capped():
    tracks = TrackSet(velocity_smoothing=1.0)
    slow = tracks.start(np.array([100.0, 100, 50, 50, 0.0]), 0)
    tracks.update(slow, np.array([100.0, 100, 50, 50, 0.1]), 1)  # 5.7 degrees per frame: extrapolated as is
    assert tracks.predicted_regions(3)[0, 4] == pytest.approx(0.3)
    tracks = TrackSet(velocity_smoothing=1.0)
    wild = tracks.start(np.array([100.0, 100, 50, 50, 0.0]), 0)
    tracks.update(wild, np.array([140.0, 100, 50, 50, -1.2]), 1)  # a blurred frame's angle: 69 degrees
    predicted = tracks.predicted_regions(2)[0]
    assert predicted[4] == pytest.approx(-1.2 - MAX_ROTATION_STEP)
    assert predicted[0] == pytest.approx(180.0)  # the centre still follows the motion


def test_lost_track_id_comes_back_only_where_expected():
    tracks = TrackSet(max_lost_frames=10)
    a = tracks.start(np.array([100.0, 100, 60, 60, 0]), 0)
    b = tracks.start(np.array([400.0, 100, 60, 60, 0]), 0)
    tracks.drop(a)
    back = tracks.start(np.array([105.0, 102, 62, 62, 0]), 3)
    assert back.id == a.id
    elsewhere = tracks.start(np.array([250.0, 340, 60, 60, 0]), 4)
    assert elsewhere.id not in (a.id, b.id)
    tracks.drop(elsewhere)
    too_late = tracks.start(np.array([250.0, 340, 60, 60, 0]), 30)
    assert too_late.id != elsewhere.id


def test_handedness_vote_does_not_flip_on_outliers():
    tracks = TrackSet()
    t = tracks.start(np.array([0.0, 0, 10, 10, 0]), 0)
    for p in [0.9] * 20 + [0.01] * 3:  # a few confident wrong frames
        t.vote_handedness(p)
    assert t.right_probability > 0.5


def test_handedness_label_has_hysteresis():
    tracks = TrackSet()
    t = tracks.start(np.array([0.0, 0, 10, 10, 0]), 0)
    t.vote_handedness(0.6)  # first frame: unsure right
    assert t.is_right and t.right_probability > 0.5
    for _ in range(3):
        t.vote_handedness(0.3)  # mildly left: the mean turns, but not by the margin
    assert t.is_right and t.right_probability >= 0.5
    for _ in range(20):
        t.vote_handedness(0.02)  # clearly left for many frames: the label follows
    assert not t.is_right and t.right_probability < 0.5


def test_loss_detections_use_up_the_schedule_budget():
    tracks = TrackSet(max_num_hands=2, detection_interval=5)
    tracks.start(np.array([100.0, 100, 50, 50, 0]), 0)
    tracks.mark_detection(0)
    tracks.mark_detection(5)  # a scheduled run
    tracks.mark_detection(7)  # a hand was lost and found again by the detector
    runs = [f for f in range(8, 30) if tracks.should_detect(f) and (tracks.mark_detection(f) or True)]
    # Two runs in any 10 frames at most: 5 and 7 hold the budget until frame 15.
    assert runs[0] == 15
    assert all(b - a >= 5 for a, b in itertools.pairwise(runs))


def test_lost_id_not_taken_by_the_other_hand():
    tracks = TrackSet()
    left = tracks.start(np.array([100.0, 100, 60, 60, 0]), 0, right_probability=0.05)
    left.vote_handedness(0.05)
    tracks.drop(left)
    right = tracks.start(np.array([110.0, 100, 60, 60, 0]), 2, right_probability=0.95)
    assert right.id != left.id  # where the left hand was, but confidently a right hand
    unsure = tracks.start(np.array([105.0, 100, 60, 60, 0]), 3, right_probability=0.6)
    assert unsure.id == left.id
