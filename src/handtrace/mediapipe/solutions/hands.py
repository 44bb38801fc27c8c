"""``mp.solutions.hands``: MediaPipe's legacy ``Hands`` solution, run by handtrace's :class:`HandTracker`.

Same constructor (names, order, defaults), ``process(rgb)`` returning ``multi_hand_landmarks``,
``multi_hand_world_landmarks`` and ``multi_handedness`` (``None`` when no hand is found, as MediaPipe's),
MediaPipe's handedness labels (they assume a mirrored image). What handtrace adds stays on: in video mode
(``static_image_mode=False``, MediaPipe's default) tracking with rare palm detections, motion-predicted crops
and One Euro smoothing of the landmarks (``smooth_landmarks=False`` turns smoothing off); on still images the
full-frame fallback (a second look when no palm is found). Still images keep MediaPipe's single landmark pass
so landmarks match MediaPipe's; ``refine=True`` adds handtrace's refinement pass.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

import numpy as np

from handtrace.mediapipe._convert import DROPIN_DEFAULTS, handedness_index, image_size, normalized
from handtrace.mediapipe._messages import (
    Classification,
    ClassificationList,
    LandmarkList,
    NormalizedLandmarkList,
    landmark_list,
    normalized_landmark_list,
)
from handtrace.mediapipe.solutions.hands_connections import (  # noqa: F401 (MediaPipe exports them here)
    HAND_CONNECTIONS,
    HAND_INDEX_FINGER_CONNECTIONS,
    HAND_MIDDLE_FINGER_CONNECTIONS,
    HAND_PALM_CONNECTIONS,
    HAND_PINKY_FINGER_CONNECTIONS,
    HAND_RING_FINGER_CONNECTIONS,
    HAND_THUMB_CONNECTIONS,
)
from handtrace.results import Hand
from handtrace.tracker import HandTracker

#: MediaPipe's legacy landmark-presence threshold on still images (its ``min_tracking_confidence`` only
#: applies to video).
STILL_PRESENCE_THRESHOLD = 0.5


class HandLandmark(enum.IntEnum):
    """The 21 hand landmarks."""

    WRIST = 0
    THUMB_CMC = 1
    THUMB_MCP = 2
    THUMB_IP = 3
    THUMB_TIP = 4
    INDEX_FINGER_MCP = 5
    INDEX_FINGER_PIP = 6
    INDEX_FINGER_DIP = 7
    INDEX_FINGER_TIP = 8
    MIDDLE_FINGER_MCP = 9
    MIDDLE_FINGER_PIP = 10
    MIDDLE_FINGER_DIP = 11
    MIDDLE_FINGER_TIP = 12
    RING_FINGER_MCP = 13
    RING_FINGER_PIP = 14
    RING_FINGER_DIP = 15
    RING_FINGER_TIP = 16
    PINKY_MCP = 17
    PINKY_PIP = 18
    PINKY_DIP = 19
    PINKY_TIP = 20


class SolutionOutputs(NamedTuple):
    """What :meth:`Hands.process` returns; every field ``None`` when no hand was found."""

    multi_hand_landmarks: list[NormalizedLandmarkList] | None
    multi_hand_world_landmarks: list[LandmarkList] | None
    multi_handedness: list[ClassificationList] | None


def solution_outputs(hands: list[Hand], width: int, height: int) -> SolutionOutputs:
    """MediaPipe's legacy result for hands found in a ``width`` x ``height`` image (``None`` s when none)."""
    if not hands:
        return SolutionOutputs(None, None, None)
    return SolutionOutputs(
        [normalized_landmark_list(normalized(h, width, height)) for h in hands],
        [landmark_list(h.world_landmarks) for h in hands],
        [ClassificationList(classification=[Classification(
            index=handedness_index(h), score=h.handedness_score, label=h.handedness)]) for h in hands],
    )


class Hands:
    """MediaPipe Hands: finds hands and their 21 landmarks in RGB images.

    Args:
        static_image_mode: treat every image as unrelated; ``False`` (default) tracks hands through a video.
        max_num_hands: most hands returned.
        model_complexity: 0 lite models, 1 full models.
        min_detection_confidence: palm detection threshold.
        min_tracking_confidence: video mode: landmark presence threshold below which a hand counts as lost.
        smooth_landmarks: handtrace's extra (keyword only): One Euro smoothing of the landmarks in video mode.
        **handtrace_options: other :class:`~handtrace.HandTracker` keyword options (``refine``,
            ``full_frame_fallback``, ``num_threads``, ``detection_interval``, ``precision``, ...).
    """

    def __init__(
        self,
        static_image_mode: bool = False,
        max_num_hands: int = 2,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        *,
        smooth_landmarks: bool = True,
        **handtrace_options: Any,
    ) -> None:
        handtrace_options = {**DROPIN_DEFAULTS, **handtrace_options}
        self._tracker = HandTracker(
            static_image_mode=bool(static_image_mode),
            max_num_hands=max_num_hands,
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=(min_tracking_confidence if not static_image_mode
                                     else STILL_PRESENCE_THRESHOLD),
            mirrored=True,  # MediaPipe's handedness labels
            smooth_landmarks=smooth_landmarks,
            **handtrace_options,
        )

    @property
    def tracker(self) -> HandTracker:
        """The :class:`~handtrace.HandTracker` underneath (statistics, tracks)."""
        return self._tracker

    def process(self, image: np.ndarray) -> SolutionOutputs:
        """Hands in an RGB uint8 image (H, W, 3)."""
        # MediaPipe's own checks and messages: a float array fails the uint8 cast, 4 channels are refused.
        array = np.asarray(image).astype(np.uint8, casting="safe", copy=False)
        if array.ndim != 3 or array.shape[2] != 3:
            raise ValueError("Input image must contain three channel rgb data.")
        hands = self._tracker.process(array)
        return solution_outputs(hands, *image_size(array))

    def reset(self) -> None:
        """Forget the tracked hands (start of a new video)."""
        self._tracker.reset()

    def close(self) -> None:
        self._tracker.close()

    def __enter__(self) -> Hands:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
