"""Gestures in motion: swipes, pinch start/hold/release and held gestures on synthetic sequences, and the
fist -> thumb-up phases of MediaPipe's gesture test video."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handtrace.gestures import GestureRecognizer
from handtrace.motion import (
    GestureEvent,
    GestureEventDetector,
    HoldDetector,
    PinchDetector,
    SwipeDetector,
)
from synthetic_hands import blend, gesture_pose, make_hand, moved, palm_px, transform

FPS = 30.0


def _run(detector, hands, start_frame=0, track=1):
    events = []
    for i, h in enumerate(hands):
        frame = start_frame + i
        events += detector.update(frame, frame * 1000.0 / FPS, track, h)
    return events


def _path(h, dxs, dys):
    return [moved(h, dx, dy).hand() for dx, dy in zip(dxs, dys, strict=True)]


@pytest.mark.parametrize(
    ("direction", "sx", "sy"), [("right", 1, 0), ("left", -1, 0), ("up", 0, -1), ("down", 0, 1)]
)
@pytest.mark.parametrize("angle", [0, 70])
def test_swipes(direction, sx, sy, angle):
    base = transform(gesture_pose("Open_Palm"), angle=angle)
    p = palm_px(base)
    still = [0.0] * 5
    travel = list(np.linspace(0, 2.5 * p, 10))  # 2.5 palm sizes in a third of a second
    dxs = still + [sx * t for t in travel] + [sx * travel[-1]] * 10
    dys = still + [sy * t for t in travel] + [sy * travel[-1]] * 10
    events = _run(SwipeDetector(), _path(base, dxs, dys))
    assert [e.name for e in events] == [f"swipe_{direction}"]
    e = events[0]
    assert 5 < e.frame_index < 15 and e.duration_ms <= 700
    assert e.data["distance"] >= 1.5 and e.data["speed"] > 0


def test_swipe_thresholds_scale_with_the_hand():
    # The same motion in palm sizes swipes for a small (far) hand and a big (near) hand alike.
    for scale in (0.4, 2.5):
        base = transform(gesture_pose("Open_Palm"), scale=scale)
        p = palm_px(base)
        dxs = list(np.linspace(0, 2.0 * p, 8))
        assert [e.name for e in _run(SwipeDetector(), _path(base, dxs, [0.0] * 8))] == ["swipe_right"]


def test_no_swipe_for_slow_drift_diagonal_or_jitter():
    base = gesture_pose("Open_Palm")
    p = palm_px(base)
    slow = list(np.linspace(0, 3 * p, 90))  # 3 palm sizes over 3 seconds
    assert _run(SwipeDetector(), _path(base, slow, [0.0] * 90)) == []
    diag = list(np.linspace(0, 2.5 * p, 10))
    assert _run(SwipeDetector(), _path(base, diag, diag)) == []
    rng = np.random.default_rng(0)
    jitter = rng.normal(0, 0.1 * p, (60, 2))
    assert _run(SwipeDetector(), _path(base, jitter[:, 0], jitter[:, 1])) == []


def test_swipe_back_and_forth_fires_once_per_stroke():
    base = gesture_pose("Open_Palm")
    p = palm_px(base)
    go = list(np.linspace(0, 2.5 * p, 8))
    back = list(np.linspace(2.5 * p, 0, 8))
    pause = [0.0] * 25
    dxs = go + back + pause + go
    events = _run(SwipeDetector(), _path(base, dxs, [0.0] * len(dxs)))
    # The quick return falls in the cool-down; the stroke after the pause counts again.
    assert [e.name for e in events] == ["swipe_right", "swipe_right"]


def _pinch_sequence(ts):
    apart = make_hand({"index": 0.5, "middle": 0.8, "ring": 0.9, "pinky": 0.9}, thumb="open")
    together = gesture_pose("Pinch")
    return [blend(apart, together, float(t)).hand() for t in ts]


def test_pinch_start_hold_release():
    ts = [0.0] * 5 + list(np.linspace(0, 1, 6)) + [1.0] * 30 + list(np.linspace(1, 0, 6)) + [0.0] * 5
    events = _run(PinchDetector(), _pinch_sequence(ts))
    names = [e.name for e in events]
    assert names == ["pinch_start", "pinch_hold", "pinch_release"]
    start, hold, release = events
    assert start.frame_index < hold.frame_index < release.frame_index
    assert hold.duration_ms >= 500
    assert release.duration_ms > hold.duration_ms
    assert start.data["distance"] < 0.25 and release.data["distance"] > 0.4


def test_pinch_hysteresis_ignores_jitter():
    det = PinchDetector()
    hands = _pinch_sequence([1.0] * 4)
    dist_closed = det.distance(hands[0])
    assert dist_closed < 0.1
    # Hover around the start threshold: one start, no flicker of releases.
    apart = make_hand({"index": 0.5, "middle": 0.8, "ring": 0.9, "pinky": 0.9}, thumb="open")
    together = gesture_pose("Pinch")
    d0 = det.distance(apart.hand())
    t_start = (d0 - 0.25) / (d0 - dist_closed)  # blend factor at the threshold (distance is ~linear)
    ts = [0.0] * 3 + [t_start + (0.08 if i % 2 else -0.04) for i in range(30)]
    events = _run(PinchDetector(hold_ms=None, min_frames=1), [blend(apart, together, t).hand() for t in ts])
    assert [e.name for e in events] == ["pinch_start"]


def test_pinch_released_when_the_track_is_lost():
    det = GestureEventDetector.only(pinch=PinchDetector(hold_ms=None))
    hands = _pinch_sequence([1.0] * 5)
    events = []
    for i, h in enumerate(hands):
        h.id = 7
        events += det.update_frame(i, i * 1000 / FPS, [h])
    assert [e.name for e in events] == ["pinch_start"]
    # The hand leaves the view; after max_missing_ms the pinch is released on that track.
    gone = []
    for i in range(5, 20):
        gone += det.update_frame(i, i * 1000 / FPS, [])
    assert [(e.name, e.track_id) for e in gone] == [("pinch_release", 7)]


def _annotated(names):
    hands = []
    for n in names:
        h = make_hand({}).hand()
        h.gesture, h.gesture_score = n, 0.9
        hands.append(h)
    return hands


def test_gesture_hold_fires_once_per_hold_and_tolerates_a_glitch():
    names = ["Thumb_Up"] * 20 + ["None"] + ["Thumb_Up"] * 25 + ["Victory"] * 40 + ["None"] * 40
    events = _run(HoldDetector(hold_ms=1000), _annotated(names))
    assert [(e.name, e.gesture) for e in events] == [
        ("gesture_hold", "Thumb_Up"),
        ("gesture_hold", "Victory"),
    ]
    assert events[0].duration_ms >= 1000 and events[0].frame_index == 30
    # Too short to count; and a filter on names.
    assert _run(HoldDetector(hold_ms=1000), _annotated(["Rock"] * 25)) == []
    only = HoldDetector(hold_ms=500, gestures=["Victory"])
    assert [e.gesture for e in _run(only, _annotated(names))] == ["Victory"]


def test_detector_runs_the_recognizer_and_keeps_tracks_apart():
    det = GestureEventDetector(GestureRecognizer(), hold=HoldDetector(hold_ms=300))
    fist = gesture_pose("Closed_Fist")
    palm = gesture_pose("Open_Palm")
    p = palm_px(palm)
    events = []
    for i in range(20):
        a = moved(fist, 0, 0).hand()
        b = moved(palm, 300 + i * 0.3 * p if i < 10 else 300 + 3 * p, 0).hand()  # swipes right
        a.id, b.id = 1, 2
        events += det.update_frame(i, i * 1000 / FPS, [a, b])
        assert a.gesture == "Closed_Fist" and b.gesture == "Open_Palm"
    by_track = {(e.track_id, e.name, e.gesture) for e in events}
    assert (1, "gesture_hold", "Closed_Fist") in by_track
    assert (2, "gesture_hold", "Open_Palm") in by_track
    assert (2, "swipe_right", None) in by_track
    assert not any(e.track_id == 1 and e.kind == "swipe" for e in events)
    det.reset()
    assert det.update_frame(0, 0.0, []) == []


def test_event_to_dict():
    e = GestureEvent("pinch_hold", 12, 400.0, 3, None, 512.5, {"distance": 0.123456})
    d = e.to_dict()
    assert d == {"event": "pinch_hold", "frame": 12, "timestamp_ms": 400.0, "track_id": 3,
                 "duration_ms": 512.5, "distance": 0.1235}
    assert json.loads(json.dumps(d)) == d and e.kind == "pinch"
    assert GestureEvent("gesture_hold", 1, 2.0, None, "OK").to_dict()["gesture"] == "OK"
    with pytest.raises(ValueError):
        PinchDetector(start=0.4, release=0.3)


def test_fist_then_thumb_up_video(data_dir):
    """MediaPipe's gesture test video: a fist (frames 23-52), then a thumb up (from frame 53 to the end),
    tracked in video mode like ``handtrace track`` does. (The clip has no victory phase.)"""
    cv2 = pytest.importorskip("cv2")
    path = data_dir / "mediapipe-samples" / "gesture_test_video_victory_thumbup.mp4"
    if not path.is_file():
        pytest.skip("gesture test video not found")
    from handtrace.tracker import HandTracker

    rec = GestureRecognizer()
    det = GestureEventDetector(rec)
    names, events = [], []
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    with HandTracker(static_image_mode=False, max_num_hands=2) as tracker:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            hands = tracker.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), timestamp_ms=i * 1000.0 / fps)
            events += det.update_frame(i, i * 1000.0 / fps, hands)
            names.append(hands[0].gesture if hands else None)
            i += 1
    cap.release()
    assert len(names) >= 190
    fist = [n for n in names[23:53] if n is not None]
    thumb = [n for n in names[55:] if n is not None]
    assert len(fist) >= 25 and len(thumb) >= 120
    assert np.mean([n == "Closed_Fist" for n in fist]) >= 0.9
    assert np.mean([n == "Thumb_Up" for n in thumb]) >= 0.9
    holds = [e.gesture for e in events if e.name == "gesture_hold"]
    assert "Closed_Fist" in holds and "Thumb_Up" in holds
    assert holds.index("Closed_Fist") < holds.index("Thumb_Up")
    # Nothing else is held for a second in this clip.
    assert set(holds) <= {"Closed_Fist", "Thumb_Up"}
