"""``HandTracker``: MediaPipe Hands' pipeline (palm detection -> hand region -> landmarks) on numpy images.

Still images (``static_image_mode=True``) run MediaPipe's single pass plus two optional improvements:

* ``refine``: a second landmark pass on the region computed from the first pass's landmarks (the region
  MediaPipe tracks into the next video frame), kept when its presence score is clearly higher;
* ``full_frame_fallback``: when the detector finds nothing (typically a hand filling the frame, larger than
  the palm detector saw in training), detect again on the whole image fitted into 128 pixels (long side)
  instead of 192, where the hand looks a third smaller.

Many still images (:meth:`HandTracker.process_images`, :meth:`HandTracker.process_files`) give what
``process`` gives each, with the work overlapped across the cores, or batched on a GPU
(:mod:`handtrace.stills`).

Video (``static_image_mode=False``) tracks hands from frame to frame, and fixes MediaPipe's weak points:

* the next frame's region comes from this frame's landmarks, extrapolated with the hand's recent motion
  (centre, size and angle at constant velocity), so fast hands stay inside their crop;
* the palm detector runs only when needed: every frame while no hand is tracked, one frame in
  ``detection_interval`` while fewer than ``max_num_hands`` are tracked (MediaPipe runs it on every such
  frame), never while all are tracked, and at once on a frame where a tracked hand is lost;
* while hands are tracked, the scheduled detections run in the background on a spare core at idle
  priority (:mod:`handtrace.background`), and the new hands they find join a later frame: a detector frame
  costs what any other frame costs;
* all hands of a frame go through the landmark model in one batched call;
* each hand keeps an ``id`` while tracked, and gets it back when it reappears within ``max_lost_frames``
  where it was expected; handedness is a vote over the whole track, so it does not flip frame to frame;
* landmarks are smoothed with a scale-aware One Euro filter (``smooth_landmarks``); the crops use the raw
  landmarks, so smoothing adds no lag to the tracking itself.

Threads: in still-image mode one tracker may be shared by several threads (a web server's global tracker):
calls hold no shared mutable buffers, so each returns what it would alone. Video mode follows one stream
of frames: a call made while another thread is inside :meth:`HandTracker.process` raises ``RuntimeError``
(use one tracker per stream).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from handtrace import background
from handtrace.background import BackgroundDetector
from handtrace.detection import PalmDetections, PalmDetector, box_iou_matrix
from handtrace.gestures import GestureRecognizer
from handtrace.io import as_rgb_uint8
from handtrace.landmarks import LandmarkBatch, LandmarkEstimator, decode_handedness
from handtrace.results import Hand
from handtrace.roi import detection_to_roi, landmarks_to_roi
from handtrace.smoothing import LandmarkSmoother, palm_size
from handtrace.stills import ImageResult, OneThreadModels, process_many
from handtrace.timestamps import VideoClock
from handtrace.tracking import Track, TrackerStats, TrackSet, overlapping
from handtrace.warp import prepare

#: model_complexity -> model variant.
VARIANTS = {0: "lite", 1: "full"}
#: Palm-detector input (long side) for the full-frame fallback. The hand looks as small as on the 192 input
#: with the image padded by a quarter of its long side on every side (what this fallback did first),
#: without the black border and at about half a 192 run's cost. On 239 zoomed-in hand-graph photos the 192
#: detector misses, it finds 190 hands where the padded 192 view found 157 (96: also 190, 128 with an
#: eighth of padding: 205 but a worse mmpose mean error); a single retry keeps images with no hand cheap.
FALLBACK_INPUT_SIZE = 128
#: Duplicate hands (MediaPipe Tasks' HandLandmarksDeduplicationCalculator).
DUPLICATE_DISTANCE_RATIO = 0.2
DUPLICATE_MIN_MATCHED = 10
DUPLICATE_MIN_IOU = 0.2
#: The refined pass replaces the first when its presence log-odds are higher by this much: near-saturated
#: presence scores (0.995 vs 0.9956) differ by noise, and swapping on noise only moves landmarks away from
#: MediaPipe's.
REFINE_MIN_LOGIT_GAIN = 0.2
#: Presence a hand found again by :meth:`HandTracker._recover` must reach on its second look.
RECOVERY_MIN_PRESENCE = 0.9


def _check_count(name: str, value: object, minimum: int) -> int:
    """``value`` as an int when it is an integer >= ``minimum`` (not a bool), else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _no_regions() -> tuple[np.ndarray, np.ndarray]:
    """No new-hand candidates: regions (0, 5) and scores (0,)."""
    return np.zeros((0, 5)), np.zeros(0, np.float32)


