"""What the hand tasks share: options -> :class:`~handtrace.HandTracker`, running-mode and timestamp rules
(MediaPipe's errors, word for word), and the live-stream worker.

LIVE_STREAM: ``detect_async`` returns at once; one worker thread runs the frames and calls
``result_callback(result, image, timestamp_ms)``. While a frame is being processed, a newer one waits in a
single slot and replaces any older waiting frame, which is dropped without a callback (MediaPipe's flow
limiter drops frames likewise: not every input gets an output). ``close()`` finishes the waiting frames.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from handtrace.mediapipe._convert import DROPIN_DEFAULTS, handedness_index, image_size, normalized
from handtrace.mediapipe._image import Image, as_rgb
from handtrace.mediapipe.tasks.python.components.containers.category import Category
from handtrace.mediapipe.tasks.python.components.containers.landmark import Landmark, NormalizedLandmark
from handtrace.mediapipe.tasks.python.core.base_options import BaseOptions
from handtrace.mediapipe.tasks.python.vision.core.image_processing_options import ImageProcessingOptions
from handtrace.mediapipe.tasks.python.vision.core.vision_task_running_mode import (
    VisionTaskRunningMode as RunningMode,
)
from handtrace.results import Hand
from handtrace.tracker import HandTracker

_log = logging.getLogger("handtrace.mediapipe")


@dataclass
class HandTaskOptions:
    """The options both hand tasks take, MediaPipe's names and defaults (``base_options`` is noted and
    ignored: handtrace's packaged models run)."""

    base_options: BaseOptions | None = None
    running_mode: RunningMode = RunningMode.IMAGE
    num_hands: int = 1
    min_hand_detection_confidence: float = 0.5
    min_hand_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5


def check_confidence(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"Invalid `{name}` option: value must be in the range [0.0, 1.0]")


