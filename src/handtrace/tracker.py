"""``HandTracker``: MediaPipe Hands' pipeline (palm detection -> hand region -> landmarks) on numpy images.

Still images (``static_image_mode=True``) run MediaPipe's single pass plus two optional improvements:

* ``refine``: a second landmark pass on the region computed from the first pass's landmarks (the region
  MediaPipe tracks into the next video frame), kept when its presence score is clearly higher;
* ``full_frame_fallback``: when the detector finds nothing (typically a hand filling the frame, larger than
  the palm detector's anchors), detect again on the image padded with a black border.

Video tracking (regions carried from frame to frame, detector scheduling, track IDs) will live here too; the
stages are separate methods so that the video path can reuse them. For now ``static_image_mode=False``
processes every frame like a still image.
"""

from __future__ import annotations

import cv2
import numpy as np

from handtrace.detection import PalmDetections, PalmDetector, box_iou
from handtrace.io import as_rgb_uint8
from handtrace.landmarks import LandmarkBatch, LandmarkEstimator, decode_handedness
from handtrace.results import Hand
from handtrace.roi import detection_to_roi, landmarks_to_roi

#: model_complexity -> model variant.
VARIANTS = {0: "lite", 1: "full"}
#: Border added on each side for the full-frame fallback (fraction of the image's long side), tried in order.
#: On the shared photos 0.25 rescues every image that 0.1, 0.5 or 0.75 does; one retry keeps no-hand images
#: cheap.
FALLBACK_PADDINGS: tuple[float, ...] = (0.25,)
#: Duplicate hands (MediaPipe Tasks' HandLandmarksDeduplicationCalculator).
DUPLICATE_DISTANCE_RATIO = 0.2
DUPLICATE_MIN_MATCHED = 10
DUPLICATE_MIN_IOU = 0.2
#: The refined pass replaces the first when its presence log-odds are higher by this much: near-saturated
#: presence scores (0.995 vs 0.9956) differ by noise, and swapping on noise only moves landmarks away from
#: MediaPipe's.
REFINE_MIN_LOGIT_GAIN = 0.2


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


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
    tri = xy[:, [0, 5, 17]]
    size = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=-1).max(axis=1)  # (K,)
    dist = np.linalg.norm(xy[:, None] - xy[None], axis=-1)  # (K, K, 21)
    matched = (dist < DUPLICATE_DISTANCE_RATIO * np.maximum(size[:, None], size[None])[..., None]).sum(-1)
    boxes = _landmark_boxes(xy)
    iou = np.stack([box_iou(b, boxes) for b in boxes]) if k else np.zeros((0, 0))
    similar = (matched >= DUPLICATE_MIN_MATCHED) & (iou > DUPLICATE_MIN_IOU)
    dup = np.zeros(k, bool)
    for i in range(k):  # greedy over a handful of hands
        dup[i] = bool(np.any(similar[i, :i] & ~dup[:i]))
    return dup


class HandTracker:
    """Find hands and their 21 landmarks in RGB images.

    Args:
        static_image_mode: treat every image as unrelated (only mode implemented; ``False`` acts the same).
        max_num_hands: most hands returned.
        model_complexity: 0 for the "lite" models, 1 for the "full" models.
        min_detection_confidence: palm detection score threshold.
        min_tracking_confidence: hand-presence threshold of the landmark model.
        mirrored: the images are mirrored (selfie view); only changes the handedness labels.
        refine: run a second landmark pass on the region derived from the first pass's landmarks.
        full_frame_fallback: when no palm is found, detect again on the image padded with a black border.
        num_threads: inference threads (default: every core up to 4).
        backend: "onnx" (default) or "litert" (MediaPipe's original .tflite files, for checking).

    Use as a context manager or call :meth:`close` to free the models.
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
    ) -> None:
        if model_complexity not in VARIANTS:
            raise ValueError(f"model_complexity must be 0 or 1, got {model_complexity!r}")
        if not isinstance(max_num_hands, int | np.integer) or max_num_hands < 1:
            raise ValueError(f"max_num_hands must be a positive integer, got {max_num_hands!r}")
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        from handtrace.runtime import HandLandmarkModel, PalmDetectorModel

        self.static_image_mode = static_image_mode
        self.max_num_hands = int(max_num_hands)
        self.model_complexity = model_complexity
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.mirrored = mirrored
        self.refine = refine
        self.full_frame_fallback = full_frame_fallback
        variant = VARIANTS[model_complexity]
        self._detector: PalmDetector | None = PalmDetector(
            PalmDetectorModel(variant, num_threads, backend), min_score=self.min_detection_confidence)
        self._landmarker: LandmarkEstimator | None = LandmarkEstimator(
            HandLandmarkModel(variant, num_threads, backend))

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> HandTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the models; :meth:`process` raises afterwards."""
        self._detector = None
        self._landmarker = None

    def reset(self) -> None:
        """Forget anything carried between frames (nothing yet: still-image processing keeps no state)."""

    @property
    def closed(self) -> bool:
        return self._detector is None

    # -- pipeline --------------------------------------------------------------------------------------------
    def process(self, image: np.ndarray, timestamp_ms: float | None = None) -> list[Hand]:
        """Hands in an RGB uint8 image (H, W, 3) (grayscale and RGBA accepted), highest presence first.

        ``timestamp_ms`` is the frame time for video mode (accepted now, unused by still-image processing).
        """
        if self._detector is None or self._landmarker is None:
            raise RuntimeError("HandTracker is closed")
        image = as_rgb_uint8(image)
        detections = self.detect(image)
        if len(detections) == 0:
            return []
        # A little slack over max_num_hands: duplicates and low-presence detections are dropped afterwards.
        detections = detections[: 2 * self.max_num_hands]
        batch = self._landmarker(image, detection_to_roi(detections.boxes, detections.keypoints))
        if self.refine:
            batch = self._refine(image, batch)
        return self._select(batch, detections.scores)

    def detect(self, image: np.ndarray) -> PalmDetections:
        """Palm detections in image pixels, best first, with the full-frame fallback when enabled."""
        if self._detector is None:
            raise RuntimeError("HandTracker is closed")
        image = as_rgb_uint8(image)
        detections = self._detector(image)
        if len(detections) or not self.full_frame_fallback:
            return detections
        h, w = image.shape[:2]
        for fraction in FALLBACK_PADDINGS:
            pad = round(fraction * max(h, w))
            padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
            detections = self._detector(padded)
            if len(detections):
                return detections.translated(-pad, -pad)
        return detections

    def _refine(self, image: np.ndarray, batch: LandmarkBatch) -> LandmarkBatch:
        """Second landmark pass on regions from the first landmarks, kept where it scores clearly higher."""
        assert self._landmarker is not None
        second = self._landmarker(image, landmarks_to_roi(batch.landmarks))
        better = _logit(second.presence) > _logit(batch.presence) + REFINE_MIN_LOGIT_GAIN
        return batch.where(better, second)

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
