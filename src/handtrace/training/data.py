"""Hand keypoint annotations for training: readers for several layouts into one :class:`Sample` list.

:func:`load_annotations` takes a folder or a file and finds its layout:

* **handtrace layout** (also your own data): a JSON list (or JSON Lines) of image records
  ``{"image": "photos/a.jpg", "hands": [{"landmarks": 21 x [x, y] or [x, y, z], "handedness": "Left"}]}``;
  optional per hand: ``"visible"`` (21 booleans, labelled points), ``"world_landmarks"`` (21 x [x, y, z]
  metres); ``"hands": []`` marks a photo with no hand (a negative). Image paths are relative to the
  annotation file's folder (or to the working directory, where ``handtrace detect`` wrote them). This is
  what ``handtrace detect -o labels.json`` writes, so its output pseudo-labels photos as it is.
* ``handtrace track -o labels.jsonl`` output (records with ``"frame"``): the frames are the images of
  ``images`` (a folder, natural order), frame ``i`` the ``i``-th image.
* **COCO** keypoint files with 21 hand keypoints per annotation, and **COCO-WholeBody** files
  (``lefthand_kpts`` / ``righthand_kpts`` with their ``*_valid`` flags, handedness from the side).
* **hand-graph-cnn-realworld** (a folder with ``annotations_21kp.json``): 2D keypoints plus the 3D camera
  coordinates, from which depth (pixels, wrist 0) and world landmarks (metres) are derived.

Points are MediaPipe's 21 in its order (``handtrace.LANDMARK_NAMES``), pixels, origin top-left. A bad
annotation (wrong point count, missing image, labelled point outside the image) raises
:class:`AnnotationError` naming the file and the record; nothing is skipped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handtrace.io import IMAGE_SUFFIXES

__all__ = ["AnnotationError", "HandLabel", "Sample", "load_annotations"]

NUM_KEYPOINTS = 21
#: A labelled point may lie this many pixels outside the image (rounding of clicked or projected points).
OUTSIDE_TOLERANCE = 2.0
HANDEDNESS = ("Left", "Right")


class AnnotationError(ValueError):
    """A bad annotation; the message starts with ``file#record``."""


@dataclass
class HandLabel:
    """One labelled hand.

    Attributes:
        keypoints: (21, 2) float32 pixels (0 where not labelled).
        visible: (21,) bool, the labelled points.
        depth: (21,) float32 relative depth at the scale of x, pixels, wrist 0 (smaller is nearer), when
            3D is known.
        world: (21, 3) float32 metres, camera axes (x right, y down, z away), origin at the points' mean, when
            3D is known.
        handedness: "Left" / "Right" as in an ordinary (non-mirrored) photo, or None.
    """

    keypoints: np.ndarray
    visible: np.ndarray
    depth: np.ndarray | None = None
    world: np.ndarray | None = None
    handedness: str | None = None


@dataclass
class Sample:
    """One image and its hands (an empty list: a photo with no hand)."""

    image_path: Path
    hands: list[HandLabel]
    record: str  # "annotations.json#<record id>", for error messages


# ---------------------------------------------------------------------------------------------- checks


class _Record:
    """Where an annotation comes from, and its checks (each failure names ``file#record``)."""

    def __init__(self, file: Path, record: Any) -> None:
        self.file, self.id = file, record
        self.name = f"{file}#{record}"

    def error(self, message: str) -> AnnotationError:
        return AnnotationError(f"{self.name}: {message}")

    def points(self, values: Any, dims: int, what: str) -> np.ndarray:
        """``values`` as (21, dims) float32; the count checked."""
        try:
            arr = np.asarray(values, np.float64)
        except (TypeError, ValueError) as exc:
            raise self.error(f"{what} is not a list of numbers ({exc})") from None
        if arr.size != NUM_KEYPOINTS * dims or (arr.ndim == 2 and arr.shape[1] != dims):
            raise self.error(f"{what}: expected {NUM_KEYPOINTS} points of {dims} values, got shape "
                             f"{arr.shape} ({arr.size / dims:g} points)")
        arr = arr.reshape(NUM_KEYPOINTS, dims)
        if not np.isfinite(arr).all():
            raise self.error(f"{what}: not finite (NaN or infinity)")
        return arr.astype(np.float32)

    def image(self, path: Path) -> Path:
        if not path.is_file():
            raise self.error(f"image not found: {path}")
        return path

    def inside(self, hand: HandLabel, width: int, height: int) -> HandLabel:
        xy = hand.keypoints[hand.visible]
        t = OUTSIDE_TOLERANCE
        bad = (xy[:, 0] < -t) | (xy[:, 1] < -t) | (xy[:, 0] > width + t) | (xy[:, 1] > height + t)
        if bad.any():
            idx = np.flatnonzero(hand.visible)[bad]
            raise self.error(f"keypoint(s) {idx.tolist()} outside the {width}x{height} image: "
                             f"{np.round(hand.keypoints[idx], 1).tolist()}")
        return hand

    def handedness(self, value: Any) -> str | None:
        if value is None or value in HANDEDNESS:
            return value
        raise self.error(f"handedness must be 'Left', 'Right' or null, got {value!r}")