#: Landmark estimators for the main and the worker thread, and the worker (``_still_landmarks``).
_SideBySide = tuple[LandmarkEstimator, LandmarkEstimator, ThreadPoolExecutor]


def _keep_better(first: LandmarkBatch, second: LandmarkBatch) -> LandmarkBatch:
    """Per hand, the refined pass ``second`` where it scores clearly higher than ``first``, else ``first``."""
    better = _logit(second.presence) > _logit(first.presence) + REFINE_MIN_LOGIT_GAIN
    return first.where(better, second) if better.any() else first


def _first_and_refined(estimator: LandmarkEstimator, image: np.ndarray, rois: np.ndarray, refine: bool
                       ) -> LandmarkBatch:
    """The landmark pass on ``rois`` (K, 5) and, with ``refine``, the second pass on the regions it gives."""
    first = estimator(image, rois)
    return _keep_better(first, estimator(image, landmarks_to_roi(first.landmarks))) if refine else first


def _landmark_boxes(landmarks: np.ndarray) -> np.ndarray:
    """(K, 21, 2+) -> (K, 4) ``x_min, y_min, x_max, y_max`` of x, y."""
    xy = landmarks[..., :2]
    return np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=-1)


def duplicate_mask(landmarks: np.ndarray) -> np.ndarray:
    """Which hands repeat an earlier (better ranked) kept hand.

    A hand is a duplicate when at least 10 of its 21 points lie within 0.2 x hand size of a kept hand's points
    and their landmark boxes overlap with IoU > 0.2; hand size is the longest side of the wrist / index MCP /
    pinky MCP triangle. landmarks: (K, 21, 2+) pixels, best first. Returns (K,) bool.
    """
    xy = np.asarray(landmarks, np.float64)[..., :2]
    k = len(xy)
    if k < 2:
        return np.zeros(k, bool)
    boxes = _landmark_boxes(xy)
    overlap = box_iou_matrix(boxes, boxes) > DUPLICATE_MIN_IOU
    np.fill_diagonal(overlap, False)
    if not overlap.any():  # the usual case, separate hands: no need for the point distances
        return np.zeros(k, bool)
    size = palm_size(xy)  # (K,)
    dist = np.linalg.norm(xy[:, None] - xy[None], axis=-1)  # (K, K, 21)
    matched = (dist < DUPLICATE_DISTANCE_RATIO * np.maximum(size[:, None], size[None])[..., None]).sum(-1)
    similar = (matched >= DUPLICATE_MIN_MATCHED) & overlap
    dup = np.zeros(k, bool)
    for i in range(k):  # greedy over a handful of hands
        dup[i] = bool(np.any(similar[i, :i] & ~dup[:i]))
    return dup


