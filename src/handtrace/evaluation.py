"""Keypoint evaluation against annotated hand photos.

The pieces are small and independent:

* loaders (:func:`load_hand_graph_cnn`, :func:`load_mmpose`) yield :class:`Sample` tuples
  ``(image RGB uint8, ground-truth hands, name)``; a ground-truth hand is a (21, 2) float array in
  pixels (MediaPipe joint order) with NaN where a joint is not annotated;
* :func:`pad_samples` adds a black border and shifts the ground truth;
* :func:`match_hands` / :func:`score_image` pair predictions with ground truth (greedy, by mean
  keypoint distance) and measure per-keypoint errors;
* :func:`evaluate` runs a tracker over samples into per-image :class:`ImageRecord` s, which
  :func:`summarize` turns into a :class:`Summary` and :func:`format_table` into markdown.

PCK@a is the share of annotated ground-truth keypoints whose error is within ``a`` times the
largest side of that hand's ground-truth keypoint box; keypoints of a hand that was not found
count as misses. The mean error in pixels is over the keypoints of found hands only.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from handtrace.datasets import data_root
from handtrace.io import read_image

__all__ = [
    "MMPOSE_SUBSETS",
    "PALM_LANDMARKS",
    "ImageRecord",
    "PalmRecord",
    "PalmSummary",
    "Sample",
    "Summary",
    "average_precision",
    "evaluate",
    "evaluate_palms",
    "format_table",
    "keypoint_box_size",
    "load_hand_graph_cnn",
    "load_mmpose",
    "match_hands",
    "match_palms",
    "pad_sample",
    "pad_samples",
    "palm_box",
    "palm_keypoints",
    "score_image",
    "summarize",
    "summarize_groups",
    "summarize_palms",
]

NUM_KEYPOINTS = 21
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.1, 0.2)

#: mmpose test-data subsets understood by :func:`load_mmpose`, in the order they are read.
MMPOSE_SUBSETS: tuple[str, ...] = ("freihand", "onehand10k", "panoptic", "interhand2.6m", "coco_wholebody")


class Sample(NamedTuple):
    """One annotated image: RGB uint8 (H, W, 3), ground-truth hands ((21, 2) px, NaN = unknown), name."""

    image: np.ndarray
    hands: list[np.ndarray]
    name: str


# --------------------------------------------------------------------------------------------- loading


def _as_hand(xy: Any, valid: Any = None) -> np.ndarray:
    """(21, 2) float64 with NaN rows where ``valid`` is false."""
    hand = np.asarray(xy, np.float64).reshape(NUM_KEYPOINTS, 2).copy()
    if valid is not None:
        hand[~np.asarray(valid, bool).reshape(NUM_KEYPOINTS)] = np.nan
    return hand


def load_hand_graph_cnn(root: str | Path | None = None) -> Iterator[Sample]:
    """The 150 real-world photos of Ge et al. (``hand-graph-cnn-realworld/``), one hand each.

    ``root`` is the shared data folder (default :func:`handtrace.datasets.data_root`).
    """
    folder = Path(root if root is not None else data_root()) / "hand-graph-cnn-realworld"
    meta = json.loads((folder / "annotations_21kp.json").read_text())
    for s in meta["samples"]:
        yield Sample(
            read_image(folder / s["image"]), [_as_hand(s["keypoints_2d"])], f"hand-graph-cnn/{s['image']}"
        )


def _coco_hands(keypoints: Sequence[float]) -> np.ndarray:
    kp = np.asarray(keypoints, np.float64).reshape(NUM_KEYPOINTS, 3)
    return _as_hand(kp[:, :2], kp[:, 2] > 0)


def _coco_style(folder: Path, json_name: str, wholebody: bool) -> list[tuple[Path, list[np.ndarray]]]:
    """(image path, hands) per image of a COCO-style file; images without a valid hand are dropped."""
    meta = json.loads((folder / json_name).read_text())
    hands: dict[int, list[np.ndarray]] = {im["id"]: [] for im in meta["images"]}
    for ann in meta["annotations"]:
        if wholebody:
            for side in ("lefthand", "righthand"):
                if ann.get(f"{side}_valid") and np.any(np.asarray(ann[f"{side}_kpts"])[2::3] > 0):
                    hands[ann["image_id"]].append(_coco_hands(ann[f"{side}_kpts"]))
        else:
            hands[ann["image_id"]].append(_coco_hands(ann["keypoints"]))
    return [(folder / im["file_name"], hands[im["id"]]) for im in meta["images"] if hands[im["id"]]]


#: InterHand2.6M orders each hand's joints finger by finger, tip to base, wrist last.
#: MediaPipe joint i is InterHand joint _INTERHAND_TO_MP[i].
_INTERHAND_TO_MP = np.array([20] + [4 * f + 3 - k for f in range(5) for k in range(4)])


def _interhand(folder: Path) -> list[tuple[Path, list[np.ndarray]]]:
    """Project InterHand2.6M's 3D world joints (mm) into the images with each camera's parameters."""
    data = json.loads((folder / "test_interhand2.6m_data.json").read_text())
    cams = json.loads((folder / "test_interhand2.6m_camera.json").read_text())
    joints = json.loads((folder / "test_interhand2.6m_joint_3d.json").read_text())
    anns = {a["image_id"]: a for a in data["annotations"]}
    out = []
    for im in data["images"]:
        capture, cam = str(im["capture"]), str(im["camera"])
        entry = joints[capture][str(im["frame_idx"])]
        world = np.asarray(entry["world_coord"], np.float64)  # (42, 3)
        valid = np.asarray(anns[im["id"]]["joint_valid"] if im["id"] in anns else entry["joint_valid"], bool)
        c = cams[capture]
        rot, pos = np.asarray(c["camrot"][cam], np.float64), np.asarray(c["campos"][cam], np.float64)
        cam_xyz = (world - pos) @ rot.T
        uv = cam_xyz[:, :2] / cam_xyz[:, 2:] * np.asarray(c["focal"][cam]) + np.asarray(c["princpt"][cam])
        valid = valid.reshape(-1) & (cam_xyz[:, 2] > 0)
        hands = []
        for half in (slice(0, 21), slice(21, 42)):  # right hand, then left hand
            idx = _INTERHAND_TO_MP
            h_uv, h_valid = uv[half][idx], valid[half][idx]
            if h_valid.any():
                hands.append(_as_hand(h_uv, h_valid))
        if hands:
            out.append((folder / im["file_name"], hands))
    return out


def _mmpose_entries(folder: Path, subset: str) -> list[tuple[Path, list[np.ndarray]]]:
    if subset == "interhand2.6m":
        return _interhand(folder / "interhand2.6m")
    if subset == "coco_wholebody":
        return _coco_style(folder / "coco", "test_coco_wholebody.json", wholebody=True)
    return _coco_style(folder / subset, f"test_{subset}.json", wholebody=False)


def load_mmpose(root: str | Path | None = None, subsets: Iterable[str] = MMPOSE_SUBSETS) -> Iterator[Sample]:
    """mmpose's hand test images (``mmpose/``): FreiHAND, OneHand10K, Panoptic, InterHand2.6M, COCO-WholeBody.

    Names are ``"<subset>/<file>"``. InterHand2.6M's 3D joints are projected with its camera files.
    Byte-identical images within a subset (Panoptic annotates one picture once per hand) are merged
    into one sample holding all their hands. Only annotated hands are ground truth: COCO-WholeBody
    hands marked invalid are not counted (a prediction there is simply unmatched).
    """
    folder = Path(root if root is not None else data_root()) / "mmpose"
    for subset in subsets:
        if subset not in MMPOSE_SUBSETS:
            raise ValueError(f"unknown mmpose subset {subset!r}; expected one of {MMPOSE_SUBSETS}")
        merged: dict[str, tuple[Path, list[np.ndarray]]] = {}
        for path, hands in _mmpose_entries(folder, subset):
            digest = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else str(path)
            merged.setdefault(digest, (path, []))[1].extend(hands)
        for path, hands in merged.values():
            yield Sample(read_image(path), hands, f"{subset}/{path.name}")


def pad_sample(sample: Sample, pad: int) -> Sample:
    """The sample with ``pad`` px of black on every side and its ground truth shifted to match."""
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    if pad == 0:
        return sample
    image = cv2.copyMakeBorder(sample.image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return Sample(image, [h + pad for h in sample.hands], sample.name)


def pad_samples(samples: Iterable[Sample], pad: int) -> Iterator[Sample]:
    """:func:`pad_sample` over an iterable."""
    for s in samples:
        yield pad_sample(s, pad)


# -------------------------------------------------------------------------------------------- scoring


def keypoint_box_size(hand: np.ndarray) -> float:
    """Largest side of the box around a hand's annotated keypoints (NaN rows ignored)."""
    xy = np.asarray(hand, np.float64)[:, :2]
    xy = xy[~np.isnan(xy).any(axis=1)]
    if len(xy) == 0:
        return float("nan")
    return float((xy.max(axis=0) - xy.min(axis=0)).max())


