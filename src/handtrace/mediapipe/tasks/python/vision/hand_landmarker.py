"""``HandLandmarker``: MediaPipe Tasks' hand landmarker on handtrace's :class:`~handtrace.HandTracker`.

Same options (names and defaults: ``num_hands=1``, the three confidences 0.5, ``running_mode=IMAGE``), same
methods and errors, results with ``handedness`` / ``hand_landmarks`` / ``hand_world_landmarks`` as lists (one
per hand) of :class:`Category` / :class:`NormalizedLandmark` / :class:`Landmark`, MediaPipe's handedness
labels (they assume a mirrored image). handtrace's own: VIDEO and LIVE_STREAM track with rare palm detections
and smooth the landmarks (``HandLandmarkerOptions(smooth_landmarks=False)`` turns smoothing off); IMAGE keeps
MediaPipe's single landmark pass (landmarks match MediaPipe's) and adds the full-frame fallback when no palm
is found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from handtrace.mediapipe._image import Image
from handtrace.mediapipe.solutions.hands import HandLandmark
from handtrace.mediapipe.tasks.python.components.containers.category import Category
from handtrace.mediapipe.tasks.python.components.containers.landmark import Landmark, NormalizedLandmark
from handtrace.mediapipe.tasks.python.core.base_options import BaseOptions
from handtrace.mediapipe.tasks.python.vision._task import HandTask, HandTaskOptions, hand_lists
from handtrace.mediapipe.tasks.python.vision.core.image_processing_options import ImageProcessingOptions
from handtrace.results import Hand

__all__ = ["HandLandmark", "HandLandmarker", "HandLandmarkerOptions", "HandLandmarkerResult",
           "HandLandmarksConnections"]


@dataclass
class Connection:
    """A skeleton edge between two landmark indices."""

    start: int
    end: int


def _edges(*pairs: tuple[int, int]) -> list[Connection]:
    return [Connection(a, b) for a, b in pairs]


class HandLandmarksConnections:
    """The hand skeleton as the Tasks API lists it (its palm runs wrist - thumb CMC - index MCP)."""

    Connection = Connection
    HAND_PALM_CONNECTIONS: ClassVar[list[Connection]] = _edges((0, 1), (1, 5), (9, 13), (13, 17), (5, 9),
                                                               (0, 17))
    HAND_THUMB_CONNECTIONS: ClassVar[list[Connection]] = _edges((1, 2), (2, 3), (3, 4))
    HAND_INDEX_FINGER_CONNECTIONS: ClassVar[list[Connection]] = _edges((5, 6), (6, 7), (7, 8))
    HAND_MIDDLE_FINGER_CONNECTIONS: ClassVar[list[Connection]] = _edges((9, 10), (10, 11), (11, 12))
    HAND_RING_FINGER_CONNECTIONS: ClassVar[list[Connection]] = _edges((13, 14), (14, 15), (15, 16))
    HAND_PINKY_FINGER_CONNECTIONS: ClassVar[list[Connection]] = _edges((17, 18), (18, 19), (19, 20))
    HAND_CONNECTIONS: ClassVar[list[Connection]] = (
        HAND_PALM_CONNECTIONS + HAND_THUMB_CONNECTIONS + HAND_INDEX_FINGER_CONNECTIONS
        + HAND_MIDDLE_FINGER_CONNECTIONS + HAND_RING_FINGER_CONNECTIONS + HAND_PINKY_FINGER_CONNECTIONS)


@dataclass
class HandLandmarkerResult:
    """One entry per hand: handedness categories, normalised landmarks, world landmarks (metres)."""

    handedness: list[list[Category]]
    hand_landmarks: list[list[NormalizedLandmark]]
    hand_world_landmarks: list[list[Landmark]]


@dataclass
class HandLandmarkerOptions(HandTaskOptions):
    """Options of :class:`HandLandmarker` (MediaPipe's, plus handtrace's extras)."""

    result_callback: Callable[[HandLandmarkerResult, Image, int], None] | None = None
    #: handtrace's extras: One Euro smoothing in VIDEO / LIVE_STREAM, and other HandTracker options
    #: (``refine``, ``num_threads``, ``detection_interval``, ``precision``, ...).
    smooth_landmarks: bool = True
    handtrace_options: dict[str, Any] = field(default_factory=dict)


class HandLandmarker(HandTask):
    """Finds hands and their landmarks; create with :meth:`create_from_options` or
    :meth:`create_from_model_path`."""

    @classmethod
    def create_from_model_path(cls, model_path: str) -> HandLandmarker:
        """A landmarker in IMAGE mode with the default options (``model_path`` is noted and ignored)."""
        options = HandLandmarkerOptions(base_options=BaseOptions(model_asset_path=model_path))
        return cls.create_from_options(options)

    @classmethod
    def create_from_options(cls, options: HandLandmarkerOptions) -> HandLandmarker:
        return cls(options)

    def _result(self, hands: list[Hand], width: int, height: int) -> HandLandmarkerResult:
        return HandLandmarkerResult(*hand_lists(hands, width, height))

    def _empty(self) -> HandLandmarkerResult:
        return HandLandmarkerResult([], [], [])

    def detect(self, image: Image | np.ndarray,
               image_processing_options: ImageProcessingOptions | None = None) -> HandLandmarkerResult:
        """Hands in one image (IMAGE mode)."""
        return self._image(image, image_processing_options)

    def detect_for_video(self, image: Image | np.ndarray, timestamp_ms: int,
                         image_processing_options: ImageProcessingOptions | None = None
                         ) -> HandLandmarkerResult:
        """Hands in a video frame (VIDEO mode); timestamps must increase from call to call."""
        return self._video(image, timestamp_ms, image_processing_options)

    def detect_async(self, image: Image | np.ndarray, timestamp_ms: int,
                     image_processing_options: ImageProcessingOptions | None = None) -> None:
        """Queue a live frame (LIVE_STREAM mode); the result goes to ``result_callback``."""
        self._async(image, timestamp_ms, image_processing_options)
