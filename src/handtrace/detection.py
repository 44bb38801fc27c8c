"""Palm detection: letterbox to 192x192, decode the SSD outputs, weighted NMS, undo the letterbox.

Mirrors MediaPipe's palm_detection_cpu.pbtxt (``ImageToTensorCalculator`` with ``keep_aspect_ratio`` and a
zero border, ``TensorsToDetectionsCalculator``, ``NonMaxSuppressionCalculator`` in ``WEIGHTED`` mode,
``DetectionLetterboxRemovalCalculator``). Coordinates inside this module are normalised to the square
letterboxed input until :func:`undo_letterbox` turns them into image pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from handtrace.anchors import PALM_INPUT_SIZE, palm_anchors
from handtrace.warp import warp_into

NUM_KEYPOINTS = 7
SCORE_CLIP = 100.0
IOU_THRESHOLD = 0.3

#: Palm keypoint indices.
WRIST = 0
MIDDLE_MCP = 2


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the square model input.

    The image's long side spans the whole input and the short side is centred, so the input square covers
    image pixels ``[-pad_x, W + pad_x] x [-pad_y, H + pad_y]``, of side ``side = max(W, H)``.
    """

    side: float  # image pixels covered by the input square
    pad_x: float  # image pixels of border left of the image (and right of it)
    pad_y: float  # image pixels of border above the image (and below it)

    def matrix(self, size: int = PALM_INPUT_SIZE) -> np.ndarray:
        """(2, 3) float64 affine matrix from image pixels to input pixels."""
        s = size / self.side
        return np.array([[s, 0.0, s * self.pad_x], [0.0, s, s * self.pad_y]])

    def input_to_image(self, size: int = PALM_INPUT_SIZE) -> np.ndarray:
        """(2, 3) float64 affine matrix from input pixels to image pixels (inverse of :meth:`matrix`)."""
        s = self.side / size
        return np.array([[s, 0.0, -self.pad_x], [0.0, s, -self.pad_y]])

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Normalised input coordinates (..., 2) -> image pixels (..., 2)."""
        return points * self.side - np.array([self.pad_x, self.pad_y], dtype=points.dtype)


@dataclass(frozen=True)
class PalmDetections:
    """Palms found in one image, best score first.

    Attributes:
        boxes: (K, 4) float32 ``x_min, y_min, x_max, y_max`` in image pixels.
        keypoints: (K, 7, 2) float32 palm keypoints in image pixels (0 wrist, 1-4 index..pinky MCP,
            5 thumb CMC, 6 thumb MCP).
        scores: (K,) float32 detection scores in [0, 1].
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> PalmDetections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0, NUM_KEYPOINTS, 2), np.float32),
                   np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, index: slice | np.ndarray | Sequence[int]) -> PalmDetections:
        return PalmDetections(self.boxes[index], self.keypoints[index], self.scores[index])

    def translated(self, dx: float, dy: float) -> PalmDetections:
        """The same detections shifted by ``(dx, dy)`` pixels (e.g. to undo a padding)."""
        offset = np.array([dx, dy], np.float32)
        return PalmDetections(self.boxes + np.tile(offset, 2), self.keypoints + offset, self.scores)


def letterbox(image: np.ndarray, size: int = PALM_INPUT_SIZE, out: np.ndarray | None = None
              ) -> tuple[np.ndarray, Letterbox]:
    """Fit an RGB (or RGBA, alpha unused) uint8 image (H, W, 3|4) into a (size, size, 4) uint8 RGBA model
    input, keeping aspect (written into ``out`` when given; alpha unspecified).

    Like MediaPipe, the input square is mapped corner to corner (pixel edges, not centres) onto the output
    with bilinear sampling and a zero border.
    """
    h, w = image.shape[:2]
    box = Letterbox(side=float(max(h, w)), pad_x=(max(h, w) - w) / 2, pad_y=(max(h, w) - h) / 2)
    if out is None:
        out = np.empty((size, size, 4), np.uint8)
    tensor = warp_into(image, box.input_to_image(size), out, "zero")
    return tensor, box


def sigmoid_scores(logits: np.ndarray, clip: float = SCORE_CLIP) -> np.ndarray:
    """Scores from raw logits (any shape): ``sigmoid(clip(logits, -clip, clip))``."""
    # tanh form: the same sigmoid without exp overflow warnings at large |logit|.
    return 0.5 + 0.5 * np.tanh(0.5 * np.clip(logits, -clip, clip))


def _logit_floor(min_score: float) -> float:
    """A logit below which no score reaches ``min_score`` (with a margin for float32 rounding)."""
    if not 0.0 < min_score < 1.0:
        return -np.inf  # nothing to gain: let the scores decide
    return float(np.log(min_score / (1 - min_score))) - 1e-3


