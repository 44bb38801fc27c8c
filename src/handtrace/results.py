"""The typed result of hand tracking: one :class:`Hand` per hand found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Names of the 21 landmarks, in MediaPipe's order.
LANDMARK_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)  # fmt: skip

#: Skeleton edges (pairs of landmark indices) for drawing.
HAND_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16),
    (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip


@dataclass
class Hand:
    """One hand found in an image.

    Attributes:
        landmarks: (21, 3) float32. x, y in image pixels; z is depth relative to the wrist, at the scale of x.
        world_landmarks: (21, 3) float32, metres, origin near the hand's centre, rotated like the image.
        handedness: "Left" or "Right" (for a non-mirrored image unless the tracker was told otherwise).
        handedness_score: confidence of ``handedness`` in [0.5, 1].
        presence: hand-presence score of the landmark model in [0, 1].
        detection_score: palm detector score of the detection this hand came from (0 when tracked).
        box: (4,) float32 ``x_min, y_min, x_max, y_max`` of the landmarks in pixels.
        roi: (5,) float32 ``cx, cy, width, height, rotation`` of the crop the landmarks came from
            (pixels, radians).
        id: track id in video mode, ``None`` for still images.
        gesture: recognised gesture name, or ``None`` when no recogniser ran.
        gesture_score: confidence of ``gesture``.
    """

    landmarks: np.ndarray
    world_landmarks: np.ndarray
    handedness: str
    handedness_score: float
    presence: float
    detection_score: float
    box: np.ndarray
    roi: np.ndarray = field(default_factory=lambda: np.zeros(5, np.float32))
    id: int | None = None
    gesture: str | None = None
    gesture_score: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Overall confidence used to rank hands (the landmark model's presence)."""
        return self.presence

    def to_dict(self, decimals: int = 2) -> dict[str, Any]:
        """A JSON-ready dict; pixel values rounded to ``decimals``, metres to ``decimals + 3``."""
        d: dict[str, Any] = {
            "handedness": self.handedness,
            "handedness_score": round(float(self.handedness_score), 4),
            "presence": round(float(self.presence), 4),
            "detection_score": round(float(self.detection_score), 4),
            "box": np.round(self.box.astype(float), decimals).tolist(),
            "landmarks": np.round(self.landmarks.astype(float), decimals).tolist(),
            "world_landmarks": np.round(self.world_landmarks.astype(float), decimals + 3).tolist(),
        }
        if self.id is not None:
            d["id"] = self.id
        if self.gesture is not None:
            d["gesture"] = self.gesture
            d["gesture_score"] = round(float(self.gesture_score), 4)
        d.update(self.extras)
        return d