def quarter_turns(options: ImageProcessingOptions | None) -> int:
    """Clockwise quarter turns to apply before detection, after MediaPipe's checks of the options."""
    if options is None:
        return 0
    if options.rotation_degrees % 90 != 0:
        raise ValueError("Expected rotation to be a multiple of 90°.")
    if options.region_of_interest is not None:
        raise ValueError("This task doesn't support region-of-interest.")
    return int(options.rotation_degrees // 90) % 4


def unrotate(hands: list[Hand], turns: int, width: int, height: int) -> list[Hand]:
    """Hands found in the image turned ``turns`` quarter turns clockwise (``width`` x ``height``), given in
    the input image's frame, as MediaPipe gives them: pixels and world landmarks turned back."""
    if not turns:
        return hands
    out = []
    for hand in hands:
        xyz, world = np.array(hand.landmarks, np.float32), np.array(hand.world_landmarks, np.float32)
        w, h = width, height
        for _ in range(turns):  # one counter-clockwise quarter turn: (x, y) -> (y, w - x); world (y, -x)
            xyz[:, :2] = np.c_[xyz[:, 1], w - xyz[:, 0]]
            world[:, :2] = np.c_[world[:, 1], -world[:, 0]]
            w, h = h, w
        box = np.concatenate([xyz[:, :2].min(axis=0), xyz[:, :2].max(axis=0)]).astype(np.float32)
        out.append(replace(hand, landmarks=xyz, world_landmarks=world, box=box))
    return out


def hand_lists(hands: list[Hand], width: int, height: int
               ) -> tuple[list[list[Category]], list[list[NormalizedLandmark]], list[list[Landmark]]]:
    """(handedness, hand_landmarks, hand_world_landmarks) of a result, one entry per hand."""
    handedness, landmarks, world = [], [], []
    for hand in hands:
        handedness.append([Category(index=handedness_index(hand), score=hand.handedness_score,
                                    display_name=hand.handedness, category_name=hand.handedness)])
        landmarks.append([NormalizedLandmark(x=x, y=y, z=z, visibility=0.0, presence=0.0)
                          for x, y, z in normalized(hand, width, height).tolist()])
        world.append([Landmark(x=x, y=y, z=z, visibility=0.0, presence=0.0)
                      for x, y, z in np.asarray(hand.world_landmarks, np.float64).tolist()])
    return handedness, landmarks, world


class HandTask:
    """Base of :class:`HandLandmarker` and :class:`GestureRecognizer`: subclasses give
    ``_result(hands, w, h)`` and ``_empty()``."""

    _gestures: bool = False

    def __init__(self, options: Any) -> None:
        mode = RunningMode(options.running_mode)
        if mode == RunningMode.LIVE_STREAM and options.result_callback is None:
            raise ValueError("The vision task is in live stream mode, a user-defined result callback must be "
                             "provided.")
        if mode != RunningMode.LIVE_STREAM and options.result_callback is not None:
            raise ValueError("The vision task is in image or video mode, a user-defined result callback "
                             "should not be provided.")
        for name in ("min_hand_detection_confidence", "min_hand_presence_confidence",
                     "min_tracking_confidence"):
            check_confidence(name, getattr(options, name))
        if options.base_options is not None:
            options.base_options.note_ignored_model()
        self._mode = mode
        self._callback: Callable[..., None] | None = options.result_callback
        self._tracker = HandTracker(
            static_image_mode=mode == RunningMode.IMAGE,
            max_num_hands=options.num_hands,
            model_complexity=1,  # MediaPipe's .task bundles hold the full models
            min_detection_confidence=options.min_hand_detection_confidence,
            # The landmark model's presence threshold; MediaPipe's min_tracking_confidence (an IoU rule of its
            # tracking) has no counterpart: handtrace's tracking keeps its own association rules.
            min_tracking_confidence=options.min_hand_presence_confidence,
            mirrored=True,  # MediaPipe's handedness labels
            smooth_landmarks=options.smooth_landmarks,
            **{**DROPIN_DEFAULTS, "gestures": self._gestures, **options.handtrace_options},
        )
        self._last_timestamp: float | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._waiting: tuple[Image | np.ndarray, float, Any] | None = None
        self._busy = False
        self._worker: threading.Thread | None = None
        self._closed = False

    # -- modes -----------------------------------------------------------------------------------------------
    def _require(self, mode: RunningMode) -> None:
        if self._closed:
            raise ValueError("Task runner is currently not running.")
        if self._mode != mode:
            what = {RunningMode.IMAGE: "the image mode", RunningMode.VIDEO: "the video mode",
                    RunningMode.LIVE_STREAM: "the live stream mode"}[mode]
            raise ValueError(f"Task is not initialized with {what}. Current running mode:{self._mode.name}")

    def _check_timestamp(self, timestamp_ms: float) -> float:
        """MediaPipe's rule: each timestamp greater than the previous one (checked before any work)."""
        ts = float(timestamp_ms)
        if not math.isfinite(ts) or (self._last_timestamp is not None and ts <= self._last_timestamp):
            raise ValueError("Input timestamp must be monotonically increasing.")
        self._last_timestamp = ts
        return ts

    def _run(self, image: Image | np.ndarray, timestamp_ms: float | None, processing: Any) -> Any:
        turns = quarter_turns(processing)
        rgb = as_rgb(image)
        turned = np.ascontiguousarray(np.rot90(rgb, k=-turns)) if turns else rgb
        hands = unrotate(self._tracker.process(turned, timestamp_ms), turns, *image_size(turned))
        width, height = image_size(rgb)
        return self._result(hands, width, height) if hands else self._empty()

    def _result(self, hands: list[Hand], width: int, height: int) -> Any:
        raise NotImplementedError

    def _empty(self) -> Any:
        raise NotImplementedError

    def _image(self, image: Image | np.ndarray, processing: Any) -> Any:
        self._require(RunningMode.IMAGE)
        return self._run(image, None, processing)

    def _video(self, image: Image | np.ndarray, timestamp_ms: int, processing: Any) -> Any:
        self._require(RunningMode.VIDEO)
        return self._run(image, self._check_timestamp(timestamp_ms), processing)

    # -- live stream -----------------------------------------------------------------------------------------
    def _async(self, image: Image | np.ndarray, timestamp_ms: int, processing: Any) -> None:
        self._require(RunningMode.LIVE_STREAM)
        quarter_turns(processing)  # bad options fail here, not on the worker
        with self._lock:
            ts = self._check_timestamp(timestamp_ms)
            self._waiting = (image, ts, processing)  # replaces (drops) a frame still waiting
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="handtrace-mediapipe-live",
                                                daemon=True)
                self._worker.start()
            self._wake.notify()

    def _serve(self) -> None:
        while True:
            with self._lock:
                while self._waiting is None and not self._closed:
                    self._wake.wait()
                if self._waiting is None:  # closed and nothing left
                    return
                (image, ts, processing), self._waiting = self._waiting, None
                self._busy = True
            try:
                result = self._run(image, ts, processing)
                assert self._callback is not None
                self._callback(result, image, int(ts))
            except Exception:  # a failing callback must not stop the stream
                _log.exception("handtrace.mediapipe: live-stream frame at %s ms failed", ts)
            finally:
                with self._lock:
                    self._busy = False
                    self._wake.notify_all()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Finish the live-stream frames still waiting, then release the models."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join()
        self._tracker.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