class HandTracker:
    """Find hands and their 21 landmarks in RGB images.

    Args:
        static_image_mode: ``True``: every image is unrelated (photos); ``False``: video, one call per frame
            in order, tracking hands from frame to frame (see the module docstring).
        max_num_hands: most hands returned.
        model_complexity: 0 for the "lite" models, 1 for the "full" models.
        min_detection_confidence: palm detection score threshold.
        min_tracking_confidence: hand-presence threshold of the landmark model.
        mirrored: the images are mirrored (selfie view); only changes the handedness labels.
        refine: run a second landmark pass on the region derived from the first pass's landmarks.
        full_frame_fallback: when no palm is found, detect again on the whole image at a smaller detector
            input (128 pixels on the long side), for hands that fill the frame.
        num_threads: inference threads, 1 or more (default: every core up to 4, one or all of them per
            model call as measured speed decides; a still image with two hands or more then runs the hands'
            landmark passes side by side, one thread each).
        backend: "onnx" (default) or "litert" (MediaPipe's original .tflite files, for checking; the
            .tflite palm model takes 192x192 only, so the fallback runs on onnxruntime).
        smooth_landmarks: video mode: smooth each track's landmarks with a One Euro filter.
        detection_interval: video mode: while some but fewer than ``max_num_hands`` hands are tracked, run the
            palm detector on one frame in this many. A hand entering the view is found within this many
            frames of becoming detectable.
        max_lost_frames: video mode: a lost hand's id is given back if it reappears, where it was expected,
            within this many frames (0 or more).
        motion_prediction: video mode: extrapolate each hand's region from its recent motion.
        gestures: name each hand's gesture (``Hand.gesture``): ``True`` for the built-in rules, a
            :class:`~handtrace.gestures.GestureRecognizer` (custom gestures, a trained model), or ``False``.
        precision: "float" (default) or "int8": the int8 landmark model is about 0.6x the float one's
            time on one core, for +0.06 px mean error on the shared photos (the palm detector stays float:
            int8 was no faster there and lost hands).
        palm_model, landmark_model: ONNX files to run instead of the packaged models (e.g. made by
            ``handtrace train``, see docs/training.md); ``model_complexity`` still picks the packaged one
            for a model not given.
        device: "cpu" (default) or "cuda": run the models on onnxruntime's CUDA provider (the ``[gpu]``
            extra, onnxruntime-gpu); a ``RuntimeError`` names what is missing when it is not available.
        background_detection: video mode: while hands are tracked, run the scheduled palm detections on a
            worker thread at idle priority, their new hands joining the first frame after they finish (at
            the latest ``2 * detection_interval`` frames later, waiting then). Which frame that is depends on
            the machine's load, so ``False`` (inline, as MediaPipe) gives frame-exact reproducible results.
            Default: on for the CPU on Linux with two cores or more (unless ``num_threads=1``).

    Use as a context manager or call :meth:`close` to free the models.

    Thread safety: still-image mode may be shared by threads (no shared mutable buffers); in video mode a
    second thread calling :meth:`process` while one is inside it gets a ``RuntimeError``.

    Raises:
        ValueError: an option out of range, naming it and the value.
    """

    def __init__(
        self,
        static_image_mode: bool = True,
        max_num_hands: int = 2,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        *,
        mirrored: bool = False,
        refine: bool = True,
        full_frame_fallback: bool = True,
        num_threads: int | None = None,
        backend: str = "onnx",
        smooth_landmarks: bool = True,
        detection_interval: int = 6,
        max_lost_frames: int = 15,
        motion_prediction: bool = True,
        gestures: bool | GestureRecognizer = True,
        precision: str = "float",
        palm_model: str | os.PathLike[str] | None = None,
        landmark_model: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        background_detection: bool | None = None,
    ) -> None:
        if model_complexity not in VARIANTS:
            raise ValueError(f"model_complexity must be 0 or 1, got {model_complexity!r}")
        if not isinstance(max_num_hands, int | np.integer) or max_num_hands < 1:
            raise ValueError(f"max_num_hands must be a positive integer, got {max_num_hands!r}")
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        if num_threads is not None:
            num_threads = _check_count("num_threads", num_threads, 1)
        detection_interval = _check_count("detection_interval", detection_interval, 1)
        max_lost_frames = _check_count("max_lost_frames", max_lost_frames, 0)
        from handtrace.runtime import HandLandmarkModel, PalmDetectorModel, device_providers

        if device != "cpu" and backend != "onnx":
            raise ValueError(f"device {device!r} needs backend 'onnx', got {backend!r}")
        providers = device_providers(device)
        self.device = device

        self.static_image_mode = static_image_mode
        self.max_num_hands = int(max_num_hands)
        self.model_complexity = model_complexity
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.mirrored = mirrored
        self.refine = refine
        self.full_frame_fallback = full_frame_fallback
        variant = VARIANTS[model_complexity]
        # MediaPipe's 192x192 letterbox for the first look (its results, to the pixel); the fallback, ours
        # alone, fits its input to the image instead (less border to run on: 96x128 for a 3:2 photo).
        self._detector: PalmDetector | None = PalmDetector(
            PalmDetectorModel(variant, num_threads, backend, providers, path=palm_model),
            min_score=self.min_detection_confidence, square=True)
        self._fallback_model = (variant, num_threads, "onnx", providers)
        self._fallback_detector: PalmDetector | None = None  # created on first use
        self._fallback_lock = threading.Lock()
        self._landmarker: LandmarkEstimator | None = LandmarkEstimator(
            HandLandmarkModel(variant, num_threads, backend, providers, precision, path=landmark_model))
        if background_detection is None:
            background_detection = (device == "cpu" and num_threads != 1 and background.available())
        # The search for new hands while others are tracked fits the frame into 192 pixels on its long side
        # without MediaPipe's square border (a 16:9 frame: 192x128, two thirds of the work, hands at the
        # same scale); the first look at a video keeps MediaPipe's input.
        searcher = PalmDetector(self._detector.model, self.min_detection_confidence, square=False)
        self._background = (BackgroundDetector(searcher)
                            if background_detection and not static_image_mode
                            and BackgroundDetector.supports(searcher) else None)
        # Two estimators on the landmark model's 1-thread session and a worker thread (created on the
        # first still image with two regions), or False where the model has no 1-thread session.
        self._side_by_side: _SideBySide | bool | None = None
        self._side_by_side_pid = 0
        self._side_by_side_lock = threading.Lock()
        self._video_lock = threading.Lock()  # held by the thread inside a video-mode process()
        self.smooth_landmarks = smooth_landmarks
        self.gestures: GestureRecognizer | None = (
            GestureRecognizer() if gestures is True else gestures if gestures else None)
        self.motion_prediction = motion_prediction
        self.stats = TrackerStats()
        self._tracks = TrackSet(self.max_num_hands, detection_interval=detection_interval,
                                max_lost_frames=max_lost_frames)
        self._frame = 0
        self._clock = VideoClock()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> HandTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the models; :meth:`process` raises afterwards."""
        self._detector = None
        self._fallback_detector = None
        self._landmarker = None
        if self._background is not None:
            self._background.close()
        if isinstance(self._side_by_side, tuple):
            self._side_by_side[2].shutdown(wait=False)
        self._side_by_side = None

    def reset(self) -> None:
        """Forget the tracked hands (start of a new video); statistics are kept."""
        self._tracks.reset()
        self._frame = 0
        self._clock.reset()
        if self._background is not None:
            self._background.cancel()

    @property
    def tracks(self) -> list[Track]:
        """The hands tracked now (video mode)."""
        return list(self._tracks.tracks)

    @property
    def closed(self) -> bool:
        return self._detector is None

    # -- pipeline --------------------------------------------------------------------------------------------
    def process(self, image: np.ndarray, timestamp_ms: float | None = None) -> list[Hand]:
        """Hands in an RGB uint8 image (H, W, 3) (grayscale and RGBA accepted).

        Still images: highest presence first. Video mode: one call per frame in order, ``timestamp_ms`` the
        frame's time in milliseconds (default: the previous one + 1000/30); hands come ordered by ``id``.
        As in MediaPipe's VIDEO mode, timestamps must be finite and increase from call to call; ones that
        look like seconds (a first one in [1e9, 1e11), i.e. ``time.time()``, or steps under 1 ms three
        times in a row) give one warning, since the smoothing would then lag far behind the hand.
        Grayscale input works but finds fewer hands: the models were trained on colour images.

        Raises:
            ValueError: a bad image (None, not uint8, a wrong shape, empty), or in video mode a timestamp
                that is not finite or not greater than the previous one.
            RuntimeError: the tracker is closed, or (video mode) another thread is inside ``process``.
        """
        if self._detector is None or self._landmarker is None:
            raise RuntimeError("HandTracker is closed")
        if self.static_image_mode:
            image = prepare(as_rgb_uint8(image))
            self.stats.frames += 1
            hands = self._process_still(image)
        else:
            if not self._video_lock.acquire(blocking=False):
                raise RuntimeError(
                    "HandTracker in video mode was called from two threads at once: a video-mode tracker "
                    "follows one stream of frames; use one tracker per thread (still images may share one)")
            try:
                image = prepare(as_rgb_uint8(image))
                # After the image: a refused image or timestamp changes nothing.
                ts = self._clock.check(timestamp_ms, self._frame)
                self.stats.frames += 1
                hands = self._process_video(image, ts)
            finally:
                self._video_lock.release()
        if self.gestures is not None and hands:
            self.gestures.annotate(hands)
        return hands

    def process_images(self, images: Iterable[np.ndarray], *, batch_size: int | None = None
                       ) -> Iterator[list[Hand]]:
        """Hands in many still images: for each image, in order, what :meth:`process` gives it.

        Lazy, with bounded look-ahead (a few images per core, or two batches): ``images`` may be a generator
        over a folder of any size. On the CPU, images run side by side, one per core (every core up to 4),
        on the models' 1-thread sessions; on a GPU (``device="cuda"``) in batches of ``batch_size``
        (default :data:`handtrace.stills.GPU_BATCH_SIZE`, 16): one palm-detector call per batch and one
        landmark call per pass for all its hands. ``batch_size`` on the CPU batches there too (same results,
        bit for bit). See :mod:`handtrace.stills`. ``stats`` and gestures are updated as results are taken.

        Raises:
            RuntimeError: video mode (``static_image_mode=False``: frames depend on each other), or the
                tracker is closed.
            ValueError: ``batch_size`` below 1; while iterating, a bad image, as :meth:`process` raises it
                (the images after it are not processed).
        """
        results = self._process_many(images, None, batch_size)

        def hands() -> Iterator[list[Hand]]:
            with contextlib.closing(results):
                for result in results:
                    yield result.get()

        return hands()

    def process_files(self, paths: Iterable[str | os.PathLike[str]], *, batch_size: int | None = None
                      ) -> Iterator[ImageResult]:
        """Read and process image files: one :class:`~handtrace.stills.ImageResult` per path, in order,
        with the decoded image and its hands, or the error that stopped it (a missing or corrupt file) while
        the others go on. Reading runs in the pipeline, ahead of the models; otherwise as
        :meth:`process_images`."""
        from handtrace.io import read_image

        return self._process_many(paths, read_image, batch_size)

    def _process_many(self, items: Iterable[Any], load: Callable[[Any], np.ndarray] | None,
                      batch_size: int | None) -> Iterator[ImageResult]:
        # Checked now, not at the first result: the caller learns at once.
        if not self.static_image_mode:
            raise RuntimeError("process_images / process_files need static_image_mode=True: in video mode "
                               "each frame depends on the previous one; call process() frame by frame")
        if self.closed:
            raise RuntimeError("HandTracker is closed")
        if batch_size is not None:
            batch_size = _check_count("batch_size", batch_size, 1)
        return process_many(self, items, load, batch_size)

    def _process_still(self, image: np.ndarray, models: OneThreadModels | None = None,
                       stats: TrackerStats | None = None) -> list[Hand]:
        """Hands in a still image already through :func:`~handtrace.warp.prepare`.

        ``models``: run on these (1-thread sessions, from a pipeline's thread) instead of the tracker's own;
        ``stats``: count the model runs there instead of in ``self.stats``."""
        return self._still_hands(image, self._still_detections(image, models, stats), models, stats)

    def _still_detections(self, image: np.ndarray, models: OneThreadModels | None = None,
                          stats: TrackerStats | None = None) -> PalmDetections:
        """The palm detections a still image's landmark passes start from (first step of
        :meth:`_process_still`)."""
        # A little slack over max_num_hands: duplicates and low-presence detections are dropped afterwards.
        return self._detect(image, models, stats)[: 2 * self.max_num_hands]

    def _still_hands(self, image: np.ndarray, detections: PalmDetections,
                     models: OneThreadModels | None = None, stats: TrackerStats | None = None) -> list[Hand]:
        """The hands of a still image from its palm detections (second step of :meth:`_process_still`)."""
        if len(detections) == 0:
            return []
        rois = detection_to_roi(detections.boxes, detections.keypoints)
        return self._select(self._still_landmarks(image, rois, models, stats), detections.scores)

    def _still_landmarks(self, image: np.ndarray, rois: np.ndarray, models: OneThreadModels | None = None,
                         stats: TrackerStats | None = None) -> LandmarkBatch:
        """Landmarks (first pass, and the refined one with ``refine``) of a still image's regions (K, 5).

        Two regions or more go in two groups side by side, each on its own core with the model's 1-thread
        session, the second group on a worker thread: each group's crops and geometry overlap the other's
        model run, and two 1-thread runs take less time than one 2-thread run on both (5.9 against 6.3 ms
        here, full model); the outputs are bit-identical. Where the machine is busy, the two groups share
        the free core, which is what a 1-thread session would do anyway. With ``models`` (a pipeline that
        keeps every core busy with other images already) all regions run as one batch on them.
        """
        stats = self.stats if stats is None else stats
        passes = 2 if self.refine else 1
        stats.landmark_crops += passes * len(rois)
        if models is not None:
            stats.landmark_runs += passes
            return _first_and_refined(models.landmarks, image, rois, self.refine)
        side = self._side_by_side_estimators() if len(rois) >= 2 else None
        assert self._landmarker is not None
        if side is None:
            stats.landmark_runs += passes
            return _first_and_refined(self._landmarker, image, rois, self.refine)
        here, there, worker = side
        split = (len(rois) + 1) // 2
        later = worker.submit(_first_and_refined, there, image, rois[split:], self.refine)
        try:
            first = _first_and_refined(here, image, rois[:split], self.refine)
        finally:
            second = later.result()  # also when the first group failed: the worker must be done with image
        stats.landmark_runs += 2 * passes
        return LandmarkBatch.concat([first, second])

    def _side_by_side_estimators(self) -> _SideBySide | None:
        with self._side_by_side_lock:  # threads sharing a still-image tracker create one worker, not two
            return self._side_by_side_estimators_locked()

    def _side_by_side_estimators_locked(self) -> _SideBySide | None:
        if isinstance(self._side_by_side, tuple) and self._side_by_side_pid != os.getpid():
            self._side_by_side = None  # a forked child has the executor but not its thread: start another
        if self._side_by_side is None:
            self._side_by_side_pid = os.getpid()
            assert self._landmarker is not None
            model, border = self._landmarker.model, self._landmarker.border
            single = getattr(model, "single_threaded", lambda: None)()
            self._side_by_side = False if single is None else (
                LandmarkEstimator(single, border), LandmarkEstimator(single, border),
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="handtrace-landmarks"))
        return self._side_by_side or None

    def detect(self, image: np.ndarray) -> PalmDetections:
        """Palm detections in image pixels, best first, with the full-frame fallback when enabled."""
        if self._detector is None:
            raise RuntimeError("HandTracker is closed")
        return self._detect(prepare(as_rgb_uint8(image)))

    def _detect(self, image: np.ndarray, models: OneThreadModels | None = None,
                stats: TrackerStats | None = None) -> PalmDetections:
        """:meth:`detect` on an image already through :func:`~handtrace.warp.prepare` (``models``, ``stats``:
        see :meth:`_process_still`)."""
        detections = self._detect_once(image, None, models, stats)
        if len(detections) or not self.full_frame_fallback:
            return detections
        return self._detect_once(image, self._fallback(), models, stats)

    def _fallback(self) -> PalmDetector:
        """The full-frame fallback's detector, created on first use (most videos and photos never need it:
        no session until then)."""
        with self._fallback_lock:  # threads sharing the tracker (a pipeline's) create one, not two
            if self._fallback_detector is None:
                assert self._detector is not None
                model = self._detector.model if getattr(self._detector.model, "any_size", False) else None
                if model is None:  # MediaPipe's .tflite (backend "litert") takes 192x192 only
                    from handtrace.runtime import PalmDetectorModel

                    model = PalmDetectorModel(*self._fallback_model)
                self._fallback_detector = PalmDetector(model, min_score=self.min_detection_confidence,
                                                       input_size=FALLBACK_INPUT_SIZE)
            return self._fallback_detector

    def _detect_once(self, image: np.ndarray, detector: PalmDetector | None = None,
                     models: OneThreadModels | None = None, stats: TrackerStats | None = None
                     ) -> PalmDetections:
        assert self._detector is not None
        (self.stats if stats is None else stats).detector_runs += 1
        detector = detector or self._detector
        return detector(image) if models is None else models.detect(detector, image)

    def _landmarks(self, image: np.ndarray, rois: np.ndarray) -> LandmarkBatch:
        """One batched landmark-model call on all regions (K, 5) of the image."""
        assert self._landmarker is not None
        self.stats.landmark_runs += 1
        self.stats.landmark_crops += len(rois)
        return self._landmarker(image, rois)

    def _refine(self, image: np.ndarray, batch: LandmarkBatch) -> LandmarkBatch:
        """Second landmark pass on regions from the first landmarks, kept where it scores clearly higher."""
        if len(batch) == 0:
            return batch
        return _keep_better(batch, self._landmarks(image, landmarks_to_roi(batch.landmarks)))

    def _select(self, batch: LandmarkBatch, detection_scores: np.ndarray) -> list[Hand]:
        """Drop absent and duplicate hands, rank by presence, cap to max_num_hands, build :class:`Hand` s."""
        keep = np.flatnonzero(batch.presence > self.min_tracking_confidence)
        keep = keep[np.argsort(-batch.presence[keep], kind="stable")]
        keep = keep[~duplicate_mask(batch.landmarks[keep])][: self.max_num_hands]
        labels, scores = decode_handedness(batch.handedness[keep], self.mirrored)
        boxes = _landmark_boxes(batch.landmarks[keep]).astype(np.float32)
        return [
            Hand(
                landmarks=batch.landmarks[i],
                world_landmarks=batch.world_landmarks[i],
                handedness=labels[j],
                handedness_score=float(scores[j]),
                presence=float(batch.presence[i]),
                detection_score=float(detection_scores[i]),
                box=boxes[j],
                roi=batch.rois[i].astype(np.float32),
            )
            for j, i in enumerate(keep)
        ]

    # -- video -----------------------------------------------------------------------------------------------
    def _new_hand_regions(self, image: np.ndarray, avoid: np.ndarray, frame: int
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Palm detections that are not already tracked: regions (K, 5) and detection scores (K,).

        ``avoid`` (T, 5): regions of hands already tracked; a detection overlapping one (IoU > 0.5,
        MediaPipe's association threshold) is the same hand.
        """
        if self._background is not None:
            self._background.cancel()  # this look is newer than one still running
        # The padded retry costs a second detector run: only while nothing is tracked, and not every frame.
        interval = self._tracks.detection_interval
        fallback = self.full_frame_fallback and not self._tracks.tracks and frame % interval == 0
        detections = self._detect(image) if fallback else self._detect_once(image)
        self._tracks.mark_detection(frame)
        return self._untracked(detections, avoid)

    def _untracked(self, detections: PalmDetections, avoid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regions (K, 5) and scores (K,) of the detections that overlap none of the regions ``avoid``."""
        if len(detections) == 0:
            return _no_regions()
        rois = detection_to_roi(detections.boxes, detections.keypoints)
        keep = ~overlapping(rois, avoid)
        rois, scores = rois[keep], detections.scores[keep]
        room = 2 * (self.max_num_hands - len(self._tracks.tracks))
        return rois[:room], np.asarray(scores[:room], np.float32)

    def _background_hands(self, frame: int, avoid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The untracked hands (regions (K, 5), scores (K,)) of a background detection that has finished
        (or reached its deadline)."""
        assert self._background is not None
        # Waited for two detection intervals after it started: a machine with no idle time finds hands too.
        done = self._background.poll(frame, 2 * self._tracks.detection_interval)
        if done is None:
            return _no_regions()
        return self._untracked(done[1], avoid)

    def _start_background_detection(self, image: np.ndarray, frame: int) -> None:
        """Start the scheduled detection of this frame in the background, unless one is still running.

        Called once the frame's own model runs are done, so the worker does not compete with them."""
        bg = self._background
        if bg is None or bg.busy or not self._tracks.tracks:
            return
        bg.submit(image, frame)
        self._tracks.mark_detection(frame)
        self.stats.detector_runs += 1
        self.stats.background_detections += 1

    def _process_video(self, image: np.ndarray, timestamp_ms: float) -> list[Hand]:
        frame = self._frame
        self._frame += 1
        tracks = self._tracks
        live = list(tracks.tracks)
        if self.motion_prediction:
            regions = tracks.predicted_regions(frame)
        else:
            regions = np.stack([t.region for t in live]) if live else np.zeros((0, 5))

        detected = tracks.should_detect(frame)
        in_background = detected and bool(live) and self._background is not None
        if live and self._background is not None:
            # New hands from a detection of an earlier frame join on this one; this frame's starts at the end.
            new_rois, new_scores = self._background_hands(frame, regions)
            detected = False
        elif detected:
            new_rois, new_scores = self._new_hand_regions(image, regions, frame)
        else:
            new_rois, new_scores = _no_regions()
        batch = self._landmarks(image, np.concatenate([regions, new_rois]))
        n = len(live)
        tracked, new = batch[:n], batch[n:]
        found = tracked.presence >= self.min_tracking_confidence

        if not found.all():
            found, tracked = self._recover(image, live, found, tracked)
        lost_any = not found.all()
        for t, ok in zip(live, found, strict=True):
            if not ok:
                tracks.drop(t)
        live, tracked = [t for t, ok in zip(live, found, strict=True) if ok], tracked[found]
        if lost_any and not detected:
            # A tracked hand was lost on this frame (fast motion, occlusion): look for it now, not next frame.
            new_rois, new_scores = self._new_hand_regions(image, landmarks_to_roi(tracked.landmarks), frame)
            new = self._landmarks(image, new_rois) if len(new_rois) else new

        candidates = np.flatnonzero(new.presence >= self.min_tracking_confidence) if len(new_rois) else []
        if len(candidates):
            order = candidates[np.argsort(-new.presence[candidates], kind="stable")]
            new, new_scores = new[order], new_scores[order]
            if self.refine:
                new = self._refine(image, new)
        else:
            new = new[:0]

        # Tracked hands first (older tracks win), then new ones by presence; duplicates of earlier hands go.
        combined = LandmarkBatch.concat([tracked, new])
        next_regions = landmarks_to_roi(combined.landmarks)
        dup = duplicate_mask(combined.landmarks)
        for t, is_dup in zip(live, dup[: len(live)], strict=True):
            if is_dup:
                tracks.drop(t)
        hands: list[Hand] = []
        for k in np.flatnonzero(~dup):
            if len(hands) >= self.max_num_hands:
                if k < len(live):
                    tracks.drop(live[k])
                continue
            region = next_regions[k]
            if k < len(live):
                track = live[k]
                tracks.update(track, region, frame)
                score = 0.0
            else:
                track = tracks.start(region, frame, float(combined.handedness[k]))
                self.stats.tracks_started += track.frames_tracked == 1
                score = float(new_scores[k - len(live)])
            hands.append(self._track_hand(track, combined[k : k + 1], score, frame, timestamp_ms))
        hands.sort(key=lambda h: h.id if h.id is not None else -1)
        if in_background and tracks.should_detect(frame):  # a lost hand's detection may have run instead
            self._start_background_detection(image, frame)
        return hands

    def _recover(self, image: np.ndarray, live: list[Track], found: np.ndarray, tracked: LandmarkBatch
                 ) -> tuple[np.ndarray, LandmarkBatch]:
        """Look again for hands lost on this frame before paying for a palm detection.

        A hand that turned back or sped up left its extrapolated crop, but not its last region widened by
        twice its speed; a second pass on the region the first one's landmarks give restores the usual
        framing (and accuracy). Both passes must find the hand, else the detector decides.
        """
        lost = np.flatnonzero(~found)
        regions = np.stack([live[i].region for i in lost])
        speed = np.array([np.hypot(*live[i].velocity[:2]) for i in lost])
        regions[:, 2:4] += 2 * speed[:, None]
        first = self._landmarks(image, regions)
        ok = first.presence >= self.min_tracking_confidence
        if not ok.any():
            return found, tracked
        second = self._landmarks(image, landmarks_to_roi(first.landmarks[ok]))
        # A widened crop can show part of a hand confidently; only a clear second look counts.
        good = second.presence >= max(self.min_tracking_confidence, RECOVERY_MIN_PRESENCE)
        rows = lost[ok][good]
        if not len(rows):
            return found, tracked
        recovered = found.copy()
        recovered[rows] = True
        # Row i of the result: the second look for rows that were recovered, the tracked result elsewhere.
        source = np.zeros(len(tracked), int)
        source[rows] = np.arange(len(rows))
        return recovered, tracked.where(recovered & ~found, second[good][source])

    def _track_hand(self, track: Track, result: LandmarkBatch, detection_score: float, frame: int,
                    timestamp_ms: float) -> Hand:
        """The :class:`Hand` of one track on this frame: voted handedness, smoothed landmarks."""
        track.vote_handedness(float(result.handedness[0]), weight=float(result.presence[0]))
        labels, scores = decode_handedness(np.array([track.right_probability]), self.mirrored)
        landmarks, world = result.landmarks[0], result.world_landmarks[0]
        if self.smooth_landmarks:
            if track.smoother is None:
                track.smoother = LandmarkSmoother()
            landmarks, world = track.smoother(landmarks, world, timestamp_s=timestamp_ms / 1000.0)
        return Hand(
            landmarks=landmarks,
            world_landmarks=world,
            handedness=labels[0],
            handedness_score=float(scores[0]),
            presence=float(result.presence[0]),
            detection_score=detection_score,
            box=_landmark_boxes(landmarks[None])[0].astype(np.float32),
            roi=result.rois[0].astype(np.float32),
            id=track.id,
        )
