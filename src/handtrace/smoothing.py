"""Landmark smoothing for video: a vectorised, scale-aware One Euro filter (Casiez et al., CHI 2012).

The One Euro filter is a first-order low-pass filter whose cutoff frequency rises with the signal's speed:
at rest a low cutoff removes jitter, in motion a high cutoff removes lag. Per sample, with ``dt`` the time
since the previous sample::

    alpha(fc) = 1 / (1 + 1 / (2 pi fc dt))               # exponential smoothing factor for cutoff fc (Hz)
    dx        = (x - x_prev) / dt / scale                 # speed, in units of ``scale`` per second
    dx_hat    = dx_hat + alpha(d_cutoff) * (dx - dx_hat)  # smoothed speed
    fc        = min_cutoff + beta * |dx_hat|
    x_hat     = x_hat + alpha(fc) * (x - x_hat)

``x_prev`` is the previous *raw* sample (as in the authors' C++ reference and MediaPipe). The classic filter
treats every element independently; for landmarks we use the *speed of each point* instead (``|dx_hat|`` is
the norm of the point's smoothed velocity over x, y for image landmarks, x, y, z for world landmarks), so a
hand moving diagonally is smoothed like one moving sideways, and one noisy axis does not set the cutoff alone.

**Scale awareness.** A low-pass filter with a fixed cutoff is linear, so it already treats a hand twice as
big the same way (twice the input gives twice the output). The only scale-dependent term is ``beta *
|speed|``: we measure speed in hand sizes per second (``scale`` = hand size), so a small far hand and a big
near hand moving alike get the same cutoff, and ``beta`` means the same thing at every distance from the
camera. Hand size here is the palm size of :func:`hand_scale` (about 9 cm on an adult hand).

**Lag bound.** On a ramp ``x = v t`` (constant velocity ``v`` in px/s, hand size ``S`` px) the raw speed is
exactly ``v / S``, so ``dx_hat -> v / S`` and ``fc -> fc(v) = min_cutoff + beta |v| / S`` (``|v|``: the
element's speed, or the point's speed for point-wise filtering; the lag is then along ``v``). For exponential
smoothing with a constant factor ``alpha`` the steady-state error ``e = x - x_hat`` solves ``e = (1 - alpha)
(e + v dt)``, i.e. ``e = v dt (1 - alpha) / alpha = v / (2 pi fc)`` -- exactly, for any ``dt``. Hence the
steady-state lag is::

    lag = v / (2 pi (min_cutoff + beta |v| / S))  <  S / (2 pi beta)

a time lag of ``1 / (2 pi fc(v))`` seconds that shrinks as the hand moves faster, and a distance lag that
never exceeds ``1 / (2 pi beta)`` hand sizes however fast the hand moves.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from handtrace.results import Hand

__all__ = [
    "IMAGE_DEFAULTS",
    "WORLD_DEFAULTS",
    "LandmarkSmoother",
    "OneEuroFilter",
    "OneEuroParams",
    "hand_scale",
    "palm_size",
    "smoothing_factor",
    "steady_state_lag",
]

#: Landmarks spanning the palm triangle used for hand size: wrist, index MCP, pinky MCP.
_PALM = (0, 5, 17)
#: The triangle's sides as (ends, starts) landmark indices: each corner and the corner before it.
_PALM_SIDES = (np.array(_PALM), np.roll(np.array(_PALM), 1))


@dataclass(frozen=True)
class OneEuroParams:
    """One Euro filter settings.

    Attributes:
        min_cutoff: cutoff frequency at rest, Hz (lower: less jitter, more lag when slow).
        beta: cutoff increase per unit of speed, Hz per (hand size / s) (higher: less lag when fast).
        d_cutoff: cutoff of the speed estimate's own low-pass filter, Hz.
    """

    min_cutoff: float
    beta: float
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        if not (self.min_cutoff > 0 and math.isfinite(self.min_cutoff)):
            raise ValueError(f"min_cutoff must be a positive number of Hz, got {self.min_cutoff!r}")
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta must be >= 0, got {self.beta!r}")
        if not (self.d_cutoff > 0 and math.isfinite(self.d_cutoff)):
            raise ValueError(f"d_cutoff must be a positive number of Hz, got {self.d_cutoff!r}")


# Defaults measured by ``benchmarks/smoothing_defaults.py`` (collect + sweep): 42 clips of real hand photos
# moved over a real background at 0-100 px per frame at 30 fps (6 photos x 7 speeds x 45 frames, pixel noise
# std 3), landmarks from the still-image pipeline on every frame. Raw jitter of a still hand: 0.40% of hand
# size (largest side of the keypoint box). Rule: the largest jitter reduction at rest among settings that
# add at most 0.5% of hand size to the mean landmark error at every speed (3, 10, 20, 40, 60, 100 px per
# frame); among those within 10% of the best, the highest min_cutoff (less lag on slow steady motion).
# Image: jitter / 2.04, error added +0.07% (3 px/frame) to +0.45% (100 px/frame); a steady-state lag below
# 1 / (2 pi 10) = 1.6% of palm size at any speed. On the ASL video (still pipeline per frame) jitter 1.19% ->
# 0.97% of hand size, frames within 22 px of MediaPipe's reference 94.2% -> 94.5%. (MediaPipe's own
# 0.05 / 80 / 1 measured with our speed: jitter / 1.49.)
# World (synthetic turning at 90-720 degrees/s plus the measured noise, 1.27% of palm size): jitter / 1.56,
# error added at most +0.96% of palm size.

#: Defaults for image landmarks (pixels; speed in palm sizes per second from x, y).
IMAGE_DEFAULTS = OneEuroParams(min_cutoff=0.5, beta=10.0, d_cutoff=4.0)
#: Defaults for world landmarks (metres; hand-centred, so they move only with articulation and rotation).
WORLD_DEFAULTS = OneEuroParams(min_cutoff=2.0, beta=10.0, d_cutoff=4.0)


def smoothing_factor(cutoff: float | np.ndarray, dt: float) -> float | np.ndarray:
    """Smoothing factor ``alpha`` of a first-order low-pass filter: ``cutoff`` in Hz, ``dt`` in s."""
    return 1.0 / (1.0 + 1.0 / (2.0 * np.pi * cutoff * dt))


def steady_state_lag(params: OneEuroParams, velocity: float, scale: float = 1.0) -> float:
    """Steady-state lag (same units as ``velocity`` x seconds) of the filter on a constant-velocity ramp.

    ``velocity / (2 pi (min_cutoff + beta |velocity| / scale))``; see the module docstring for the derivation.
    It is below ``scale / (2 pi beta)`` for every velocity.
    """
    cutoff = params.min_cutoff + params.beta * abs(velocity) / scale
    return float(velocity / (2.0 * np.pi * cutoff))


def hand_scale(landmarks: np.ndarray, minimum: float = 1e-6) -> float:
    """Hand size: the longest side of the wrist / index-MCP / pinky-MCP triangle.

    The palm is rigid, so this does not change as fingers bend (unlike the landmark box), does not depend on
    the hand's in-plane rotation, and stays large when the hand turns out of plane (one of the three sides
    stays roughly face-on). The same measure decides duplicate hands in :mod:`handtrace.tracker`.

    Args:
        landmarks: (21, D): distances use all D axes, so pass ``landmarks[:, :2]`` of image landmarks
            (pixels; their z is noisier) and world landmarks as they are (metres).
        minimum: lower bound on the result (avoids dividing by zero for a degenerate hand).

    Returns:
        The size, in the landmarks' units.
    """
    size = float(palm_size(landmarks))
    return size if size > minimum else minimum


def palm_size(landmarks: np.ndarray) -> np.ndarray:
    """:func:`hand_scale` without the lower bound, for any number of hands: (..., 21, D) -> (...)."""
    pts = np.asarray(landmarks, np.float64)
    sides = pts[..., _PALM_SIDES[0], :] - pts[..., _PALM_SIDES[1], :]  # each corner minus the one before it
    return np.sqrt((sides * sides).sum(axis=-1)).max(axis=-1)


class OneEuroFilter:
    """One Euro filter over arrays of a fixed shape (e.g. a (21, 3) landmark set).

    Args:
        params: cutoffs and beta (see :class:`OneEuroParams`).
        vector_dims: ``None``: every element has its own speed (the classic filter). ``k``: the array holds
            points along its last axis and each point's speed is the norm of the first ``k`` components of its
            velocity, shared by all its components (``2`` for image landmarks: x, y set the speed and z
            follows; ``3`` for world landmarks).

    Call with successive samples and their timestamps in seconds. The first sample (and the first after
    :meth:`reset`) passes through unchanged. A timestamp that does not increase, or a sample of another shape,
    starts the filter again (a seek, a looped video, a new hand).
    """

    def __init__(self, params: OneEuroParams, vector_dims: int | None = None) -> None:
        if vector_dims is not None and vector_dims < 1:
            raise ValueError(f"vector_dims must be None or >= 1, got {vector_dims!r}")
        self.params = params
        self.vector_dims = vector_dims
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next sample passes through unchanged."""
        self._t: float | None = None
        self._x_raw: np.ndarray | None = None
        self._x_hat: np.ndarray | None = None
        self._dx_hat: np.ndarray | None = None

    @property
    def initialized(self) -> bool:
        """Whether a sample has been seen since the last reset."""
        return self._x_hat is not None

    def __call__(self, x: np.ndarray, t: float, scale: float | np.ndarray = 1.0) -> np.ndarray:
        """Filter one sample.

        Args:
            x: array of any shape (the same shape on every call), e.g. (21, 3).
            t: timestamp in seconds.
            scale: size that speed is measured in (hand size, in the units of ``x``); a scalar or an array
                broadcastable to ``x`` (e.g. (K, 1, 1) for K hands stacked as (K, 21, 3)).

        Returns:
            The filtered sample, float64, same shape as ``x``.
        """
        x = np.asarray(x, np.float64)
        t = float(t)
        if self._x_hat is None or self._t is None or x.shape != self._x_hat.shape or not t > self._t:
            self._t, self._x_raw, self._x_hat = t, x.copy(), x.copy()
            self._dx_hat = np.zeros_like(x)
            return x.copy()
        assert self._x_raw is not None and self._dx_hat is not None
        p = self.params
        dt = t - self._t
        # Velocity in hand sizes per second, low-passed (as a vector when points share a speed).
        dx = (x - self._x_raw) / (dt * np.asarray(scale, np.float64))
        self._dx_hat = self._dx_hat + smoothing_factor(p.d_cutoff, dt) * (dx - self._dx_hat)
        if self.vector_dims is None:
            speed = np.abs(self._dx_hat)
        else:
            v = self._dx_hat[..., : self.vector_dims]
            speed = np.sqrt((v * v).sum(axis=-1, keepdims=True))  # the norm, without linalg's checks
        cutoff = p.min_cutoff + p.beta * speed
        self._x_hat = self._x_hat + smoothing_factor(cutoff, dt) * (x - self._x_hat)
        self._t, self._x_raw = t, x.copy()
        return self._x_hat.copy()