def _image_size(path: Path, where: _Record) -> tuple[int, int]:
    """(width, height) of an image file, reading it (for layouts that do not record sizes)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise where.error(f"cannot read image {path}")
    return image.shape[1], image.shape[0]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{path}: not valid JSON: {exc}") from None


def _read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """(line number, object) of each non-empty line."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise AnnotationError(f"{path}#line {n}: not valid JSON: {exc}") from None
    return out


def _resolve(name: str, base: Path) -> Path:
    """An image path from an annotation: absolute, else relative to the annotation's folder, else to the
    working directory (``handtrace detect`` records paths as given on its command line)."""
    p = Path(name)
    if p.is_absolute():
        return p
    here = base / p
    return here if here.exists() or not p.exists() else p


# ----------------------------------------------------------------------------------------- hand-graph


def _hand_graph(file: Path) -> list[Sample]:
    """hand-graph-cnn's real-world set: 2D keypoints, 3D camera coordinates (cm) and the crop's intrinsics."""
    meta = _read_json(file)
    samples = []
    for i, s in enumerate(meta.get("samples", [])):
        where = _Record(file, s.get("image", i))
        xy = where.points(s.get("keypoints_2d"), 2, "keypoints_2d")
        hand = HandLabel(xy, np.ones(NUM_KEYPOINTS, bool))
        if s.get("keypoints_3d_cam_cm") is not None:
            cam = where.points(s["keypoints_3d_cam_cm"], 3, "keypoints_3d_cam_cm").astype(np.float64) / 100
            fx = float((s.get("K_crop") or {}).get("fx", 0))
            if fx <= 0 or (cam[:, 2] <= 0).any():
                raise where.error("3D keypoints need K_crop.fx > 0 and points in front of the camera")
            # A length L at the wrist's depth Z0 spans fx * L / Z0 pixels: depth at the scale of x.
            hand.depth = (fx * (cam[:, 2] - cam[0, 2]) / cam[0, 2]).astype(np.float32)
            hand.world = (cam - cam.mean(axis=0)).astype(np.float32)
        path = where.image(file.parent / s["image"])
        w, h = s.get("width"), s.get("height")
        if not (w and h):
            w, h = _image_size(path, where)
        samples.append(Sample(path, [where.inside(hand, int(w), int(h))], where.name))
    return samples


# ----------------------------------------------------------------------------------------------- COCO


def _coco_hand(where: _Record, kpts: Any, what: str, handedness: str | None) -> HandLabel:
    arr = where.points(kpts, 3, what)
    visible = arr[:, 2] > 0
    xy = np.where(visible[:, None], arr[:, :2], 0).astype(np.float32)
    return HandLabel(xy, visible, handedness=handedness)


def _coco(file: Path, meta: dict[str, Any]) -> list[Sample]:
    """COCO keypoints (21 per annotation) or COCO-WholeBody (``lefthand_kpts`` / ``righthand_kpts``)."""
    images = {im["id"]: im for im in meta["images"]}
    hands: dict[Any, list[HandLabel]] = {}
    for ann in meta["annotations"]:
        where = _Record(file, f"annotation {ann.get('id', '?')}")
        im = images.get(ann.get("image_id"))
        if im is None:
            raise where.error(f"image_id {ann.get('image_id')!r} is not among the file's images")
        found = []
        if "lefthand_kpts" in ann or "righthand_kpts" in ann:
            for side, label in (("lefthand", "Left"), ("righthand", "Right")):
                kpts = ann.get(f"{side}_kpts")
                # The format's own flag: an invalid (unlabelled) hand is no annotation, not a bad one.
                if ann.get(f"{side}_valid") and kpts is not None:
                    hand = _coco_hand(where, kpts, f"{side}_kpts", label)
                    if hand.visible.any():
                        found.append(hand)
        elif "keypoints" in ann:
            hand = _coco_hand(where, ann["keypoints"], "keypoints", None)
            if hand.visible.any():
                found.append(hand)
        else:
            raise where.error("no keypoints, lefthand_kpts or righthand_kpts")
        for hand in found:
            where.inside(hand, int(im["width"]), int(im["height"]))
        hands.setdefault(im["id"], []).extend(found)
    samples = []
    for image_id, found in hands.items():
        if not found:  # a person without labelled hands: not a photo without hands
            continue
        im = images[image_id]
        where = _Record(file, f"image {image_id}")
        samples.append(Sample(where.image(_resolve(im["file_name"], file.parent)), found, where.name))
    return samples


# ------------------------------------------------------------------------------------- handtrace output


