"""HandTracker input rules (issue 13, items 5 and 6): video-mode timestamps, option values, docstrings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from handtrace import HandTracker

FRAME = np.zeros((96, 128, 3), np.uint8)


@pytest.fixture(scope="module")
def video() -> HandTracker:
    with HandTracker(static_image_mode=False, gestures=False) as tracker:
        yield tracker


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_timestamps_raise(video: HandTracker, bad: float) -> None:
    video.reset()
    video.process(FRAME, 0.0)
    with pytest.raises(ValueError, match="finite"):
        video.process(FRAME, bad)


@pytest.mark.parametrize("second", [100.0, 50.0])
def test_repeated_or_backwards_timestamps_raise_naming_both(video: HandTracker, second: float) -> None:
    video.reset()
    video.process(FRAME, 100.0)
    with pytest.raises(ValueError, match=rf"{second:g} ms after 100 ms"):
        video.process(FRAME, second)
    video.process(FRAME, 133.0)  # the refused frame changed nothing: the next valid one is taken


def test_reset_starts_a_new_timeline(video: HandTracker) -> None:
    video.reset()
    video.process(FRAME, 5000.0)
    video.reset()
    video.process(FRAME, 0.0)  # a new video may start at 0 again


def test_seconds_give_one_warning() -> None:
    with HandTracker(static_image_mode=False, gestures=False) as tracker, warnings.catch_warnings(
            record=True) as caught:
        warnings.simplefilter("always")
        t0 = 1_765_000_000.0  # time.time(): seconds since the epoch
        for i in range(6):
            tracker.process(FRAME, t0 + i / 30)
    seconds = [w for w in caught if "seconds" in str(w.message)]
    assert len(seconds) == 1 and "milliseconds" in str(seconds[0].message)
    assert seconds[0].filename == __file__  # the warning points at the caller's line


def test_small_steps_in_seconds_warn_and_milliseconds_do_not() -> None:
    with HandTracker(static_image_mode=False, gestures=False) as tracker, warnings.catch_warnings(
            record=True) as caught:
        warnings.simplefilter("always")
        for i in range(6):
            tracker.process(FRAME, i / 30)  # seconds from 0 (e.g. a video position)
    assert len([w for w in caught if "seconds" in str(w.message)]) == 1
    with HandTracker(static_image_mode=False, gestures=False) as tracker, warnings.catch_warnings(
            record=True) as caught:
        warnings.simplefilter("always")
        for ts in (1.765e12, 1.765e12 + 33.3, 1.765e12 + 66.7, 1.765e12 + 100.0):  # epoch milliseconds
            tracker.process(FRAME, ts)
        for _ in range(4):
            tracker.process(FRAME, None)  # default: +1000/30 ms
    assert not [w for w in caught if "seconds" in str(w.message)]


@pytest.mark.parametrize(("option", "value"), [
    ("num_threads", -3), ("num_threads", 0), ("num_threads", 1.5), ("max_lost_frames", -1),
    ("detection_interval", 0), ("max_lost_frames", True),
])
def test_bad_option_values_raise_naming_the_option(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=option):
        HandTracker(**{option: value})


def test_docstrings_describe_video_mode_and_grayscale() -> None:
    doc = HandTracker.__doc__ or ""
    assert "only mode implemented" not in doc and "video" in doc.split("static_image_mode:")[1][:200]
    assert "Grayscale" in (HandTracker.process.__doc__ or "")
