"""Video-mode timestamps: the rule MediaPipe's VIDEO mode enforces (finite, strictly increasing
milliseconds), and a warning for timestamps that look like seconds, which would make the smoothing lag."""

from __future__ import annotations

import math
import warnings

__all__ = ["EPOCH_SECONDS_RANGE", "SUB_MS_STEPS_WARN", "VideoClock"]

#: A first timestamp in [1e9, 1e11) looks like seconds since the epoch (``time.time()``, about 1.7e9 in 2024)
#: rather than milliseconds (epoch milliseconds are about 1.7e12).
EPOCH_SECONDS_RANGE = (1e9, 1e11)
#: This many steps in a row below 1 ms (over 1000 frames per second) look like seconds.
SUB_MS_STEPS_WARN = 3


class VideoClock:
    """Checks one stream's timestamps (milliseconds) call by call.

    :meth:`check` returns the frame's timestamp: the one given when it is finite and greater than the
    previous one, else a ``ValueError`` naming both (and nothing changes, so the next valid frame is
    taken); ``None`` gives the previous one + ``default_step_ms``. Timestamps that look like seconds warn
    once (:data:`EPOCH_SECONDS_RANGE`, :data:`SUB_MS_STEPS_WARN`). :meth:`reset` starts a new stream.
    """

    def __init__(self, default_step_ms: float = 1000.0 / 30.0) -> None:
        self.default_step_ms = default_step_ms
        self.last_ms = -math.inf
        self._sub_ms_steps = 0
        self._warned = False

    def reset(self) -> None:
        self.last_ms = -math.inf
        self._sub_ms_steps = 0

    def check(self, timestamp_ms: float | None, frame: int, stacklevel: int = 3) -> float:
        """The timestamp of frame ``frame`` after the rules above. ``stacklevel``: the warning's frame,
        counted from this call as ``warnings.warn`` does (3: the caller of the method calling this)."""
        last = self.last_ms
        if timestamp_ms is None:
            ts = 0.0 if last == -math.inf else last + self.default_step_ms
        else:
            try:
                ts = float(timestamp_ms)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"timestamp_ms must be a number (milliseconds), got {timestamp_ms!r}") from exc
            if not math.isfinite(ts):
                raise ValueError(f"timestamp_ms must be finite, got {timestamp_ms!r} (frame {frame})")
            if ts <= last:
                raise ValueError(
                    f"timestamps must increase in video mode: got {ts:g} ms after {last:g} ms (frame "
                    f"{frame}); call reset() before a new video")
            self._warn_if_seconds(ts, last, stacklevel + 1)
        self.last_ms = ts
        return ts

    def _warn_if_seconds(self, ts: float, last: float, stacklevel: int) -> None:
        if self._warned:
            return
        if last == -math.inf:
            looks = EPOCH_SECONDS_RANGE[0] <= ts < EPOCH_SECONDS_RANGE[1]
        else:
            self._sub_ms_steps = self._sub_ms_steps + 1 if ts - last < 1.0 else 0
            looks = self._sub_ms_steps >= SUB_MS_STEPS_WARN
        if looks:
            self._warned = True
            seen = f"first timestamp {ts:g}" if last == -math.inf else f"{ts:g} after {last:g}"
            warnings.warn(
                f"timestamp_ms looks like seconds, not milliseconds ({seen}): pass milliseconds (e.g. "
                "time.time() * 1000); with seconds the smoothed landmarks lag behind the hand",
                stacklevel=stacklevel)
