"""Gestures in motion over a tracked hand: swipes, pinch start/hold/release, and gestures held for a time.

Feed one hand per call with its frame index, timestamp and track id (video mode gives each hand an
``id``); get back :class:`GestureEvent` s::

    events = GestureEventDetector(recognizer=GestureRecognizer())
    for frame_index, (timestamp_ms, hands) in enumerate(video):
        for event in events.update_frame(frame_index, timestamp_ms, hands):
            print(event.to_dict())

Positions and distances are measured in palm sizes of the hand itself (not pixels), so thresholds hold
for near and far hands. Directions are image directions: ``swipe_left`` moves towards the image's left
edge (for a mirrored selfie view that is the user's left).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from handtrace.fingers import finger_features

if TYPE_CHECKING:
    from handtrace.gestures import GestureRecognizer
    from handtrace.results import Hand

#: Landmarks whose mean is the palm centre (wrist and the four finger bases: they move with the hand,
#: not with the fingers).
_PALM = [0, 5, 9, 13, 17]


@dataclass
class GestureEvent:
    """One event on one track.

    Attributes:
        name: ``swipe_left`` / ``swipe_right`` / ``swipe_up`` / ``swipe_down``, ``pinch_start`` /
            ``pinch_hold`` / ``pinch_release``, or ``gesture_hold``.
        frame_index, timestamp_ms: the frame that completed the event.
        track_id: the hand's track id (``None`` when the caller gave none).
        gesture: for ``gesture_hold``, the gesture held.
        duration_ms: how long the motion or hold lasted when the event fired.
        data: extra numbers (e.g. a swipe's distance in palm sizes and speed in palm sizes per second).
    """

    name: str
    frame_index: int
    timestamp_ms: float
    track_id: int | None = None
    gesture: str | None = None
    duration_ms: float = 0.0
    data: dict[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``swipe``, ``pinch`` or ``gesture``."""
        return self.name.split("_", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d: dict[str, Any] = {
            "event": self.name,
            "frame": int(self.frame_index),
            "timestamp_ms": round(float(self.timestamp_ms), 3),
            "track_id": self.track_id,
            "duration_ms": round(float(self.duration_ms), 3),
        }
        if self.gesture is not None:
            d["gesture"] = self.gesture
        if self.data:
            d.update({k: round(float(v), 4) for k, v in self.data.items()})
        return d


def palm_centre_and_size(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """Palm centre (x, y pixels) and palm size (mean wrist-to-finger-base distance, pixels, 2D)."""
    xy = np.asarray(landmarks, np.float64)[:, :2]
    centre = xy[_PALM].mean(0)
    size = float(np.linalg.norm(xy[[5, 9, 13, 17]] - xy[0], axis=-1).mean())
    return centre, size


class _PerTrackState:
    """A detector's state per track id, forgotten by :meth:`reset`."""

    def __init__(self) -> None:
        self._state: dict[Any, dict[str, Any]] = {}

    def reset(self, track_id: Any = None) -> None:
        """Forget one track (or all)."""
        if track_id is None:
            self._state.clear()
        else:
            self._state.pop(track_id, None)


class SwipeDetector:
    """A swipe: the palm centre travels ``min_distance`` palm sizes within ``window_ms``, mostly along one
    axis (``axis_ratio`` times more than across it); one event per swipe, then ``cooldown_ms`` of quiet.

    Args:
        min_distance: travel in palm sizes (about 1.5-2 is a deliberate sweep; 1 palm size a flick).
        window_ms: the longest a swipe may take.
        axis_ratio: main-axis travel over cross-axis travel.
        cooldown_ms: quiet time after a swipe (the hand coming back must not swipe the other way).
    """

    def __init__(
        self, min_distance: float = 1.5, window_ms: float = 700.0, axis_ratio: float = 2.0,
        cooldown_ms: float = 500.0,
    ) -> None:
        self.min_distance = float(min_distance)
        self.window_ms = float(window_ms)
        self.axis_ratio = float(axis_ratio)
        self.cooldown_ms = float(cooldown_ms)
        self._history: dict[Any, deque[tuple[float, float, float, float]]] = {}
        self._quiet_until: dict[Any, float] = {}

    def reset(self, track_id: Any = None) -> None:
        """Forget one track (or all)."""
        if track_id is None:
            self._history.clear()
            self._quiet_until.clear()
        else:
            self._history.pop(track_id, None)
            self._quiet_until.pop(track_id, None)

    def update(self, frame_index: int, timestamp_ms: float, track_id: Any, hand: Hand) -> list[GestureEvent]:
        centre, size = palm_centre_and_size(hand.landmarks)
        hist = self._history.setdefault(track_id, deque())
        if timestamp_ms < self._quiet_until.get(track_id, -np.inf):
            # Cooling down: keep only the latest sample, so the hand coming back after a swipe is
            # measured from where it is when the quiet time ends, not from where the swipe ended.
            hist.clear()
        hist.append((float(timestamp_ms), float(centre[0]), float(centre[1]), size))
        while hist and timestamp_ms - hist[0][0] > self.window_ms:
            hist.popleft()
        if timestamp_ms < self._quiet_until.get(track_id, -np.inf) or len(hist) < 2:
            return []
        arr = np.asarray(hist)
        scale = max(float(np.median(arr[:, 3])), 1e-6)
        # The largest displacement from any earlier sample in the window to now: a swipe that started
        # after a pause still counts from where it started.
        disp = (arr[-1, 1:3] - arr[:-1, 1:3]) / scale
        dist = np.linalg.norm(disp, axis=1)
        i = int(np.argmax(dist))
        dx, dy = disp[i]
        main, cross = (abs(dx), abs(dy)) if abs(dx) >= abs(dy) else (abs(dy), abs(dx))
        if main < self.min_distance or main < self.axis_ratio * cross:
            return []
        name = ("swipe_right" if dx > 0 else "swipe_left") if abs(dx) >= abs(dy) else (
            "swipe_down" if dy > 0 else "swipe_up")
        duration = float(timestamp_ms - arr[i, 0])
        hist.clear()
        self._quiet_until[track_id] = timestamp_ms + self.cooldown_ms
        speed = main / max(duration / 1000.0, 1e-6)
        return [GestureEvent(name, frame_index, timestamp_ms, track_id, None, duration,
                             {"distance": float(main), "speed": float(speed)})]


class PinchDetector(_PerTrackState):
    """Pinch start / hold / release from the thumb-to-index tip distance (palm sizes), with hysteresis.

    Args:
        start: distance under which a pinch starts (default 0.25).
        release: distance over which it ends (default 0.4; above ``start`` so jitter can't flicker it).
        hold_ms: a ``pinch_hold`` fires once the pinch has lasted this long (``None``: never).
        min_frames: frames the distance must stay under ``start`` before ``pinch_start`` (debounce).
    """

    def __init__(
        self, start: float = 0.25, release: float = 0.4, hold_ms: float | None = 500.0, min_frames: int = 2
    ) -> None:
        if release <= start:
            raise ValueError("release must be above start")
        self.start, self.release = float(start), float(release)
        self.hold_ms = hold_ms
        self.min_frames = max(1, int(min_frames))
        super().__init__()

    @staticmethod
    def distance(hand: Hand) -> float:
        """Thumb-to-index tip distance in palm sizes."""
        f = finger_features(hand.landmarks, hand.world_landmarks, hand.handedness)
        return float(f.tip_distance[0, 1])

    def update(self, frame_index: int, timestamp_ms: float, track_id: Any, hand: Hand) -> list[GestureEvent]:
        d = self.distance(hand)
        st = self._state.setdefault(track_id, {"pinched": False, "below": 0, "since": 0.0, "held": False})
        events: list[GestureEvent] = []
        if not st["pinched"]:
            st["below"] = st["below"] + 1 if d < self.start else 0
            if st["below"] >= self.min_frames:
                st.update(pinched=True, since=float(timestamp_ms), held=False)
                events.append(
                    GestureEvent("pinch_start", frame_index, timestamp_ms, track_id, data={"distance": d})
                )
        elif d > self.release:
            events.append(self._release(frame_index, timestamp_ms, track_id, d))
        elif self.hold_ms is not None and not st["held"] and timestamp_ms - st["since"] >= self.hold_ms:
            st["held"] = True
            events.append(GestureEvent("pinch_hold", frame_index, timestamp_ms, track_id, None,
                                       timestamp_ms - st["since"], {"distance": d}))
        return events

    def _release(self, frame_index: int, timestamp_ms: float, track_id: Any, d: float | None) -> GestureEvent:
        st = self._state[track_id]
        duration = float(timestamp_ms - st["since"])
        st.update(pinched=False, below=0, held=False)
        data = {} if d is None else {"distance": d}
        return GestureEvent("pinch_release", frame_index, timestamp_ms, track_id, None, duration, data)

    def end(self, frame_index: int, timestamp_ms: float, track_id: Any) -> list[GestureEvent]:
        """The track was lost: release a pinch in progress."""
        st = self._state.get(track_id)
        events = [self._release(frame_index, timestamp_ms, track_id, None)] if st and st["pinched"] else []
        self._state.pop(track_id, None)
        return events


class HoldDetector(_PerTrackState):
    """``gesture_hold`` once a hand keeps the same gesture for ``hold_ms`` (one event per hold).

    Args:
        hold_ms: how long the gesture must last.
        gestures: only these gesture names (default: any except ``"None"``).
        max_gap_ms: a different answer lasting at most this long does not break the hold (one or two
            misread frames in the middle of a steady pose).
    """

    def __init__(
        self, hold_ms: float = 1000.0, gestures: Sequence[str] | None = None, max_gap_ms: float = 150.0
    ) -> None:
        self.hold_ms = float(hold_ms)
        self.gestures = None if gestures is None else set(gestures)
        self.max_gap_ms = float(max_gap_ms)
        super().__init__()

    def update(self, frame_index: int, timestamp_ms: float, track_id: Any, hand: Hand) -> list[GestureEvent]:
        g = hand.gesture
        st = self._state.get(track_id)
        t = float(timestamp_ms)
        if st is None or (g != st["gesture"] and t - st["last"] > self.max_gap_ms):
            # A new gesture takes over once the old one has been absent for longer than the gap allows.
            self._state[track_id] = st = {"gesture": g, "since": t, "last": t, "fired": False}
        elif g == st["gesture"]:
            st["last"] = t
        name = st["gesture"]
        wanted = name not in (None, "None") and (self.gestures is None or name in self.gestures)
        if wanted and not st["fired"] and st["last"] - st["since"] >= self.hold_ms:
            st["fired"] = True
            held = st["last"] - st["since"]
            return [GestureEvent("gesture_hold", frame_index, timestamp_ms, track_id, name, held)]
        return []


class GestureEventDetector:
    """Runs the swipe, pinch and hold detectors over the hands of each frame.

    Args:
        recognizer: names the gesture of hands that have none yet (``hand.gesture is None``); without
            one, hold events need hands annotated beforehand.
        swipe, pinch, hold: the detectors (``None`` turns one off).
        max_missing_ms: a track unseen for longer than this is ended (a pinch in progress is released).
    """

    def __init__(
        self,
        recognizer: GestureRecognizer | None = None,
        swipe: SwipeDetector | None = None,
        pinch: PinchDetector | None = None,
        hold: HoldDetector | None = None,
        *,
        max_missing_ms: float = 300.0,
    ) -> None:
        self.recognizer = recognizer
        self.swipe = SwipeDetector() if swipe is None else swipe
        self.pinch = PinchDetector() if pinch is None else pinch
        self.hold = HoldDetector() if hold is None else hold
        self.max_missing_ms = float(max_missing_ms)
        self._last_seen: dict[Any, float] = {}

    @classmethod
    def only(
        cls, *, swipe: SwipeDetector | None = None, pinch: PinchDetector | None = None,
        hold: HoldDetector | None = None, recognizer: GestureRecognizer | None = None,
    ) -> GestureEventDetector:
        """A detector running just the given detectors (the others off)."""
        det = cls(recognizer)
        det.swipe, det.pinch, det.hold = swipe, pinch, hold  # type: ignore[assignment]
        return det

    def _detectors(self) -> list[Any]:
        return [d for d in (self.swipe, self.pinch, self.hold) if d is not None]

    def reset(self) -> None:
        """Forget every track."""
        for d in self._detectors():
            d.reset()
        self._last_seen.clear()

    def update(self, frame_index: int, timestamp_ms: float, track_id: Any, hand: Hand) -> list[GestureEvent]:
        """Events from one tracked hand in one frame."""
        if hand.gesture is None and self.recognizer is not None:
            self.recognizer.annotate([hand])
        self._last_seen[track_id] = float(timestamp_ms)
        events: list[GestureEvent] = []
        for d in self._detectors():
            events += d.update(frame_index, timestamp_ms, track_id, hand)
        return events

    def end_track(self, frame_index: int, timestamp_ms: float, track_id: Any) -> list[GestureEvent]:
        """End a track (lost or left the view): releases a pinch in progress, forgets its history."""
        events = self.pinch.end(frame_index, timestamp_ms, track_id) if self.pinch is not None else []
        for d in (self.swipe, self.hold):
            if d is not None:
                d.reset(track_id)
        self._last_seen.pop(track_id, None)
        return events

    def update_frame(
        self, frame_index: int, timestamp_ms: float, hands: Sequence[Hand]
    ) -> list[GestureEvent]:
        """Events from all hands of one frame; a hand's track is its ``id`` (its index when ``id`` is None).

        Tracks not seen for ``max_missing_ms`` are ended first.
        """
        if self.recognizer is not None:
            todo = [h for h in hands if h.gesture is None]
            if todo:
                self.recognizer.annotate(todo)
        events: list[GestureEvent] = []
        seen = {h.id if h.id is not None else i for i, h in enumerate(hands)}
        for tid, last in list(self._last_seen.items()):
            if tid not in seen and timestamp_ms - last > self.max_missing_ms:
                events += self.end_track(frame_index, timestamp_ms, tid)
        for i, hand in enumerate(hands):
            events += self.update(frame_index, timestamp_ms, hand.id if hand.id is not None else i, hand)
        return events