def _distances(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(P, G, 21) keypoint distances between every predicted and ground-truth hand (NaN = unannotated)."""
    return np.linalg.norm(pred[:, None, :, :] - gt[None, :, :, :], axis=-1)


def match_hands(
    pred: Sequence[np.ndarray], gt: Sequence[np.ndarray], max_mean_error: float | None = 1.0
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching, lowest normalised mean keypoint distance first.

    Args:
        pred: predicted hands, each (21, >=2) pixels.
        gt: ground-truth hands, each (21, 2) pixels, NaN where unannotated.
        max_mean_error: pairs whose mean distance exceeds this many ground-truth box sizes (largest
            side of the keypoint box) are never matched; ``None`` matches regardless of distance.

    Returns:
        ``(pred_index, gt_index)`` pairs, in matching order.
    """
    if len(pred) == 0 or len(gt) == 0:
        return []
    p = np.stack([np.asarray(h, np.float64)[:, :2] for h in pred])
    g = np.stack([np.asarray(h, np.float64)[:, :2] for h in gt])
    sizes = np.array([keypoint_box_size(h) for h in g])
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = np.nanmean(_distances(p, g), axis=-1) / np.maximum(sizes, 1e-6)[None, :]
    cost = np.where(np.isnan(cost), np.inf, cost)
    pairs: list[tuple[int, int]] = []
    used_p: set[int] = set()
    used_g: set[int] = set()
    limit = np.inf if max_mean_error is None else max_mean_error
    for flat in np.argsort(cost, axis=None, kind="stable"):
        i, j = divmod(int(flat), len(g))
        if cost[i, j] > limit or not np.isfinite(cost[i, j]):
            break
        if i not in used_p and j not in used_g:
            pairs.append((i, j))
            used_p.add(i)
            used_g.add(j)
    return pairs


def _rounded(x: float, digits: int) -> float | None:
    """``x`` rounded for JSON output; ``None`` for NaN (a figure with nothing to measure)."""
    return None if np.isnan(x) else round(float(x), digits)


@dataclass
class HandScore:
    """One ground-truth hand of one image and how well it was found."""

    gt_index: int
    pred_index: int | None  # None when not found
    box_size: float  # largest side of the ground-truth keypoint box, px
    errors: np.ndarray  # (21,) px; NaN where unannotated or not found
    valid: np.ndarray  # (21,) bool: annotated keypoints

    @property
    def found(self) -> bool:
        return self.pred_index is not None

    @property
    def mean_error(self) -> float:
        """Mean keypoint error in px (NaN when not found)."""
        return float(np.nanmean(self.errors)) if self.found and self.valid.any() else float("nan")

    def pck(self, alpha: float) -> float:
        """Share of this hand's annotated keypoints within ``alpha * box_size`` (0 when not found)."""
        if not self.valid.any():
            return float("nan")
        return float(np.mean(np.nan_to_num(self.errors[self.valid], nan=np.inf) <= alpha * self.box_size))


def score_image(
    pred: Sequence[np.ndarray], gt: Sequence[np.ndarray], max_mean_error: float | None = 1.0
) -> list[HandScore]:
    """Match ``pred`` to ``gt`` (see :func:`match_hands`) and measure each ground-truth hand's errors."""
    pairs = {j: i for i, j in match_hands(pred, gt, max_mean_error)}
    scores = []
    for j, g in enumerate(gt):
        g = np.asarray(g, np.float64)[:, :2]
        valid = ~np.isnan(g).any(axis=1)
        i = pairs.get(j)
        if i is None:
            errors = np.full(NUM_KEYPOINTS, np.nan)
        else:
            errors = np.linalg.norm(np.asarray(pred[i], np.float64)[:, :2] - g, axis=1)
        scores.append(HandScore(j, i, keypoint_box_size(g), errors, valid))
    return scores


@dataclass
class ImageRecord:
    """Everything measured on one image, for summaries and for inspecting failures."""

    name: str
    width: int
    height: int
    num_pred: int
    ms: float
    hands: list[HandScore] = field(default_factory=list)

    def to_dict(self, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> dict[str, Any]:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "num_pred": self.num_pred,
            "ms": round(self.ms, 2),
            "hands": [
                {
                    "gt_index": h.gt_index,
                    "pred_index": h.pred_index,
                    "box_size": _rounded(h.box_size, 2),
                    "mean_error_px": _rounded(h.mean_error, 2),
                    **{f"pck@{a:g}": _rounded(h.pck(a), 3) for a in thresholds},
                    "errors_px": [_rounded(e, 2) for e in h.errors],
                }
                for h in self.hands
            ],
        }


def _predicted_xy(hands: Iterable[Any]) -> list[np.ndarray]:
    """(21, 2) pixel arrays from :class:`~handtrace.results.Hand` objects or plain arrays."""
    return [np.asarray(getattr(h, "landmarks", h), np.float64)[:, :2] for h in hands]


def evaluate(
    tracker: Any,
    samples: Iterable[Sample],
    *,
    max_mean_error: float | None = 1.0,
    on_record: Callable[[ImageRecord], None] | None = None,
) -> list[ImageRecord]:
    """Run ``tracker`` over ``samples`` and score every image.

    Args:
        tracker: an object with ``process(rgb) -> list[Hand]`` (a still-image ``HandTracker``), or a
            callable doing the same; predictions may also be (21, >=2) arrays.
        samples: :class:`Sample` s, e.g. from :func:`load_hand_graph_cnn`.
        max_mean_error: matching limit, see :func:`match_hands`.
        on_record: called with each record as it is made (progress reporting).

    Only the ``process`` call is timed.
    """
    process = tracker.process if hasattr(tracker, "process") else tracker
    records = []
    for image, gt, name in samples:
        t0 = time.perf_counter()
        pred = process(image)
        ms = (time.perf_counter() - t0) * 1e3
        rec = ImageRecord(name, image.shape[1], image.shape[0], len(pred), ms)
        rec.hands = score_image(_predicted_xy(pred), gt, max_mean_error)
        records.append(rec)
        if on_record is not None:
            on_record(rec)
    return records


# ------------------------------------------------------------------------------------------ summaries


@dataclass(frozen=True)
class Summary:
    """Aggregate metrics over a set of images (see the module docstring for definitions)."""

    images: int
    gt_hands: int
    found: int
    pck: dict[float, float]  # alpha -> share of annotated GT keypoints within alpha * box size
    mean_error_px: float  # over annotated keypoints of found hands
    median_ms: float

    @property
    def found_rate(self) -> float:
        return self.found / self.gt_hands if self.gt_hands else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "gt_hands": self.gt_hands,
            "found": self.found,
            "found_rate": _rounded(self.found_rate, 4),
            **{f"pck@{a:g}": _rounded(v, 4) for a, v in self.pck.items()},
            "mean_error_px": _rounded(self.mean_error_px, 3),
            "median_ms": _rounded(self.median_ms, 2),
        }


