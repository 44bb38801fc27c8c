"""Many still images at once: :meth:`HandTracker.process_images <handtrace.HandTracker.process_images>` and
:meth:`~handtrace.HandTracker.process_files` (``handtrace detect`` on a folder).

Each image gets what ``HandTracker.process`` gives it, in input order; only where the work runs changes:

* **CPU, pipelined** (the default where the models have a 1-thread session: every core up to 4): whole
  images run side by side, one per worker thread and core, each reading its file, detecting palms and
  running its landmark passes on the models' 1-thread sessions (bit-identical to the multi-thread ones).
  On the project's 2-core VM (150 hand photos, full model, ``benchmarks/folder_detect.py``, medians of 5
  rounds) this ran 36.0 images/s against 24.4 one image after another; two stages (a worker reading and
  detecting palms for the next image while the caller's thread runs this one's landmark passes) ran 29.5,
  held to the pace of the landmark passes (two thirds of the work); three workers 37.0 (within noise: 36.3
  against 37.6 in another run); CPU batches of 8 on the 2-thread sessions 29.4 (docs/benchmarks.md).
* **batched** (``device="cuda"``, or any ``batch_size``): the palm detector runs once on a batch of images
  and the landmark model once per pass on all their hands' crops (:func:`process_batch`); files are read
  ahead on worker threads meanwhile. On the CPU the results equal the per-image ones bit for bit (tested);
  on a GPU, kernels chosen per batch size may move the last bits.
* **inline**: one image after another on the caller's thread, as ``process`` (a fixed ``num_threads``,
  one core, LiteRT).

Look-ahead is bounded (a few images per worker, or two batches), so a folder of 100k images is never held
in memory.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from handtrace.detection import PalmDetections, PalmDetector
from handtrace.io import as_rgb_uint8
from handtrace.landmarks import LandmarkEstimator
from handtrace.pipelining import Outcome, chunked, ordered_map
from handtrace.results import Hand
from handtrace.roi import detection_to_roi, landmarks_to_roi
from handtrace.tracking import TrackerStats
from handtrace.warp import prepare

if TYPE_CHECKING:
    from handtrace.tracker import HandTracker

__all__ = ["GPU_BATCH_SIZE", "ImageResult", "OneThreadModels", "one_by_one", "process_batch", "process_many"]

#: Images per batch on a GPU (``device="cuda"``) unless ``batch_size`` says otherwise: one palm-detector
#: call per batch and one landmark call per pass on all its hands. Not measured on a GPU (none has been lent
#: to this project): small models like these are bound by the per-call launch cost there, which a batch
#: shares, while 16 images (16 x 192 x 192 x 4 bytes in, up to 64 crops of 224 x 224) stay far below any
#: GPU's memory and keep the first result close.
GPU_BATCH_SIZE = 16


@dataclass(frozen=True)
class ImageResult:
    """One file of :meth:`HandTracker.process_files <handtrace.HandTracker.process_files>`.

    Attributes:
        path: the path as given (for ``process_images``, which yields hands only: the image).
        image: the decoded RGB uint8 image (H, W, 3), or None when it could not be read.
        hands: what ``process`` gives the image, or None after an error.
        error: why the file could not be read or processed (e.g. ``FileNotFoundError``, ``ValueError``).
    """

    path: Any
    image: np.ndarray | None
    hands: list[Hand] | None
    error: Exception | None = None

    def get(self) -> list[Hand]:
        """The hands, or the file's error raised again."""
        if self.error is not None:
            raise self.error
        assert self.hands is not None
        return self.hands


