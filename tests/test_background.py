"""Palm detection in the background of video tracking (handtrace.background)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from handtrace import background
from handtrace.background import BackgroundDetector
from handtrace.detection import PalmDetector
from handtrace.io import read_image
from handtrace.runtime import PalmDetectorModel
from handtrace.tracker import HandTracker

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="idle priority is Linux-only")


@pytest.fixture(scope="module")
def detector() -> PalmDetector:
    return PalmDetector(PalmDetectorModel("full"), square=True)


@pytest.fixture(scope="module")
def photo(data_dir: Path) -> np.ndarray:
    path = data_dir / "tfjs-models" / "hands.jpg"  # 720x382, two hands
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return read_image(path)


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_background_result_equals_inline_and_ignores_later_changes_to_the_frame(detector, photo):
    bg = BackgroundDetector(detector)
    try:
        frame = photo.copy()
        bg.submit(frame, 7)
        assert bg.busy
        frame[:] = 0  # a caller drawing on or reusing its frame buffer right after process() returns
        frame_no, found = bg.poll(frame=8, max_delay=1)  # at the deadline: waits
        assert frame_no == 7 and not bg.busy
        _same(found, detector(photo))
        assert len(found) == 2
        assert bg.poll(frame=9, max_delay=1) is None  # nothing pending
    finally:
        bg.close()


class _GatedModel:
    """A palm model whose runs wait until ``gate`` opens (a detector slower than the frames)."""

    def __init__(self, model: PalmDetectorModel) -> None:
        self.model, self.gate = model, threading.Event()
        self.any_size, self.input_size = True, model.input_size

    def single_threaded(self, size):
        inner = self.model.single_threaded(size)

        def run(batch):
            assert self.gate.wait(30)
            return inner(batch)
        return run

    def __call__(self, batch):
        return self.model(batch)


def test_poll_waits_only_at_the_deadline(photo):
    gated = _GatedModel(PalmDetectorModel("full"))
    bg = BackgroundDetector(PalmDetector(gated, square=True))
    try:
        bg.submit(photo, 10)
        for frame in (11, 12, 13):  # before the deadline a running detection is not waited for
            assert bg.poll(frame, max_delay=4) is None
        assert bg.busy
        threading.Timer(0.2, gated.gate.set).start()
        frame_no, found = bg.poll(14, max_delay=4)  # 4 frames later: waits for it
        assert frame_no == 10 and len(found) == 2
    finally:
        gated.gate.set()
        bg.close()


def test_submit_while_busy_and_cancel(detector, photo):
    bg = BackgroundDetector(detector)
    try:
        bg.submit(photo, 0)
        with pytest.raises(RuntimeError, match="already running"):
            bg.submit(photo, 1)
        bg.cancel()
        assert not bg.busy and bg.poll(100, max_delay=1) is None
        bg.submit(photo, 2)  # free again
        assert bg.poll(3, max_delay=1)[0] == 2
    finally:
        bg.close()


@linux_only
def test_worker_thread_runs_at_idle_priority(detector, photo):
    bg = BackgroundDetector(detector)
    try:
        bg.submit(photo, 0)
        bg.poll(1, max_delay=1)
        policy = bg._worker().submit(os.sched_getscheduler, 0).result()
        assert policy in (os.SCHED_IDLE, os.SCHED_OTHER)
        if policy == os.SCHED_OTHER:  # SCHED_IDLE refused: then nice 19, unless that is refused too
            nice = bg._worker().submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            assert nice.result() == 19 or not bg._worker().submit(background.lower_priority).result()
    finally:
        bg.close()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the caller's own thread is left alone


def test_default_is_on_for_video_on_a_multicore_linux_cpu_only():
    with HandTracker(static_image_mode=False) as video:
        assert (video._background is not None) == background.available()
    with HandTracker(static_image_mode=True) as still:
        assert still._background is None
    with HandTracker(static_image_mode=False, num_threads=1) as one_core:
        assert one_core._background is None
    with HandTracker(static_image_mode=False, background_detection=False) as inline:
        assert inline._background is None
    with HandTracker(static_image_mode=False, background_detection=True) as forced:
        assert forced._background is not None


def _second_hand_video(photo: np.ndarray, start: int, frames: int) -> list[np.ndarray]:
    """``photo`` (two hands) with its right half blanked until frame ``start``: one hand, then two."""
    one = photo.copy()
    one[:, photo.shape[1] // 2 :] = 128
    return [one if i < start else photo for i in range(frames)]


def _hand_counts(tracker: HandTracker, frames: list[np.ndarray], settle: bool = False) -> list[int]:
    counts = []
    for i, frame in enumerate(frames):
        counts.append(len(tracker.process(frame, timestamp_ms=40 * i)))
        if settle and tracker._background is not None and tracker._background.busy:
            tracker._background.pending.future.result()  # a machine with time to spare between frames
    return counts


def test_new_hand_joins_the_frame_after_its_background_detection(photo):
    start, interval = 9, 4
    frames = _second_hand_video(photo, start, 30)
    kw = dict(static_image_mode=False, max_num_hands=2, detection_interval=interval, gestures=False)
    with HandTracker(background_detection=False, **kw) as inline:
        ref = _hand_counts(inline, frames)
        inline_runs = inline.stats.detector_runs
    with HandTracker(background_detection=True, **kw) as tracker:
        got = _hand_counts(tracker, frames, settle=True)
        assert tracker.stats.background_detections >= 1
        assert tracker.stats.detector_runs == inline_runs  # the same schedule
    found_inline = ref.index(2)
    assert start <= found_inline < start + interval
    # Each background run joins one frame later than the inline run on its frame would.
    assert got.index(2) == found_inline + 1
    assert got[: start] == ref[: start] == [1] * start
    assert got[found_inline + 1 :] == ref[found_inline + 1 :]


def test_new_hand_joins_by_the_deadline_however_slow_the_detector(photo):
    start, interval = 9, 4
    frames = _second_hand_video(photo, start, 40)
    with HandTracker(static_image_mode=False, max_num_hands=2, detection_interval=interval,
                     gestures=False, background_detection=True) as tracker:
        assert tracker._background is not None
        gated = _GatedModel(tracker._detector.model)
        tracker._background.detector = PalmDetector(gated, square=True)
        counts = []
        for i, frame in enumerate(frames):
            if i == len(frames) - 1:
                gated.gate.set()
            if tracker._background.busy and i - tracker._background.pending.frame >= 2 * interval:
                gated.gate.set()  # the deadline frame waits for the run: let it finish
            else:
                gated.gate.clear()
            counts.append(len(tracker.process(frame, timestamp_ms=40 * i)))
    # Scheduled by frame start + interval - 1, joined 2 * interval frames after it at the latest.
    assert 2 in counts
    assert counts.index(2) <= start + interval - 1 + 2 * interval


def test_reset_drops_a_pending_detection(photo):
    with HandTracker(static_image_mode=False, max_num_hands=2, detection_interval=1, gestures=False,
                     background_detection=True) as tracker:
        for i in range(3):
            tracker.process(photo[:, : photo.shape[1] // 2].copy(), timestamp_ms=40 * i)
        assert tracker._background is not None and tracker._background.busy
        tracker.reset()
        assert not tracker._background.busy


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_drops_the_parents_pending_detection_and_detects_again(detector, photo):
    bg = BackgroundDetector(PalmDetector(_GatedModel(detector.model), square=True))  # never finishes
    try:
        bg.submit(photo, 0)
        pid = os.fork()
        if pid == 0:  # the child: the parent's worker thread is not here, so its run would never end
            ok = not bg.busy and bg.poll(50, max_delay=1) is None
            bg.detector = detector
            bg.submit(photo, 1)
            ok = ok and len(bg.poll(2, max_delay=1)[1]) == 2
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert bg.busy  # the parent's run is still pending
    finally:
        bg.detector.model.gate.set()
        bg.close()
