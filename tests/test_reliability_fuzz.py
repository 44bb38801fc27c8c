"""Fuzz suite (issue 13): arbitrary arrays, byte strings, files and timestamps through the public entry
points; nothing but the documented exceptions may escape. Property-based (hypothesis); the whole module runs
in well under a minute."""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from handtrace import HandTracker, read_image  # noqa: E402
from handtrace.results import Hand  # noqa: E402
from handtrace.video import VideoReadError, open_source  # noqa: E402
from handtrace.writers import JsonlWriter  # noqa: E402

FUZZ = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64, np.bool_, np.complex64]


@cache
def _tracker(still: bool) -> HandTracker:
    return HandTracker(static_image_mode=still, model_complexity=0, gestures=False, num_threads=1)


@cache
def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="handtrace-fuzz-"))


def _check_hands(hands: list[Hand], image_shape: tuple[int, ...]) -> None:
    assert isinstance(hands, list)
    for h in hands:
        assert h.landmarks.shape == (21, 3) and np.isfinite(h.landmarks).all()


arrays = st.one_of(
    hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=24)),
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 80), st.integers(1, 80), st.sampled_from([1, 2, 3, 4, 5]))),
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 80), st.integers(1, 80))),
)


@FUZZ
@given(image=st.one_of(arrays, st.none(), st.text(max_size=5), st.lists(st.integers(0, 255), max_size=5)))
def test_process_accepts_or_raises_value_error(image: object) -> None:
    for still in (True, False):
        try:
            hands = _tracker(still).process(image)
        except ValueError:
            continue
        arr = np.asarray(image)
        assert arr.dtype == np.uint8 and arr.ndim in (2, 3) and arr.size
        _check_hands(hands, arr.shape)


@FUZZ
@given(timestamps=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(),
                                     st.integers(-10**12, 10**13)), min_size=1, max_size=6))
def test_video_timestamps_accepted_or_value_error(timestamps: list[float | None]) -> None:
    tracker = _tracker(False)
    tracker.reset()
    frame = np.zeros((32, 48, 3), np.uint8)
    last = -math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the seconds warning is tested elsewhere
        for ts in timestamps:
            try:
                tracker.process(frame, ts)
            except ValueError:
                assert ts is not None and (not math.isfinite(ts) or ts <= last)
                continue
            assert ts is None or (math.isfinite(ts) and ts > last)
            last = last + 1000 / 30 if ts is None and last != -math.inf else (0.0 if ts is None else ts)


SIGNATURES = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"RIFF\x00\x00\x00\x00WEBP"]


@cache
def _real_image_bytes() -> bytes:
    ok, buf = cv2.imencode(".jpg", np.random.default_rng(1).integers(0, 255, (40, 56, 3), np.uint8))
    assert ok
    return buf.tobytes()


@FUZZ
@given(prefix=st.sampled_from(SIGNATURES), body=st.binary(max_size=300), cut=st.integers(0, 2000),
       real=st.booleans(), suffix=st.sampled_from([".jpg", ".png", ".bin"]))
def test_read_image_returns_rgb_or_raises_value_error(prefix: bytes, body: bytes, cut: int, real: bool,
                                                      suffix: str) -> None:
    data = _real_image_bytes()[:cut] if real else prefix + body
    path = _workdir() / f"img{suffix}"
    path.write_bytes(data)
    try:
        image = read_image(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@cache
def _real_video_bytes() -> bytes:
    path = _workdir() / "real.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (48, 32))
    for i in range(6):
        w.write(np.full((32, 48, 3), 40 * i, np.uint8))
    w.release()
    return path.read_bytes()


@FUZZ
@given(body=st.binary(max_size=400), cut=st.integers(0, 20_000), real=st.booleans(),
       suffix=st.sampled_from([".mp4", ".avi", ".mkv"]))
def test_readers_yield_frames_or_raise_documented_errors(body: bytes, cut: int, real: bool,
                                                         suffix: str) -> None:
    path = _workdir() / f"clip{suffix}"
    path.write_bytes(_real_video_bytes()[:cut] if real else body)
    try:
        source = open_source(path)
    except (ValueError, FileNotFoundError):
        return
    n = 0
    try:
        with source:
            for frame in source:
                assert frame.image_rgb.dtype == np.uint8 and frame.image_rgb.shape[2] == 3
                assert frame.index == n and math.isfinite(frame.timestamp_ms)
                n += 1
    except VideoReadError as exc:
        assert exc.frame_index == n


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=32)


@FUZZ
@given(values=st.lists(finite_or_not, min_size=4, max_size=4), score=finite_or_not)
def test_jsonl_lines_stay_valid_json_whatever_the_values(values: list[float], score: float) -> None:
    lm = np.tile(np.array(values[:3], np.float32), (21, 1))
    with np.errstate(all="ignore"):  # inf * 0 and overflows are the point here
        world = lm * np.float32(values[3])
    hand = Hand(landmarks=lm, world_landmarks=world, handedness="Left", handedness_score=score,
                presence=score, detection_score=score, box=np.array(values, np.float32))
    path = _workdir() / "out.jsonl"
    with JsonlWriter(path) as w:
        w.write((0, 0.0), [hand])
    record = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert len(record["hands"][0]["landmarks"]) == 21
