"""Scoring helpers of benchmarks/tracking_eval.py; no models or shared data needed."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest


@pytest.fixture(scope="module")
def te(load_benchmark) -> ModuleType:
    return load_benchmark("tracking_eval")


def _hands(*xs: float) -> np.ndarray:
    """(K, 21, 3) hands whose points all sit at (x, 0, 0)."""
    out = np.zeros((len(xs), 21, 3), np.float32)
    out[:, :, 0] = np.asarray(xs, np.float32)[:, None]
    return out


def test_mediapipe_detector_frames_follow_the_previous_frame_count(te: ModuleType) -> None:
    counts = np.array([0, 1, 1, 2, 2, 1, 0])
    # Frame 0 always; then whenever the previous frame had fewer than max_num_hands hands.
    assert te.mediapipe_detector_frames(counts, 2).tolist() == [1, 1, 1, 1, 0, 0, 1]
    assert te.mediapipe_detector_frames(counts, 1).tolist() == [1, 1, 0, 0, 0, 0, 0]
    assert te.mediapipe_detector_frames(np.zeros(0, int), 2).tolist() == []


def test_runs_after_acquisition_skips_frames_up_to_the_first_hand(te: ModuleType) -> None:
    landmarks = [_hands(), _hands(), _hands(5.0), _hands(5.0), _hands(), _hands(5.0)]
    run = te.Run(landmarks, [[]] * 6, None, 4, extra={"detector_per_frame": np.array([1, 1, 1, 0, 1, 0])})
    assert te.runs_after_acquisition(run) == (1, 3)
    never = te.Run([_hands()] * 3, [[]] * 3, None, 3, extra={"detector_per_frame": np.ones(3, int)})
    assert te.runs_after_acquisition(never) == (0, 0)


def test_handedness_flips_count_changes_within_a_track_only(te: ModuleType) -> None:
    labels = [["Left"], ["Right"], ["Right", "Left"], ["Left"]]
    ids = [[0], [1], [1, 0], [1]]
    # id 0: Left, Left -> 0 flips; id 1: Right, Right, Left -> 1 flip.
    assert te.handedness_flips(labels, ids) == 1
    assert te.distinct_ids(ids) == 2
    # Without ids: changes between consecutive frames that each hold exactly one hand.
    assert te.handedness_flips([["Left"], ["Right"], ["Right", "Left"], ["Left"], ["Right"]], None) == 2


def test_max_abs_errors_scores_the_closest_hand_and_misses_as_inf(te: ModuleType) -> None:
    reference = _hands(10.0, 10.0, 10.0)
    landmarks = [_hands(31.0), _hands(100.0, 12.0), _hands()]
    err = te.max_abs_errors(landmarks, reference)
    assert err[0] == pytest.approx(21.0) and err[1] == pytest.approx(2.0) and np.isinf(err[2])
    # z only counts when asked for.
    shifted = [h.copy() for h in landmarks[:1]]
    shifted[0][..., 2] = 50.0
    assert te.max_abs_errors(shifted, reference[:1], dims=2)[0] == pytest.approx(21.0)
    assert te.max_abs_errors(shifted, reference[:1], dims=3)[0] == pytest.approx(50.0)


def test_pickup_delay(te: ModuleType) -> None:
    errors = np.array([np.nan, 0.5, np.nan, 0.05, 0.02])
    assert te.pickup_delay(errors, 0) == 3
    assert te.pickup_delay(errors, 4) == 0
    assert te.pickup_delay(np.array([np.nan, 0.3]), 0) is None


def test_markdown_table_and_overrides(te: ModuleType) -> None:
    table = te.markdown_table(["name", "share"], [["a", "97.8%"], ["b", None]])
    assert table.splitlines() == ["| name | share |", "|---|---:|", "| a | 97.8% |", "| b | - |"]
    assert te.parse_overrides(["detection_interval=3", "smooth_landmarks=false", "x=abc"]) == {
        "detection_interval": 3, "smooth_landmarks": False, "x": "abc"}