def summarize(records: Sequence[ImageRecord], thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> Summary:
    """Aggregate :class:`ImageRecord` s into one :class:`Summary`."""
    hands = [h for r in records for h in r.hands]
    nan = float("nan")
    if hands:
        errors = np.stack([h.errors for h in hands])  # (N, 21)
        valid = np.stack([h.valid for h in hands])
        sizes = np.array([h.box_size for h in hands])[:, None]
        found = np.array([h.found for h in hands])
        err_all = np.where(valid, np.nan_to_num(errors, nan=np.inf), np.nan)
        n_valid = valid.sum()
        pck = {
            float(a): float(np.sum(err_all <= a * sizes) / n_valid) if n_valid else nan for a in thresholds
        }
        found_err = errors[found][valid[found]]
        mean_err = float(found_err.mean()) if found_err.size else nan
    else:
        found = np.zeros(0, bool)
        pck = {float(a): nan for a in thresholds}
        mean_err = nan
    ms = float(np.median([r.ms for r in records])) if records else nan
    return Summary(len(records), len(hands), int(found.sum()), pck, mean_err, ms)


def summarize_groups(
    records: Sequence[ImageRecord],
    key: Callable[[ImageRecord], str] = lambda r: r.name.split("/", 1)[0],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> dict[str, Summary]:
    """One :class:`Summary` per group (default: the name's first path part, e.g. the mmpose subset)."""
    groups: dict[str, list[ImageRecord]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return {k: summarize(v, thresholds) for k, v in groups.items()}


def format_table(rows: Mapping[str, Summary] | Sequence[tuple[str, Summary]], title: str = "input") -> str:
    """A markdown table, one row per labelled :class:`Summary`."""
    items = list(rows.items()) if isinstance(rows, Mapping) else list(rows)
    alphas = sorted({a for _, s in items for a in s.pck})

    def pct(x: float) -> str:
        return "-" if np.isnan(x) else f"{100 * x:.1f}%"

    def fix(x: float, nd: int) -> str:
        return "-" if np.isnan(x) else f"{x:.{nd}f}"

    head = [title, "images", "hands found", *(f"PCK@{a:g}" for a in alphas)]
    head += ["mean error (px, found hands)", "median ms/image"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, s in items:
        cells = [label, str(s.images), f"{pct(s.found_rate)} ({s.found}/{s.gt_hands})"]
        cells += [pct(s.pck.get(a, float("nan"))) for a in alphas]
        cells += [fix(s.mean_error_px, 2), fix(s.median_ms, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ palm boxes
#
# The palm detector is scored as the BlazePalm paper scores it: average precision of its boxes at IoU 0.5.
# MediaPipe never published how its palm boxes were drawn; the ground-truth box here is the usual
# reconstruction: a square around the 7 palm keypoints (the 21-point landmarks [0, 5, 9, 13, 17, 1, 2], the
# detector's keypoint order), centred on their bounding box, its side the box's long side times
# PALM_BOX_SCALE. 1.065 is the median ratio of MediaPipe's own boxes to that long side on the 150
# hand-graph-cnn photos padded by 128 px (10th-90th percentile 0.96-1.17; centres agree within 3% of the
# side), so MediaPipe's weights are scored against boxes of the size they draw.

#: Palm detector keypoints in terms of the 21 landmarks: wrist, index/middle/ring/pinky MCP, thumb CMC, MCP.
PALM_LANDMARKS: tuple[int, ...] = (0, 5, 9, 13, 17, 1, 2)
PALM_BOX_SCALE = 1.065
#: A hand needs this many annotated palm keypoints to have a ground-truth palm box.
MIN_PALM_POINTS = 3
DEFAULT_PALM_IOU = 0.5


def palm_keypoints(landmarks: np.ndarray) -> np.ndarray:
    """The detector's 7 palm keypoints (..., 7, 2) from 21 hand landmarks (..., 21, >=2)."""
    return np.asarray(landmarks)[..., PALM_LANDMARKS, :2]


def palm_box(landmarks: np.ndarray, scale: float = PALM_BOX_SCALE) -> np.ndarray:
    """Square palm boxes (..., 4) ``x_min, y_min, x_max, y_max`` from landmarks (..., 21, >=2).

    Palm keypoints that are NaN (not annotated) are left out; a hand with fewer than
    :data:`MIN_PALM_POINTS` annotated gets a NaN box.
    """
    kp = palm_keypoints(np.asarray(landmarks, np.float64))
    valid = ~np.isnan(kp).any(axis=-1)
    with warnings.catch_warnings():  # all-NaN hands: NaN boxes, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanmin(kp, axis=-2), np.nanmax(kp, axis=-2)
    centre = (lo + hi) / 2
    half = (hi - lo).max(axis=-1, keepdims=True) * scale / 2
    box = np.concatenate([centre - half, centre + half], axis=-1)
    box[valid.sum(axis=-1) < MIN_PALM_POINTS] = np.nan
    return box


def match_palms(boxes: np.ndarray, scores: np.ndarray, gt_boxes: np.ndarray,
                iou_threshold: float = DEFAULT_PALM_IOU) -> np.ndarray:
    """Which detections are true positives: greedy by score, each ground-truth box taken once.

    Args:
        boxes: (K, 4) detected boxes. scores: (K,). gt_boxes: (G, 4) ground truth.

    Returns:
        (K,) bool, in the order of ``boxes``: matched a not yet taken ground-truth box at IoU >= threshold.
    """
    from handtrace.detection import box_iou_matrix

    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    tp = np.zeros(len(boxes), bool)
    if not len(boxes) or not len(gt_boxes):
        return tp
    iou = box_iou_matrix(boxes, gt_boxes)
    taken = np.zeros(len(gt_boxes), bool)
    for k in np.argsort(-np.asarray(scores), kind="stable"):
        candidates = np.where(taken, -1.0, iou[k])
        j = int(np.argmax(candidates))
        if candidates[j] >= iou_threshold:
            tp[k] = taken[j] = True
    return tp


def average_precision(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> float:
    """Area under the precision-recall curve (all points, precision made monotone, as PASCAL VOC 2010+).

    Args:
        scores: (N,) detection scores pooled over all images. tp: (N,) bool, true positive or not.
        num_gt: ground-truth boxes over all images.
    """
    if num_gt <= 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    hits = np.asarray(tp, bool)[order]
    tps, fps = np.cumsum(hits), np.cumsum(~hits)
    recall = np.concatenate([[0.0], tps / num_gt])
    precision = np.concatenate([[1.0], tps / np.maximum(tps + fps, 1)])
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the best precision at this recall or more
    return float(np.sum(np.diff(recall) * precision[1:]))


@dataclass
class PalmRecord:
    """Palm detections of one image, scored against its ground-truth palm boxes."""

    name: str
    num_gt: int
    scores: np.ndarray  # (K,) detection scores
    tp: np.ndarray  # (K,) bool true positive at the IoU threshold

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "num_gt": self.num_gt, "scores": [round(float(s), 4) for s in self.scores],
                "tp": [bool(t) for t in self.tp]}


@dataclass(frozen=True)
class PalmSummary:
    """Average precision over a set of images, and recall/precision at one score threshold."""

    images: int
    gt_hands: int
    ap: float
    threshold: float
    recall: float  # share of ground-truth palms found with score >= threshold
    precision: float  # share of detections with score >= threshold that are true

    def to_dict(self) -> dict[str, Any]:
        return {"images": self.images, "gt_hands": self.gt_hands, "ap@0.5": _rounded(self.ap, 4),
                "threshold": self.threshold, "recall": _rounded(self.recall, 4),
                "precision": _rounded(self.precision, 4)}


def evaluate_palms(
    detect: Callable[[np.ndarray], Any], samples: Iterable[Sample], iou_threshold: float = DEFAULT_PALM_IOU,
    on_record: Callable[[PalmRecord], None] | None = None,
) -> list[PalmRecord]:
    """Run a palm detector over ``samples`` and score its boxes against :func:`palm_box` of the ground truth.

    ``detect(image)`` returns an object with ``boxes`` (K, 4) pixels and ``scores`` (K,), e.g.
    :class:`handtrace.detection.PalmDetector` (give it a low ``min_score`` so the whole precision-recall
    curve is seen). Ground-truth hands without a palm box (too few annotated palm points) are not counted,
    and unmatched detections centred inside such a hand's keypoint box are dropped rather than counted as
    false.
    """
    records = []
    for image, hands, name in samples:
        det = detect(image)
        boxes = np.asarray(det.boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(det.scores, np.float64).reshape(-1)
        gt = palm_box(np.stack(hands)) if hands else np.zeros((0, 4))
        known = ~np.isnan(gt).any(axis=1)
        tp = match_palms(boxes, scores, gt[known], iou_threshold)
        unknown = [h for h, k in zip(hands, known, strict=True) if not k and not np.isnan(h).all()]
        if unknown:  # detections of hands without a palm box are neither right nor wrong
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo = np.stack([np.nanmin(h[:, :2], axis=0) for h in unknown])
                hi = np.stack([np.nanmax(h[:, :2], axis=0) for h in unknown])
            centre = (boxes[:, None, :2] + boxes[:, None, 2:]) / 2
            inside = ((centre >= lo) & (centre <= hi)).all(axis=-1).any(axis=1)
            keep = tp | ~inside
            boxes, scores, tp = boxes[keep], scores[keep], tp[keep]
        rec = PalmRecord(name, int(known.sum()), scores, tp)
        records.append(rec)
        if on_record is not None:
            on_record(rec)
    return records


def summarize_palms(records: Sequence[PalmRecord], threshold: float = 0.5) -> PalmSummary:
    """Pool :class:`PalmRecord` s into AP and the recall and precision at ``threshold``."""
    scores = np.concatenate([r.scores for r in records]) if records else np.zeros(0)
    tp = np.concatenate([r.tp for r in records]).astype(bool) if records else np.zeros(0, bool)
    num_gt = sum(r.num_gt for r in records)
    above = scores >= threshold
    recall = float(tp[above].sum() / num_gt) if num_gt else float("nan")
    precision = float(tp[above].mean()) if above.any() else float("nan")
    ap = average_precision(scores, tp, num_gt)
    return PalmSummary(len(records), num_gt, ap, threshold, recall, precision)
