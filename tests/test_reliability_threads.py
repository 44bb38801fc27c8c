"""Threads (issue 13, item 2): a still-image tracker shared by threads returns what it returns alone; video
mode refuses a second thread inside ``process``."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from handtrace.landmarks import LandmarkEstimator


class _CropMeans:
    """A stand-in landmark model that reports each crop's mean colour, so a crop read from another thread's
    frame shows up in the results."""

    def __call__(self, crops: np.ndarray) -> SimpleNamespace:
        k = len(crops)
        mean = crops[..., :3].reshape(k, -1).mean(axis=1)
        landmarks = np.repeat(mean[:, None, None], 63).reshape(k, 21, 3).astype(np.float32)
        return SimpleNamespace(landmarks=landmarks, world_landmarks=np.zeros((k, 21, 3), np.float32),
                               presence=mean.astype(np.float32), handedness=np.zeros(k, np.float32))


def test_landmark_crops_of_a_shared_estimator_stay_per_thread() -> None:
    """Two threads crop the same region of two different large frames (over 300,000 pixels: the RGBA
    scratch path) through one estimator; every crop must come from its own thread's frame."""
    estimator = LandmarkEstimator(_CropMeans())
    frames = [np.full((720, 1280, 3), value, np.uint8) for value in (0, 255)]
    rois = np.array([[640.0, 360.0, 300.0, 300.0, 0.3], [500.0, 300.0, 260.0, 260.0, -0.5]])
    wrong: list[float] = []
    start = threading.Barrier(2)

    def work(image: np.ndarray, expected: float) -> None:
        start.wait()
        for _ in range(300):
            got = estimator(image, rois).presence
            wrong.extend(float(g) for g in got if abs(g - expected) > 0.5)

    threads = [threading.Thread(target=work, args=(f, float(f[0, 0, 0]))) for f in frames]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong, f"{len(wrong)} crops read the other thread's frame"


def test_shared_still_tracker_matches_single_threaded(data_dir) -> None:
    """A HandTracker shared by two threads on large frames with one hand and with two (the side-by-side
    landmark worker then runs too) gives the single-threaded landmarks."""
    from handtrace import HandTracker, read_image

    photo = read_image(data_dir / "mediapipe-samples/handlandmarker_test_image.jpg")
    h, w = photo.shape[:2]
    frames = []
    for k in range(4):  # large frames (> 300,000 pixels), hands placed differently in each
        frame = np.full((720, 1280, 3), 40 * k, np.uint8)
        frame[40 + 60 * k:40 + 60 * k + h, 100 * k:100 * k + w] = photo
        if k == 3:
            frame[200:200 + h, 640:640 + w] = photo[:, ::-1]
        frames.append(frame)
    with HandTracker(static_image_mode=True, max_num_hands=2, gestures=False) as tracker:
        expected = [[h.landmarks for h in tracker.process(f)] for f in frames]
        assert [len(e) for e in expected] == [1, 1, 1, 2]
        assert isinstance(tracker._side_by_side, tuple)  # the worker thread is in use
        results: list[list[tuple[int, list[np.ndarray]]]] = [[], []]
        start = threading.Barrier(2)

        def work(slot: int) -> None:
            start.wait()
            for i in range(16):
                k = (i + slot) % len(frames)
                results[slot].append((k, [h.landmarks for h in tracker.process(frames[k])]))

        threads = [threading.Thread(target=work, args=(s,)) for s in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for k, got in results[0] + results[1]:
        assert len(got) == len(expected[k])
        for a, b in zip(got, expected[k], strict=True):
            np.testing.assert_array_equal(a, b)


def test_video_mode_refuses_a_second_thread() -> None:
    from handtrace import HandTracker

    tracker = HandTracker(static_image_mode=False, gestures=False)
    inside, release = threading.Event(), threading.Event()
    real = tracker._landmarker

    def slow_landmarks(image: np.ndarray, rois: np.ndarray):
        inside.set()
        release.wait(10)
        return real(image, rois)

    tracker._landmarker = slow_landmarks  # the first thread stays inside process() until released
    frame = np.zeros((96, 128, 3), np.uint8)
    errors: list[BaseException] = []

    def first() -> None:
        try:
            tracker.process(frame, 0.0)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(10)
    try:
        with pytest.raises(RuntimeError, match="two threads"):
            tracker.process(frame, 33.0)
    finally:
        release.set()
        t.join()
    assert not errors
    tracker._landmarker = real
    assert tracker.process(frame, 66.0) == []  # usable again once the first call is done
    tracker.close()
