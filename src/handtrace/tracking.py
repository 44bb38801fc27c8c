"""Video tracking state: hand tracks, motion prediction, stable ids, handedness votes, detector scheduling.

Pure bookkeeping with no model calls: :class:`handtrace.tracker.HandTracker` feeds it regions and landmark
results each frame. Regions are rows ``cx, cy, width, height, rotation`` in pixels (see :mod:`handtrace.roi`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handtrace.detection import box_iou_matrix
from handtrace.roi import normalize_radians

#: Extrapolated rotation per frame is capped at 15 degrees (450 deg/s at 30 fps; the landmark model copes with
#: a crop some 20 degrees off). A motion-blurred hand gives wild angles for a frame or two, and extrapolating
#: them framed the next crops so badly that a thumb-up was read as a pointing finger for the rest of a clip
#: (mediapipe-samples' gesture video).
MAX_ROTATION_STEP = np.radians(15.0)
#: Log-odds are clipped so one very confident frame can't outvote a whole track.
_MAX_LOGIT = 4.0
#: A track's handedness label changes only when the vote has turned this far (mean log-odds) the other way
#: over at least ``_MIN_VOTES_TO_FLIP`` frames: a real change of hand within a track is a tracking error,
#: a few unsure frames are not.
_FLIP_MARGIN = 1.0
_MIN_VOTES_TO_FLIP = 5
#: A new hand whose handedness output is this far from 0.5 only takes over a lost track of its side.
_REVIVE_HANDEDNESS_CONFIDENCE = 0.3


@dataclass
class TrackerStats:
    """What the tracker ran: frames processed, palm detector runs, landmark model calls and crops."""

    frames: int = 0
    detector_runs: int = 0
    landmark_runs: int = 0
    landmark_crops: int = 0
    tracks_started: int = 0
    background_detections: int = 0  # of detector_runs, those run in the background (handtrace.background)

    def to_dict(self) -> dict[str, int]:
        return dict(vars(self))

    def __str__(self) -> str:
        per100 = 100 * self.detector_runs / self.frames if self.frames else 0.0
        return (f"{self.frames} frames, {self.detector_runs} detector runs ({per100:.1f} per 100 frames), "
                f"{self.landmark_runs} landmark runs ({self.landmark_crops} crops), "
                f"{self.tracks_started} tracks")


def predict_regions(last: np.ndarray, velocity: np.ndarray, steps: float | np.ndarray = 1.0) -> np.ndarray:
    """Constant-velocity prediction of regions ``steps`` frames ahead.

    Centre moves linearly, size grows geometrically (velocity holds log-size change), angle turns linearly.

    Args:
        last: (K, 5) regions. velocity: (K, 5) per-frame ``dcx, dcy, dlog_w, dlog_h, drotation``.
        steps: scalar or (K,) frames ahead.

    Returns:
        (K, 5) predicted regions.
    """
    last = np.asarray(last, np.float64)
    velocity = np.asarray(velocity, np.float64)
    steps = np.asarray(steps, np.float64).reshape(-1, 1) if np.ndim(steps) else float(steps)
    out = last.copy()
    out[:, :2] += velocity[:, :2] * steps
    out[:, 2:4] *= np.exp(velocity[:, 2:4] * steps)
    out[:, 4] = normalize_radians(last[:, 4] + (velocity[:, 4:5] * steps)[:, 0])
    return out


def region_velocity(previous: np.ndarray, current: np.ndarray, frames: float = 1.0) -> np.ndarray:
    """Per-frame change between two (K, 5) regions ``frames`` apart, in :func:`predict_regions`' terms."""
    previous = np.asarray(previous, np.float64)
    current = np.asarray(current, np.float64)
    v = np.empty_like(current)
    v[:, :2] = current[:, :2] - previous[:, :2]
    v[:, 2:4] = np.log(np.maximum(current[:, 2:4], 1e-6) / np.maximum(previous[:, 2:4], 1e-6))
    v[:, 4] = normalize_radians(current[:, 4] - previous[:, 4])
    return v / frames


def region_bounds(regions: np.ndarray) -> np.ndarray:
    """Axis-aligned bounds (K, 4) ``x_min, y_min, x_max, y_max`` of rotated (K, 5) regions."""
    regions = np.asarray(regions, np.float64).reshape(-1, 5)
    cx, cy, w, h, r = regions.T
    c, s = np.abs(np.cos(r)), np.abs(np.sin(r))
    hw, hh = (w * c + h * s) / 2, (w * s + h * c) / 2
    return np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1)