class LandmarkSmoother:
    """One Euro smoothing of one tracked hand: image landmarks and world landmarks, each with its own filter.

    Keep one per track id and :meth:`reset` it (or make a new one) when the track is lost. Speed is measured
    in hand sizes per second (:func:`hand_scale` of the current landmarks: x, y of image landmarks, all
    three axes of world landmarks), so the same settings suit near and far hands. Feed the tracker's raw
    landmarks to the next frame's crop and the smoothed ones to the output: smoothing the crop would only
    add lag to the tracking.

    Args:
        params: image-landmark filter settings (``None``: leave image landmarks unsmoothed).
        world_params: world-landmark filter settings (``None``: leave world landmarks unsmoothed).
        fps: frame rate used for timestamps when none are given (``frame_index / fps`` seconds).
    """

    def __init__(
        self,
        params: OneEuroParams | None = IMAGE_DEFAULTS,
        world_params: OneEuroParams | None = WORLD_DEFAULTS,
        fps: float = 30.0,
    ) -> None:
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.fps = float(fps)
        self.image = OneEuroFilter(params, vector_dims=2) if params is not None else None
        self.world = OneEuroFilter(world_params, vector_dims=3) if world_params is not None else None
        self._calls = 0

    def reset(self) -> None:
        """Start again: the next landmarks pass through unchanged."""
        for f in (self.image, self.world):
            if f is not None:
                f.reset()
        self._calls = 0

    def _time(self, timestamp_s: float | None, frame_index: int | None) -> float:
        # Real timestamps when the caller has them (container times, webcam clock), else the frame index.
        if timestamp_s is not None:
            return float(timestamp_s)
        if frame_index is not None:
            return frame_index / self.fps
        return self._calls / self.fps

    def __call__(
        self,
        landmarks: np.ndarray,
        world_landmarks: np.ndarray | None = None,
        *,
        timestamp_s: float | None = None,
        frame_index: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Smooth one frame's landmarks of this hand.

        Args:
            landmarks: (21, 3) image landmarks, pixels.
            world_landmarks: (21, 3) world landmarks, metres, or ``None``.
            timestamp_s: the frame's time in seconds; else ``frame_index / fps``; else the number of earlier
                calls / fps (pass ``frame_index`` when frames can be skipped, e.g. a hand lost for a while).

        Returns:
            ``(landmarks, world_landmarks)`` smoothed, float32, same shapes (``None`` stays ``None``).
        """
        t = self._time(timestamp_s, frame_index)
        self._calls += 1
        lm = np.asarray(landmarks, np.float32)
        if self.image is not None:
            lm = self.image(lm, t, hand_scale(lm[:, :2])).astype(np.float32)
        world = None if world_landmarks is None else np.asarray(world_landmarks, np.float32)
        if world is not None and self.world is not None:
            world = self.world(world, t, hand_scale(world)).astype(np.float32)
        return lm, world

    def smooth_hand(
        self, hand: Hand, *, timestamp_s: float | None = None, frame_index: int | None = None
    ) -> Hand:
        """A copy of ``hand`` with smoothed landmarks and world landmarks, its ``box`` fitted to the first."""
        lm, world = self(hand.landmarks, hand.world_landmarks, timestamp_s=timestamp_s,
                         frame_index=frame_index)
        box = np.concatenate([lm[:, :2].min(axis=0), lm[:, :2].max(axis=0)]).astype(np.float32)
        return dataclasses.replace(hand, landmarks=lm, world_landmarks=world, box=box)