class OneThreadModels:
    """A tracker's models on their 1-thread sessions, callable from several threads at once (one core each).

    The palm model has one session per input size: the 1-thread model of each size is looked up once, under
    a lock, since the tracker's size table is not meant for concurrent changes.
    """

    def __init__(self, landmarks: LandmarkEstimator) -> None:
        self.landmarks = landmarks
        self._palm: dict[tuple[int, tuple[int, int]], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, tracker: HandTracker) -> OneThreadModels | None:
        """The tracker's models on 1-thread sessions, or None where they have none (a fixed ``num_threads``,
        one core, a GPU, LiteRT)."""
        landmarker, detector = tracker._landmarker, tracker._detector
        if landmarker is None or detector is None:
            return None
        single = getattr(landmarker.model, "single_threaded", lambda: None)()
        if single is None or not getattr(detector.model, "any_size", False):
            return None
        return cls(LandmarkEstimator(single, landmarker.border))

    def detect(self, detector: PalmDetector, image: np.ndarray) -> PalmDetections:
        """``detector(image)`` on the 1-thread session of the input size it needs."""
        inputs = detector.prepare([image])
        key = (id(detector.model), inputs.shape)
        with self._lock:
            model = self._palm.get(key)
            if model is None:
                model = self._palm[key] = detector.model.single_threaded(inputs.shape)
        return detector.decode(inputs, *model(inputs.batch))[0]


def _default_threads() -> int:
    from handtrace.runtime import default_threads

    return default_threads()


def process_many(tracker: HandTracker, items: Iterable[Any], load: Callable[[Any], np.ndarray] | None,
                 batch_size: int | None = None, workers: int | None = None) -> Iterator[ImageResult]:
    """One :class:`ImageResult` per item, in order: ``load(item)`` (the item itself when ``load`` is None)
    through the tracker's still-image pipeline. ``batch_size``: batches of this many images (default: on a
    GPU, :data:`GPU_BATCH_SIZE`; on the CPU, none). ``workers``: threads of the pipelined way (default: the
    models' thread count, every core up to 4). The tracker's ``stats`` and gestures are updated here, on the
    caller's thread, as results are taken."""
    if batch_size is None and tracker.device != "cpu":
        batch_size = GPU_BATCH_SIZE
    models = OneThreadModels.of(tracker) if batch_size is None else None
    if batch_size is None and models is None:
        yield from one_by_one(tracker.process, items, load)  # process() counts and names gestures itself
        return
    results = (_batched(tracker, items, load, batch_size) if batch_size is not None
               else _pipelined(tracker, items, load, models, workers or _default_threads()))
    with contextlib.closing(results):
        for result, stats in results:
            if tracker.closed:
                raise RuntimeError("HandTracker is closed")
            _add_stats(tracker.stats, stats)
            if result.hands and tracker.gestures is not None:
                tracker.gestures.annotate(result.hands)
            yield result


def one_by_one(process: Callable[[np.ndarray], list[Hand]], items: Iterable[Any],
               load: Callable[[Any], np.ndarray] | None = None) -> Iterator[ImageResult]:
    """``process(load(item))`` for each item in turn on the caller's thread, an error becoming its item's
    :class:`ImageResult` (the way without pipelining, for any object with a still-image ``process``)."""
    for item in items:
        image = None
        try:
            image = _load(load, item)
            hands = process(image)
        except Exception as exc:
            yield ImageResult(item, image, None, exc)
        else:
            yield ImageResult(item, image, hands)


_Counted = tuple[ImageResult, TrackerStats]


def _add_stats(total: TrackerStats, part: TrackerStats) -> None:
    for name, value in vars(part).items():
        setattr(total, name, getattr(total, name) + value)


def _load(load: Callable[[Any], np.ndarray] | None, item: Any) -> np.ndarray:
    return item if load is None else load(item)


def _one_image(tracker: HandTracker, image: np.ndarray, models: OneThreadModels
               ) -> tuple[list[Hand], TrackerStats]:
    stats = TrackerStats(frames=1)
    return tracker._process_still(prepare(as_rgb_uint8(image)), models, stats), stats


def _failed(item: Any, image: np.ndarray | None, error: Exception) -> _Counted:
    return ImageResult(item, image, None, error), TrackerStats()


def _pipelined(tracker: HandTracker, items: Iterable[Any], load: Callable[[Any], np.ndarray] | None,
               models: OneThreadModels, workers: int) -> Iterator[_Counted]:
    """Whole images side by side, one per worker thread (reading included)."""

    def job(item: Any) -> tuple[np.ndarray, list[Hand], TrackerStats]:
        image = _load(load, item)
        return image, *_one_image(tracker, image, models)

    outcomes = ordered_map(job, items, workers=workers, thread_name="handtrace-images")
    with contextlib.closing(outcomes):
        for outcome in outcomes:
            if outcome.error is not None:
                yield _failed(outcome.item, None, outcome.error)
            else:
                image, hands, stats = outcome.get()
                yield ImageResult(outcome.item, image, hands), stats


