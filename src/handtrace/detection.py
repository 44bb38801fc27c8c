"""Palm detection: letterbox, decode the SSD outputs, weighted NMS, undo the letterbox.

Mirrors MediaPipe's palm_detection_cpu.pbtxt (``ImageToTensorCalculator`` with ``keep_aspect_ratio`` and a
zero border, ``TensorsToDetectionsCalculator``, ``NonMaxSuppressionCalculator`` in ``WEIGHTED`` mode,
``DetectionLetterboxRemovalCalculator``), with one change: MediaPipe letterboxes every image into 192x192,
so a 16:9 frame leaves 44% of the input black. The network is fully convolutional, so :class:`PalmDetector`
fits the image into 192 pixels on its long side and :func:`palm_input_shape` rows or columns on the short
one (the next multiple of 32): a 3:2 photo runs at 128x192, in two thirds of the time. Square images get
MediaPipe's input exactly. Coordinates inside this module are normalised to the letterboxed input (x by its
width, y by its height) until :func:`undo_letterbox` turns them into image pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from handtrace.anchors import PALM_INPUT_SIZE, PALM_SIZE_MULTIPLE, input_hw, palm_anchors
from handtrace.warp import warp_into

#: Share of a multiple the short side may overshoot and still round down (the image shrinks to fit).
SHORT_SIDE_SLACK = 0.1

NUM_KEYPOINTS = 7
SCORE_CLIP = 100.0
IOU_THRESHOLD = 0.3

#: Palm keypoint indices.
WRIST = 0
MIDDLE_MCP = 2


def palm_input_shape(height: int, width: int, long_side: int = PALM_INPUT_SIZE,
                     multiple: int = PALM_SIZE_MULTIPLE) -> tuple[int, int]:
    """The smallest palm-model input ``(height, width)`` an image of ``height`` x ``width`` pixels fits at
    ``long_side`` pixels on its long side: the short side rounded up to a multiple of ``multiple``, or down
    when it overshoots by less than a tenth of one (a 640x427 photo fits 128x192 at 99.9% of its size).

    E.g. (1080, 1920) -> (128, 192), (427, 640) -> (128, 192), (1080, 620) -> (192, 128), square -> square.
    """
    scale = long_side / max(height, width)
    short = [min(long_side, multiple * math.ceil(d * scale / multiple - SHORT_SIDE_SLACK))
             for d in (height, width)]
    return (long_side, max(short[1], multiple)) if height >= width else (max(short[0], multiple), long_side)


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model input: scaled by one factor to fit, and centred.

    The input covers image pixels ``[-pad_x, W + pad_x] x [-pad_y, H + pad_y]``: ``width`` x ``height``
    image pixels.
    """

    width: float  # image pixels the input spans horizontally
    height: float  # image pixels the input spans vertically
    pad_x: float  # image pixels of border left of the image (and right of it)
    pad_y: float  # image pixels of border above the image (and below it)

    @classmethod
    def fit(cls, image_height: int, image_width: int, size: int | tuple[int, int] = PALM_INPUT_SIZE
            ) -> Letterbox:
        """The letterbox of an image into an input of ``size`` (a side or ``(height, width)``)."""
        in_h, in_w = input_hw(size)
        # The side that fills the input spans exactly its own pixels (no rounding on it).
        if image_width * in_h >= image_height * in_w:
            width, height = float(image_width), image_width * in_h / in_w
        else:
            width, height = image_height * in_w / in_h, float(image_height)
        return cls(width, height, (width - image_width) / 2, (height - image_height) / 2)

    def matrix(self, size: int | tuple[int, int] = PALM_INPUT_SIZE) -> np.ndarray:
        """(2, 3) float64 affine matrix from image pixels to input pixels."""
        in_h, in_w = input_hw(size)
        sx, sy = in_w / self.width, in_h / self.height
        return np.array([[sx, 0.0, sx * self.pad_x], [0.0, sy, sy * self.pad_y]])

    def input_to_image(self, size: int | tuple[int, int] = PALM_INPUT_SIZE) -> np.ndarray:
        """(2, 3) float64 affine matrix from input pixels to image pixels (inverse of :meth:`matrix`)."""
        in_h, in_w = input_hw(size)
        return np.array([[self.width / in_w, 0.0, -self.pad_x], [0.0, self.height / in_h, -self.pad_y]])

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Normalised input coordinates (..., 2) -> image pixels (..., 2)."""
        span = np.array([self.width, self.height], dtype=points.dtype)
        return points * span - np.array([self.pad_x, self.pad_y], dtype=points.dtype)


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


def letterbox(image: np.ndarray, size: int | tuple[int, int] = PALM_INPUT_SIZE, out: np.ndarray | None = None
              ) -> tuple[np.ndarray, Letterbox]:
    """Fit an RGB (or RGBA, alpha unused) uint8 image (H, W, 3|4) into a model input of ``size`` (a side or
    ``(height, width)``): a (height, width, 4) uint8 RGBA tensor keeping aspect (written into ``out`` when
    given; alpha unspecified).

    Like MediaPipe, the input rectangle is mapped corner to corner (pixel edges, not centres) onto the
    output with bilinear sampling and a zero border.
    """
    in_h, in_w = input_hw(size)
    box = Letterbox.fit(image.shape[0], image.shape[1], (in_h, in_w))
    if out is None:
        out = np.empty((in_h, in_w, 4), np.uint8)
    tensor = warp_into(image, box.input_to_image((in_h, in_w)), out, "zero")
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
    regressors: np.ndarray, anchors: np.ndarray | None = None,
    scale: float | tuple[float, float] = PALM_INPUT_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode raw SSD regressors against anchors.

    Args:
        regressors: (..., A, 18) raw offsets ``x, y, w, h`` then 7 keypoint ``x, y`` pairs, in input pixels.
        anchors: (A, 4) ``x_center, y_center, w, h`` normalised; defaults to :func:`palm_anchors` (192).
        scale: input size the offsets are expressed in: a side, or ``(width, height)``.

    Returns:
        boxes (..., A, 4) ``x_min, y_min, x_max, y_max`` and keypoints (..., A, 7, 2), both normalised.
    """
    if anchors is None:
        anchors = palm_anchors()
    centre, size = anchors[:, :2], anchors[:, 2:]
    scale = np.asarray(scale, regressors.dtype)  # () or (2,): x by the width, y by the height
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
    input_size: int | tuple[int, int] = PALM_INPUT_SIZE,
) -> PalmDetections:
    """Model outputs for one image -> :class:`PalmDetections` in image pixels.

    Args:
        regressors: (A, 18) raw regressors. logits: (A,) raw score logits. A: the anchors of
            :func:`palm_anchors` for ``input_size`` (2016 at 192x192).
        box: the :class:`Letterbox` the input was made with.
        input_size: the model input: a side, or ``(height, width)``.
    """
    # Scores only for anchors whose logit is near or above the threshold's (a handful of 2016): the same
    # set as scoring all of them, without the work.
    keep = np.flatnonzero(logits >= _logit_floor(min_score))
    scores = sigmoid_scores(logits[keep].astype(np.float32))
    keep, scores = keep[scores >= min_score], scores[scores >= min_score]
    if keep.size == 0:
        return PalmDetections.empty()
    in_h, in_w = input_hw(input_size)
    boxes, keypoints = decode_boxes(regressors[keep], palm_anchors(in_h, in_w)[keep], (in_w, in_h))
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

    ``model`` maps (N, H, W, 4) uint8 RGBA to regressors (N, A, 18) and logits (N, A), A =
    ``len(palm_anchors(H, W))``. ``input_size``: the input's long side, by default the model's own
    ``input_size`` attribute when it has one (:class:`~handtrace.runtime.PalmDetectorModel`), else 192.
    ``square``: letterbox every image into ``input_size`` x ``input_size``, as MediaPipe does; by default
    only when the model does not accept other sizes (``model.any_size``). Otherwise the input is
    :func:`palm_input_shape`: as wide and high as the image needs (the same detector, less black border to
    run on).
    """

    def __init__(self, model: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], min_score: float = 0.5,
                 iou_threshold: float = IOU_THRESHOLD, input_size: int | None = None,
                 square: bool | None = None) -> None:
        self.model = model
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self.input_size = input_size or getattr(model, "input_size", PALM_INPUT_SIZE)
        self.square = not getattr(model, "any_size", False) if square is None else square

    def __call__(self, image: np.ndarray) -> PalmDetections:
        """Detect palms in one RGB (or RGBA, alpha unused) uint8 image (H, W, 3|4)."""
        return self.detect_batch([image])[0]

    def input_shape(self, images: Sequence[np.ndarray]) -> tuple[int, int]:
        """The model input ``(height, width)`` for a batch of images (the smallest all of them fit in)."""
        size = self.input_size
        if self.square:
            return size, size
        shapes = [palm_input_shape(im.shape[0], im.shape[1], size) for im in images]
        return max(h for h, _ in shapes), max(w for _, w in shapes)

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[PalmDetections]:
        """Detect palms in several RGB uint8 images (any sizes) with one model call."""
        if not images:
            return []
        inputs = self.prepare(images)
        return self.decode(inputs, *self.model(inputs.batch))

    def prepare(self, images: Sequence[np.ndarray]) -> PalmInputs:
        """The model input for one or more images (letterboxed copies: the images may change afterwards)."""
        shape = self.input_shape(images)
        batch = np.empty((len(images), *shape, 4), np.uint8)
        boxes = tuple(letterbox(im, shape, tensor)[1] for im, tensor in zip(images, batch, strict=True))
        return PalmInputs(batch, boxes)

    def decode(self, inputs: PalmInputs, regressors: np.ndarray, logits: np.ndarray) -> list[PalmDetections]:
        """The model's outputs (N, A, 18) and (N, A) on ``inputs`` -> detections in each image's pixels."""
        return [postprocess(r, s, b, self.min_score, self.iou_threshold, inputs.shape)
                for r, s, b in zip(regressors, logits, inputs.letterboxes, strict=True)]


@dataclass(frozen=True)
class PalmInputs:
    """A palm-model input batch and how each image was fitted into it (:meth:`PalmDetector.prepare`)."""

    batch: np.ndarray  # (N, H, W, 4) uint8 RGBA
    letterboxes: tuple[Letterbox, ...]

    @property
    def shape(self) -> tuple[int, int]:
        """The input's ``(height, width)``."""
        return int(self.batch.shape[1]), int(self.batch.shape[2])
