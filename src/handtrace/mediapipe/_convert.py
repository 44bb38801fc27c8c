"""handtrace :class:`~handtrace.results.Hand` s -> the values MediaPipe's APIs return.

MediaPipe's normalised landmarks: x / image width, y / image height, z / image width (z is at the scale of x);
world landmarks in metres as they are. Handedness: MediaPipe's labels, which assume a mirrored (selfie) image;
the tracker is created with ``mirrored=True`` so ``Hand.handedness`` already carries them. Index: 0 "Left",
1 "Right" (MediaPipe's label map).
"""

from __future__ import annotations

import numpy as np

from handtrace.results import Hand

#: HandTracker options of the drop-in that differ from HandTracker's own defaults. Still images: MediaPipe's
#: single landmark pass (``refine=False``), so landmarks land where MediaPipe's do (mean 0.047% of the image
#: size on the shared photos, tests/test_parity_mediapipe_dropin.py); the full-frame fallback stays on (it
#: only runs when MediaPipe would find nothing). Gestures only where the API reports them (GestureRecognizer).
DROPIN_DEFAULTS = {"refine": False, "gestures": False}

#: MediaPipe's handedness label map.
HANDEDNESS_INDEX = {"Left": 0, "Right": 1}


def normalized(hand: Hand, width: int, height: int) -> np.ndarray:
    """(21, 3) float64 landmarks normalised as MediaPipe's."""
    return np.asarray(hand.landmarks, np.float64) / np.array([width, height, width], np.float64)


def handedness_index(hand: Hand) -> int:
    return HANDEDNESS_INDEX[hand.handedness]


def image_size(image: np.ndarray) -> tuple[int, int]:
    """(width, height) of an (H, W, ...) array."""
    return int(image.shape[1]), int(image.shape[0])

