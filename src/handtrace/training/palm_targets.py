"""Palm detector training targets on the runtime's anchors (numpy, no torch).

The network predicts, for each anchor of :func:`handtrace.anchors.palm_anchors` (2016 at 192x192), a score
logit and 18 raw regressors that :func:`handtrace.detection.decode_boxes` turns into a box and 7 palm
keypoints. Training needs the inverse: which anchors should fire for a ground-truth palm, and the raw
regressors that decode to it (:func:`encode`, exact inverse of the runtime decoder).

Ground truth comes from 21-point hand landmarks: the 7 palm keypoints by MediaPipe's convention
([0, 5, 9, 13, 17, 1, 2]) and the square palm box around them (:func:`handtrace.evaluation.palm_box`, whose
docstring says how it was reconstructed). Coordinates here are normalised to the model input (x by its
width, y by its height), as in :mod:`handtrace.detection`.

Anchor assignment. The runtime's anchors all have size 1 (``fixed_anchor_size``): sizes are regressed
outright. For matching, each anchor gets its SSD *nominal* square (the layer scale the anchor generator
would have used without ``fixed_anchor_size``, from 0.15 to 0.87 of the input), and, as in SSD/RetinaNet:
an anchor whose nominal box overlaps a palm box by IoU >= ``pos_iou`` is positive, one below ``neg_iou``
with every palm is negative, the ones between are ignored; each palm's best anchor (highest IoU; for palms
smaller than every nominal box, the one whose centre is nearest too) is positive whatever its IoU, so tiny
and unusual palms are never left without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from handtrace.anchors import input_hw, palm_anchors, ssd_anchors
from handtrace.detection import NUM_KEYPOINTS, box_iou_matrix

POS_IOU = 0.5
NEG_IOU = 0.4
POSITIVE, NEGATIVE, IGNORE = 1, 0, -1


@lru_cache(maxsize=8)
def nominal_anchor_boxes(height: int = 192, width: int | None = None) -> np.ndarray:
    """(A, 4) ``x_min, y_min, x_max, y_max`` nominal anchor squares, normalised, in the runtime anchor order.

    The nominal size is in input pixels relative to the short side, so the boxes are square in pixels.
    """
    h, w = input_hw((height, height if width is None else width))
    nominal = ssd_anchors((h, w), fixed_anchor_size=False).astype(np.float64)
    side = nominal[:, 2:3] * min(h, w)  # pixels
    half = np.concatenate([side / w, side / h], axis=1) / 2
    boxes = np.concatenate([nominal[:, :2] - half, nominal[:, :2] + half], axis=1)
    boxes.setflags(write=False)
    return boxes


@dataclass(frozen=True)
class PalmTargets:
    """Targets of one image.

    Attributes:
        labels: (A,) int8: 1 positive, 0 negative, -1 ignored.
        regressors: (A, 18) float32 raw regressors (input pixels) of each positive anchor's palm; 0 elsewhere.
        matched: (A,) int64 index of the palm each anchor is matched to (-1 for none).
    """

    labels: np.ndarray
    regressors: np.ndarray
    matched: np.ndarray


def assign_anchors(boxes: np.ndarray, anchor_boxes: np.ndarray, anchor_centres: np.ndarray,
                   pos_iou: float = POS_IOU, neg_iou: float = NEG_IOU) -> tuple[np.ndarray, np.ndarray]:
    """Match anchors to palm boxes.

    Args:
        boxes: (G, 4) palm boxes, normalised. anchor_boxes: (A, 4) nominal anchor boxes.
        anchor_centres: (A, 2) anchor centres (tie-break for palms smaller than every anchor).

    Returns:
        labels (A,) int8 (1 / 0 / -1) and matched (A,) int64 palm index (-1 where not positive).
    """
    n = len(anchor_boxes)
    labels = np.zeros(n, np.int8)
    matched = np.full(n, -1, np.int64)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return labels, matched
    iou = box_iou_matrix(anchor_boxes, boxes)  # (A, G)
    best_gt = iou.argmax(axis=1)
    best_iou = iou[np.arange(n), best_gt]
    labels[best_iou >= neg_iou] = IGNORE
    positive = best_iou >= pos_iou
    labels[positive] = POSITIVE
    matched[positive] = best_gt[positive]
    # Every palm keeps its best anchor: highest IoU, then nearest centre (IoU ties at tiny boxes).
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    dist = np.linalg.norm(anchor_centres[:, None, :] - centres[None], axis=-1)  # (A, G)
    rank = np.lexsort((dist, -np.round(iou, 6)), axis=0)[0]  # (G,) best anchor per palm
    labels[rank] = POSITIVE
    matched[rank] = np.arange(len(boxes))
    return labels, matched


def encode(boxes: np.ndarray, keypoints: np.ndarray, anchors: np.ndarray,
           scale: float | tuple[float, float]) -> np.ndarray:
    """Raw regressors that :func:`handtrace.detection.decode_boxes` decodes to ``boxes`` and ``keypoints``.

    Args:
        boxes: (..., 4) ``x_min, y_min, x_max, y_max`` normalised. keypoints: (..., 7, 2) normalised.
        anchors: (..., 4) the anchor of each row, ``x_center, y_center, w, h``.
        scale: input size the offsets are expressed in: a side, or ``(width, height)``.

    Returns:
        (..., 18) float32.
    """
    scale = np.asarray(scale, np.float64)
    anchors = np.asarray(anchors, np.float64)
    centre, size = anchors[..., :2], anchors[..., 2:]
    boxes = np.asarray(boxes, np.float64)
    xy = ((boxes[..., :2] + boxes[..., 2:]) / 2 - centre) / size * scale
    wh = (boxes[..., 2:] - boxes[..., :2]) / size * scale
    kp = (np.asarray(keypoints, np.float64) - centre[..., None, :]) / size[..., None, :] * scale
    return np.concatenate([xy, wh, kp.reshape(*kp.shape[:-2], 2 * NUM_KEYPOINTS)], axis=-1).astype(np.float32)


def palm_targets(boxes: np.ndarray, keypoints: np.ndarray, input_size: int | tuple[int, int] = 192,
                 pos_iou: float = POS_IOU, neg_iou: float = NEG_IOU) -> PalmTargets:
    """Anchor labels and regressors for the palms of one input image.

    Args:
        boxes: (G, 4) palm boxes, normalised to the input. keypoints: (G, 7, 2) palm keypoints, normalised.
        input_size: the model input, a side or ``(height, width)``.
    """
    h, w = input_hw(input_size)
    anchors = palm_anchors(h, w)
    labels, matched = assign_anchors(boxes, nominal_anchor_boxes(h, w), anchors[:, :2], pos_iou, neg_iou)
    regressors = np.zeros((len(anchors), 4 + 2 * NUM_KEYPOINTS), np.float32)
    pos = np.flatnonzero(labels == POSITIVE)
    if pos.size:
        g = matched[pos]
        regressors[pos] = encode(np.asarray(boxes)[g], np.asarray(keypoints)[g], anchors[pos], (w, h))
    return PalmTargets(labels, regressors, matched)