def _batched(tracker: HandTracker, items: Iterable[Any], load: Callable[[Any], np.ndarray] | None,
             batch_size: int) -> Iterator[_Counted]:
    """Batches of ``batch_size`` images through :func:`process_batch`, the next batch read meanwhile."""
    if load is None:
        reads: Iterator[Outcome[Any, np.ndarray]] = (Outcome(item, item) for item in items)
    else:
        reads = ordered_map(load, items, workers=_default_threads(), ahead=2 * batch_size,
                            thread_name="handtrace-read")
    with contextlib.closing(reads):
        for chunk in chunked(reads, batch_size):
            readable = [o for o in chunk if o.error is None]
            stats = TrackerStats()
            try:
                found = process_batch(tracker, [o.get() for o in readable], stats)
            except Exception as exc:  # the batch's model calls failed: every image of it fails with them
                found = [exc] * len(readable)
            results = iter(found)
            for o in chunk:
                hands = o.error if o.error is not None else next(results)
                if isinstance(hands, Exception):
                    result, counted = _failed(o.item, None if o.error is not None else o.value, hands)
                else:
                    result, counted = ImageResult(o.item, o.value, hands), TrackerStats(frames=1)
                _add_stats(counted, stats)  # the batch's model calls go with its first result
                stats = TrackerStats()
                yield result, counted


def process_batch(tracker: HandTracker, images: list[np.ndarray], stats: TrackerStats | None = None
                  ) -> list[list[Hand] | Exception]:
    """The hands of each still image, as ``process`` finds them (gestures not named yet), with one
    palm-detector call for the batch (plus one per input shape among the images the full-frame fallback
    retries) and one landmark call per pass for all their hands.

    A bad image (``as_rgb_uint8`` refuses it) gets its ``ValueError`` in its place; model errors are
    raised. ``stats`` counts the model calls: ``detector_runs`` each image's looks, as ``process`` counts
    them; ``landmark_runs`` the batched calls."""
    stats = TrackerStats() if stats is None else stats
    assert tracker._detector is not None and tracker._landmarker is not None
    out: list[list[Hand] | Exception] = []
    prepared: dict[int, np.ndarray] = {}
    for i, image in enumerate(images):
        try:
            prepared[i] = prepare(as_rgb_uint8(image))
        except ValueError as exc:
            out.append(exc)
        else:
            out.append([])
    order = list(prepared)
    detections = dict(zip(order, tracker._detector.detect_batch([prepared[i] for i in order]), strict=True))
    stats.detector_runs += len(order)
    if tracker.full_frame_fallback:
        fallback = tracker._fallback()
        groups: dict[tuple[int, int], list[int]] = {}
        for i in order:  # the fallback fits its input to each image: one call per input shape, as alone
            if len(detections[i]) == 0:
                groups.setdefault(fallback.input_shape([prepared[i]]), []).append(i)
        for group in groups.values():
            detections.update(zip(group, fallback.detect_batch([prepared[i] for i in group]), strict=True))
            stats.detector_runs += len(group)
    found = [i for i in order if len(detections[i])]
    capped = {i: detections[i][: 2 * tracker.max_num_hands] for i in found}
    rois = [detection_to_roi(capped[i].boxes, capped[i].keypoints) for i in found]
    ims = [prepared[i] for i in found]
    batches = tracker._landmarker.many(ims, rois)
    passes = 1
    if tracker.refine and found:
        from handtrace.tracker import _keep_better

        second = tracker._landmarker.many(ims, [landmarks_to_roi(b.landmarks) for b in batches])
        batches = [_keep_better(a, b) for a, b in zip(batches, second, strict=True)]
        passes = 2
    if found:
        stats.landmark_runs += passes
        stats.landmark_crops += passes * sum(len(r) for r in rois)
    for i, batch in zip(found, batches, strict=True):
        out[i] = tracker._select(batch, capped[i].scores)
    return out