def _handtrace_hand(where: _Record, h: Any, k: int) -> HandLabel:
    if not isinstance(h, dict) or "landmarks" not in h:
        raise where.error(f"hand {k}: expected an object with 'landmarks'")
    lm = np.asarray(h["landmarks"], dtype=object)
    dims = lm.shape[1] if lm.ndim == 2 and lm.shape[1] in (2, 3) else 2
    pts = where.points(h["landmarks"], dims, f"hand {k} landmarks")
    visible = np.ones(NUM_KEYPOINTS, bool)
    if h.get("visible") is not None:
        visible = np.asarray(h["visible"], bool).reshape(-1)
        if visible.shape != (NUM_KEYPOINTS,):
            raise where.error(f"hand {k} visible: expected {NUM_KEYPOINTS} booleans, got {visible.size}")
    world = h.get("world_landmarks")
    return HandLabel(
        keypoints=np.where(visible[:, None], pts[:, :2], 0).astype(np.float32),
        visible=visible,
        depth=(pts[:, 2] - pts[0, 2]).astype(np.float32) if dims == 3 else None,
        world=where.points(world, 3, f"hand {k} world_landmarks") if world is not None else None,
        handedness=where.handedness(h.get("handedness")),
    )


def _handtrace_records(file: Path, records: Iterable[tuple[Any, Any]], images: Path | None) -> list[Sample]:
    frames: list[Path] | None = None
    samples = []
    for rid, rec in records:
        where = _Record(file, rid)
        if not isinstance(rec, dict) or not isinstance(rec.get("hands", None), list):
            if isinstance(rec, dict) and "error" in rec:  # ``detect`` could not read this image
                raise where.error(f"the record is a failed image: {rec['error']}")
            raise where.error("expected an object with 'image' (or 'frame') and a 'hands' list")
        if "image" in rec:
            path = where.image(_resolve(str(rec["image"]), file.parent))
        elif "frame" in rec:
            if frames is None:
                frames = _frame_images(file, images)
            i = int(rec["frame"])
            if not 0 <= i < len(frames):
                raise where.error(f"frame {i}: the frames folder {images} has {len(frames)} images")
            path = frames[i]
        else:
            raise where.error("expected 'image' (a path) or 'frame' (an index into the frames folder)")
        hands = [_handtrace_hand(where, h, k) for k, h in enumerate(rec["hands"])]
        w, h = rec.get("width"), rec.get("height")
        if hands and not (w and h):
            w, h = _image_size(path, where)
        # Model output (pseudo-labels) may extend past the border, where the model extrapolated the hand;
        # only hand-made labels are held to the image.
        pseudo = any("presence" in hh for hh in rec["hands"] if isinstance(hh, dict))
        if not pseudo:
            for hand in hands:
                where.inside(hand, int(w), int(h))
        samples.append(Sample(path, hands, where.name))
    return samples


def _frame_images(file: Path, images: Path | None) -> list[Path]:
    from handtrace.video import natural_key

    if images is None or not Path(images).is_dir():
        raise AnnotationError(f"{file}: frame records ('handtrace track' output) need the frames: pass "
                              f"images=FOLDER (CLI: --images), the folder of frames that was tracked")
    paths = [p for p in Path(images).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(paths, key=natural_key)


# ----------------------------------------------------------------------------------------------- entry


def _load_file(file: Path, images: Path | None) -> list[Sample]:
    if file.suffix.lower() == ".jsonl":
        return _handtrace_records(file, ((f"line {n}", r) for n, r in _read_jsonl(file)), images)
    meta = _read_json(file)
    if isinstance(meta, dict) and "annotations" in meta and "images" in meta:
        return _coco(file, meta)
    if isinstance(meta, dict) and isinstance(meta.get("samples"), list):
        return _hand_graph(file)
    if isinstance(meta, list):
        return _handtrace_records(file, enumerate(meta), images)
    raise AnnotationError(f"{file}: unknown annotation layout (expected COCO, hand-graph-cnn's "
                          "annotations_21kp.json, or a list of {'image', 'hands'} records)")


#: Annotation files looked for in a folder, in this order.
FOLDER_FILES = ("annotations_21kp.json", "annotations.json", "annotations.jsonl", "labels.json",
                "labels.jsonl")


def load_annotations(path: str | Path, images: str | Path | None = None) -> list[Sample]:
    """Every annotated image of ``path``: an annotation file, or a folder holding one of
    :data:`FOLDER_FILES`; the layout is detected from the content (see the module docstring).

    ``images``: the frames folder for ``handtrace track`` output. Raises :class:`AnnotationError` on a bad
    annotation and ``FileNotFoundError`` when nothing is there.
    """
    path = Path(path)
    frames = Path(images) if images is not None else None
    if path.is_dir():
        for name in FOLDER_FILES:
            if (path / name).is_file():
                return _load_file(path / name, frames)
        raise FileNotFoundError(f"{path}: no annotation file here (looked for {', '.join(FOLDER_FILES)})")
    if not path.is_file():
        raise FileNotFoundError(f"annotations not found: {path}")
    return _load_file(path, frames)


def load_many(paths: Iterable[str | Path], images: str | Path | None = None,
              loader: Callable[..., list[Sample]] = load_annotations) -> list[Sample]:
    """:func:`load_annotations` of several files or folders, concatenated."""
    out: list[Sample] = []
    for p in paths:
        out.extend(loader(p, images))
    return out