def overlapping(regions: np.ndarray, others: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(K,) bool: which of the (K, 5) regions overlap any of the (T, 5) ``others`` with IoU above
    ``threshold`` (of their axis-aligned bounds; MediaPipe's association rule, threshold 0.5)."""
    regions = np.asarray(regions, np.float64).reshape(-1, 5)
    others = np.asarray(others, np.float64).reshape(-1, 5)
    if not len(regions) or not len(others):
        return np.zeros(len(regions), bool)
    return box_iou_matrix(region_bounds(regions), region_bounds(others)).max(axis=1) > threshold


@dataclass
class Track:
    """One tracked hand.

    ``region`` is the tracking region from the latest landmarks; ``velocity`` its smoothed per-frame change.
    """

    id: int
    region: np.ndarray
    last_frame: int
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(5))
    handedness_logit: float = 0.0
    handedness_votes: int = 0
    is_right: bool | None = None
    frames_tracked: int = 1
    smoother: Any = None

    def predicted_region(self, frame: int, damping: float = 1.0) -> np.ndarray:
        """The region expected at ``frame`` (5,), extrapolating the motion (rotation at most
        ``MAX_ROTATION_STEP`` per frame)."""
        steps = (frame - self.last_frame) * damping
        velocity = self.velocity.copy()
        velocity[4] = min(max(velocity[4], -MAX_ROTATION_STEP), MAX_ROTATION_STEP)  # np.clip costs more
        return predict_regions(self.region[None], velocity[None], steps)[0]

    def vote_handedness(self, right_probability: float, weight: float = 1.0) -> None:
        """Add one frame's handedness evidence (probability of "Right" as the model reports it)."""
        p = min(max(float(right_probability), 1e-6), 1 - 1e-6)
        logit = min(max(float(np.log(p / (1 - p))), -_MAX_LOGIT), _MAX_LOGIT)
        self.handedness_logit += weight * logit
        self.handedness_votes += 1
        mean = self.handedness_logit / self.handedness_votes
        if self.is_right is None:
            self.is_right = mean > 0
        elif self.handedness_votes >= _MIN_VOTES_TO_FLIP and (mean < -_FLIP_MARGIN if self.is_right
                                                              else mean > _FLIP_MARGIN):
            self.is_right = not self.is_right

    @property
    def right_probability(self) -> float:
        """Probability of "Right" (model convention) from the vote over the whole track.

        Always on the side of the track's label (:attr:`is_right`), which changes only with hysteresis.
        """
        if not self.handedness_votes:
            return 0.5
        p = float(1 / (1 + np.exp(-self.handedness_logit / self.handedness_votes)))
        return max(p, 1 - p) if self.is_right else min(p, 1 - p)


class TrackSet:
    """The live tracks of one video, the recently lost ones (for id re-use), and the detector schedule.

    Args:
        max_num_hands: hands tracked at most.
        detection_interval: while some but fewer than ``max_num_hands`` hands are tracked, run the palm
            detector on one frame in this many; a hand entering the view is picked up within this many frames
            of becoming detectable.
        idle_detection_interval: the same when no hand is tracked (1: every frame).
        max_lost_frames: a lost track's id is kept this many frames, and given back to a new hand that
            appears where the lost one was expected.
        velocity_smoothing: weight of the newest motion in the velocity estimate (1: last step only).
    """

    def __init__(self, max_num_hands: int = 2, detection_interval: int = 5, idle_detection_interval: int = 1,
                 max_lost_frames: int = 15, velocity_smoothing: float = 0.7) -> None:
        if detection_interval < 1 or idle_detection_interval < 1:
            raise ValueError("detection intervals must be at least 1 frame")
        self.max_num_hands = max_num_hands
        self.detection_interval = detection_interval
        self.idle_detection_interval = idle_detection_interval
        self.max_lost_frames = max_lost_frames
        self.velocity_smoothing = velocity_smoothing
        self.tracks: list[Track] = []
        self.lost: list[Track] = []
        self.next_id = 0
        self.last_detection_frame = -(10**9)
        self._recent_detections: deque[int] = deque()

    def reset(self) -> None:
        self.tracks.clear()
        self.lost.clear()
        self.next_id = 0  # a new video numbers its hands from 0, as a fresh tracker does
        self.last_detection_frame = -(10**9)
        self._recent_detections.clear()

    # -- scheduling ---------------------------------------------------------------------------------------
    def should_detect(self, frame: int) -> bool:
        """Whether the palm detector runs on ``frame`` (before the landmark pass) to look for new hands.

        With hands tracked, detections also run when a hand is lost (:meth:`mark_detection` records them);
        those find new hands too, so scheduled runs are skipped while they have used up the budget of two
        runs per ``2 * detection_interval`` frames.
        """
        if len(self.tracks) >= self.max_num_hands:
            return False
        if not self.tracks:
            return frame - self.last_detection_frame >= self.idle_detection_interval
        if frame - self.last_detection_frame < self.detection_interval:
            return False
        window = 2 * self.detection_interval
        while self._recent_detections and self._recent_detections[0] <= frame - window:
            self._recent_detections.popleft()
        return len(self._recent_detections) < 2

    def mark_detection(self, frame: int) -> None:
        """The palm detector ran on ``frame`` (scheduled or because a hand was lost)."""
        self.last_detection_frame = frame
        if self.tracks or self.lost:  # runs while searching for a first hand don't use the tracking budget
            self._recent_detections.append(frame)

    # -- regions ------------------------------------------------------------------------------------------
    def predicted_regions(self, frame: int) -> np.ndarray:
        """(T, 5) regions to crop on ``frame`` for the live tracks, with their motion extrapolated."""
        if not self.tracks:
            return np.zeros((0, 5))
        return np.stack([t.predicted_region(frame) for t in self.tracks])

    # -- updates ------------------------------------------------------------------------------------------
    def update(self, track: Track, region: np.ndarray, frame: int) -> None:
        """A live track was found again on ``frame`` with tracking region ``region`` (5,)."""
        gap = max(frame - track.last_frame, 1)
        step = region_velocity(track.region[None], np.asarray(region)[None], gap)[0]
        a = self.velocity_smoothing if track.frames_tracked > 1 else 1.0
        track.velocity = a * step + (1 - a) * track.velocity
        track.region = np.asarray(region, np.float64)
        track.last_frame = frame
        track.frames_tracked += 1

    def drop(self, track: Track) -> None:
        """A live track was lost: keep it for id re-use for ``max_lost_frames``."""
        self.tracks.remove(track)
        if self.max_lost_frames > 0:
            self.lost.append(track)

    def start(self, region: np.ndarray, frame: int, right_probability: float = 0.5) -> Track:
        """A new hand: give back the id of a recently lost track it continues, else a fresh id.

        ``right_probability``: the new hand's handedness output; a confident one must agree with the lost
        track's label, so two hands that vanish together don't swap ids.
        """
        region = np.asarray(region, np.float64)
        self.lost = [t for t in self.lost if frame - t.last_frame <= self.max_lost_frames]
        revived = self._match_lost(region, frame, right_probability)
        if revived is not None:
            self.lost.remove(revived)
            gap = max(frame - revived.last_frame, 1)
            revived.velocity = region_velocity(revived.region[None], region[None], gap)[0]
            revived.region, revived.last_frame = region, frame
            revived.frames_tracked += 1
            if revived.smoother is not None:
                revived.smoother.reset()
            self.tracks.append(revived)
            return revived
        track = Track(id=self.next_id, region=region, last_frame=frame)
        self.next_id += 1
        self.tracks.append(track)
        return track

    def _match_lost(self, region: np.ndarray, frame: int, right_probability: float = 0.5) -> Track | None:
        """The lost track whose expected region is closest to ``region``, if it is where and as expected.

        Within one region size of where the lost hand was heading, at most twice or half its size, and not
        confidently the other hand. (Measured on the shared full-body video, where small hands are often
        lost for a few frames: ids fell from 26 to 9 against a stricter half-size rule.)
        """
        confident = abs(right_probability - 0.5) > _REVIVE_HANDEDNESS_CONFIDENCE
        best, best_distance = None, np.inf
        for t in self.lost:
            if confident and t.is_right is not None and t.is_right != (right_probability > 0.5):
                continue
            # Damped: a lost hand more likely slowed down than kept going.
            expected = t.predicted_region(frame, damping=0.5)
            size = max(expected[2], 1e-6)
            distance = np.hypot(*(region[:2] - expected[:2])) / size
            size_ratio = region[2] / size
            if distance < 1.0 and 0.5 < size_ratio < 2.0 and distance < best_distance:
                best, best_distance = t, distance
        return best