def decode_boxes(
    regressors: np.ndarray, anchors: np.ndarray | None = None, scale: float = PALM_INPUT_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Decode raw SSD regressors against anchors.

    Args:
        regressors: (..., A, 18) raw offsets ``x, y, w, h`` then 7 keypoint ``x, y`` pairs, in input pixels.
        anchors: (A, 4) ``x_center, y_center, w, h`` normalised; defaults to :func:`palm_anchors` (192).
        scale: input size the offsets are expressed in.

    Returns:
        boxes (..., A, 4) ``x_min, y_min, x_max, y_max`` and keypoints (..., A, 7, 2), both normalised.
    """
    if anchors is None:
        anchors = palm_anchors()
    centre, size = anchors[:, :2], anchors[:, 2:]
    xy = regressors[..., 0:2] / scale * size + centre
    wh = regressors[..., 2:4] / scale * size
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], axis=-1)
    kp = regressors[..., 4 : 4 + 2 * NUM_KEYPOINTS].reshape(*regressors.shape[:-1], NUM_KEYPOINTS, 2)
    keypoints = kp / scale * size[:, None, :] + centre[:, None, :]
    return boxes, keypoints


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of (A, 4) and (B, 4), all ``x_min, y_min, x_max, y_max``. Returns (A, B).

    Boxes with no area overlap nothing (IoU 0).
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    wh = np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2])
    np.maximum(wh, 0, out=wh)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box (4,) with boxes (K, 4), all ``x_min, y_min, x_max, y_max``. Returns (K,)."""
    return box_iou_matrix(box, boxes)[0]


def weighted_nms(
    boxes: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float = IOU_THRESHOLD,
    max_detections: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's weighted non-maximum suppression.

    Repeatedly takes the best remaining detection and every remaining detection overlapping it by more than
    ``iou_threshold`` (itself included); the cluster's box corners and keypoints are their score-weighted mean
    and its score is the best one's.

    Args:
        boxes: (K, 4) ``x_min, y_min, x_max, y_max``. keypoints: (K, P, 2). scores: (K,).

    Returns:
        boxes (M, 4), keypoints (M, P, 2), scores (M,), best first.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    if not len(scores):
        return boxes[:0], keypoints[:0], scores[:0]
    # All overlaps at once (a handful of candidates), then the greedy clustering over the rows; a
    # degenerate (zero-area) box still belongs to its own cluster.
    overlaps = box_iou_matrix(boxes, boxes) > iou_threshold
    np.fill_diagonal(overlaps, True)
    taken = np.zeros(len(scores), bool)
    clusters, leaders = [], []
    for i in range(len(scores)):
        if taken[i]:
            continue
        if max_detections is not None and len(leaders) >= max_detections:
            break
        members = overlaps[i] & ~taken
        taken |= members
        clusters.append(members)
        leaders.append(i)
    weights = np.where(clusters, scores, 0)  # (M, K): each cluster's members weighted by score
    weights = weights / weights.sum(axis=1, keepdims=True)
    out_boxes = (weights @ boxes).astype(boxes.dtype, copy=False)
    out_kps = (weights @ keypoints.reshape(len(scores), -1)).reshape(-1, *keypoints.shape[1:])
    out_kps = out_kps.astype(keypoints.dtype, copy=False)
    return out_boxes, out_kps, scores[leaders]


def postprocess(
    regressors: np.ndarray,
    logits: np.ndarray,
    box: Letterbox,
    min_score: float = 0.5,
    iou_threshold: float = IOU_THRESHOLD,
    input_size: int = PALM_INPUT_SIZE,
) -> PalmDetections:
    """Model outputs for one image -> :class:`PalmDetections` in image pixels.

    Args:
        regressors: (A, 18) raw regressors. logits: (A,) raw score logits. A: the anchors of
            :func:`palm_anchors` for ``input_size`` (2016 at 192).
        box: the :class:`Letterbox` the input was made with.
        input_size: side of the square model input.
    """
    # Scores only for anchors whose logit is near or above the threshold's (a handful of 2016): the same
    # set as scoring all of them, without the work.
    keep = np.flatnonzero(logits >= _logit_floor(min_score))
    scores = sigmoid_scores(logits[keep].astype(np.float32))
    keep, scores = keep[scores >= min_score], scores[scores >= min_score]
    if keep.size == 0:
        return PalmDetections.empty()
    boxes, keypoints = decode_boxes(regressors[keep], palm_anchors(input_size)[keep], input_size)
    boxes, keypoints, kept_scores = weighted_nms(boxes, keypoints, scores, iou_threshold)
    return undo_letterbox(boxes, keypoints, kept_scores, box)


def undo_letterbox(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, box: Letterbox
                   ) -> PalmDetections:
    """Normalised letterboxed boxes (K, 4) and keypoints (K, P, 2) -> :class:`PalmDetections` in pixels."""
    px_boxes = box.to_image(boxes.reshape(-1, 2, 2)).reshape(-1, 4)
    return PalmDetections(px_boxes.astype(np.float32), box.to_image(keypoints).astype(np.float32),
                          scores.astype(np.float32))


class PalmDetector:
    """Palm detection on RGB uint8 images.

    ``model`` maps (N, S, S, 4) uint8 RGBA, S = ``input_size``, to regressors (N, A, 18) and logits (N, A),
    A = ``len(palm_anchors(S))`` (2016 at the model's native 192). ``input_size`` defaults to the model's
    own ``input_size`` attribute when it has one (:class:`~handtrace.runtime.PalmDetectorModel`), else 192.
    """

    def __init__(self, model: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], min_score: float = 0.5,
                 iou_threshold: float = IOU_THRESHOLD, input_size: int | None = None) -> None:
        self.model = model
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self.input_size = input_size or getattr(model, "input_size", PALM_INPUT_SIZE)

    def __call__(self, image: np.ndarray) -> PalmDetections:
        """Detect palms in one RGB (or RGBA, alpha unused) uint8 image (H, W, 3|4)."""
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[PalmDetections]:
        """Detect palms in several RGB uint8 images (any sizes) with one model call."""
        if not images:
            return []
        size = self.input_size
        batch = np.empty((len(images), size, size, 4), np.uint8)
        boxes = [letterbox(im, size, tensor)[1] for im, tensor in zip(images, batch, strict=True)]
        regressors, logits = self.model(batch)
        return [postprocess(r, s, b, self.min_score, self.iou_threshold, size)
                for r, s, b in zip(regressors, logits, boxes, strict=True)]
