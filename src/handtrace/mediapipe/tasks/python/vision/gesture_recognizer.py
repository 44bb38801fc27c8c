"""``GestureRecognizer``: MediaPipe Tasks' gesture recognizer on handtrace's tracker and gesture rules.

Gestures carry MediaPipe's canned category names: ``Closed_Fist``, ``Open_Palm``, ``Pointing_Up``,
``Thumb_Down``, ``Thumb_Up``, ``Victory``, ``ILoveYou`` and ``None``. handtrace's other built-in gestures
(``OK``, ``Call``, ``Rock``, ...) are none of MediaPipe's and are reported as ``None``. Gestures come from
handtrace's finger-state rules (MediaPipe uses a learned classifier); scores are the rules' confidences.
``canned_gesture_classifier_options`` filter them (score threshold, allow / deny list, which can leave a
hand's gesture list empty, as MediaPipe's can); custom classifiers (``custom_gesture_classifier_options``)
need a MediaPipe model and are not run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handtrace.mediapipe._image import Image
from handtrace.mediapipe.tasks.python.components.containers.category import Category
from handtrace.mediapipe.tasks.python.components.containers.landmark import Landmark, NormalizedLandmark
from handtrace.mediapipe.tasks.python.components.processors.classifier_options import ClassifierOptions
from handtrace.mediapipe.tasks.python.core.base_options import BaseOptions
from handtrace.mediapipe.tasks.python.vision._task import HandTask, HandTaskOptions, hand_lists
from handtrace.mediapipe.tasks.python.vision.core.image_processing_options import ImageProcessingOptions
from handtrace.results import Hand

__all__ = ["CANNED_GESTURES", "GestureRecognizer", "GestureRecognizerOptions", "GestureRecognizerResult"]

#: MediaPipe's canned gesture categories.
CANNED_GESTURES: tuple[str, ...] = ("None", "Closed_Fist", "Open_Palm", "Pointing_Up", "Thumb_Down",
                                    "Thumb_Up", "Victory", "ILoveYou")
#: MediaPipe gives gesture categories no meaningful index.
GESTURE_INDEX = -1


@dataclass
class GestureRecognizerResult:
    """One entry per hand: gesture categories, handedness, normalised landmarks, world landmarks."""

    gestures: list[list[Category]]
    handedness: list[list[Category]]
    hand_landmarks: list[list[NormalizedLandmark]]
    hand_world_landmarks: list[list[Landmark]]


@dataclass
class GestureRecognizerOptions(HandTaskOptions):
    """Options of :class:`GestureRecognizer` (MediaPipe's, plus handtrace's extras)."""

    canned_gesture_classifier_options: ClassifierOptions = field(default_factory=ClassifierOptions)
    custom_gesture_classifier_options: ClassifierOptions = field(default_factory=ClassifierOptions)
    result_callback: Callable[[GestureRecognizerResult, Image, int], None] | None = None
    #: handtrace's extras: One Euro smoothing in VIDEO / LIVE_STREAM, and other HandTracker options
    #: (``refine``, ``num_threads``, ``detection_interval``, ``precision``, ...).
    smooth_landmarks: bool = True
    handtrace_options: dict[str, Any] = field(default_factory=dict)


def canned_gesture(hand: Hand) -> tuple[str, float]:
    """MediaPipe's category for a hand's gesture: its own name when canned, else ``None``."""
    name = hand.gesture if hand.gesture in CANNED_GESTURES else "None"
    return name, float(hand.gesture_score)


class GestureRecognizer(HandTask):
    """Finds hands, their landmarks and gestures; create with :meth:`create_from_options` or
    :meth:`create_from_model_path`."""

    _gestures = True

    def __init__(self, options: GestureRecognizerOptions) -> None:
        super().__init__(options)
        self._canned = options.canned_gesture_classifier_options or ClassifierOptions()

    @classmethod
    def create_from_model_path(cls, model_path: str) -> GestureRecognizer:
        """A recognizer in IMAGE mode with the default options (``model_path`` is noted and ignored)."""
        return cls.create_from_options(
            GestureRecognizerOptions(base_options=BaseOptions(model_asset_path=model_path)))

    @classmethod
    def create_from_options(cls, options: GestureRecognizerOptions) -> GestureRecognizer:
        return cls(options)

    def _result(self, hands: list[Hand], width: int, height: int) -> GestureRecognizerResult:
        gestures = []
        for hand in hands:
            name, score = canned_gesture(hand)
            keep = self._canned.keeps(name, score) and self._canned.max_results != 0
            gestures.append([Category(index=GESTURE_INDEX, score=score, display_name="", category_name=name)]
                            if keep else [])
        return GestureRecognizerResult(gestures, *hand_lists(hands, width, height))

    def _empty(self) -> GestureRecognizerResult:
        return GestureRecognizerResult([], [], [], [])

    def recognize(self, image: Image | np.ndarray,
                  image_processing_options: ImageProcessingOptions | None = None) -> GestureRecognizerResult:
        """Hands and gestures in one image (IMAGE mode)."""
        return self._image(image, image_processing_options)

    def recognize_for_video(self, image: Image | np.ndarray, timestamp_ms: int,
                            image_processing_options: ImageProcessingOptions | None = None
                            ) -> GestureRecognizerResult:
        """Hands and gestures in a video frame (VIDEO mode); timestamps must increase."""
        return self._video(image, timestamp_ms, image_processing_options)

    def recognize_async(self, image: Image | np.ndarray, timestamp_ms: int,
                        image_processing_options: ImageProcessingOptions | None = None) -> None:
        """Queue a live frame (LIVE_STREAM mode); the result goes to ``result_callback``."""
        self._async(image, timestamp_ms, image_processing_options)
