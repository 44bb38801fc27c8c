"""Palm detector training images: real hands pasted on backgrounds at every scale (numpy + OpenCV, no torch).

BlazePalm was trained on real photos plus rendered hands over varied backgrounds. Here real photos stand in
for the rendered hand. Each training image is a *frame* of a random shape (square, 4:3, 16:9, portrait)
made in one of three ways, then fitted into the model input by the runtime's own letterbox
(:func:`handtrace.detection.letterbox`: zero border, same sampling), so the detector sees what it sees at
run time:

* **paste** (most frames): one or two hands cut from the photos around their keypoints (a soft-edged
  ellipse around the hand, 1.3-1.8x its keypoint box) pasted onto a background, rotated by any angle and
  scaled so the palm box spans 3% to 95% of the frame's short side (log-uniform: tiny far hands up to
  frame-filling ones);
* **photo**: the whole photo, zoomed in 1-2.5x around a random point (hands filling and leaving the frame)
  or out onto a background, rotated;
* **empty**: a background alone (negatives).

Backgrounds: photos without hands (by default the no-hand photos of ``mediapipe-rs``; any folder of images or
videos, whose frames are sampled), random crops of them, and synthetic textures (smooth noise, stripes,
checkers, blobs). Colour, brightness, noise, blur and flips are applied to the whole frame.

Ground truth travels with the pixels: every warp is an affine matrix applied to the 21 landmarks too; the
palm keypoints and the palm box (:func:`handtrace.evaluation.palm_box`) are taken in the input at the end.
A palm whose box centre is off the frame is dropped (its anchors are then ignored, not negatives).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from handtrace.detection import letterbox
from handtrace.evaluation import palm_box, palm_keypoints
from handtrace.io import read_image
from handtrace.training.palm_targets import IGNORE, palm_targets

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm"}
#: Frame shapes (width / height) drawn for each training image.
FRAME_ASPECTS = (1.0, 4 / 3, 16 / 9, 3 / 4)
#: Long side of composed frames in pixels: twice the input, between these bounds (then letterboxed down).
FRAME_LONG_SIDE = (128, 320)


@dataclass
class HandPhoto:
    """A photo and its annotated hands: RGB uint8 (H, W, 3), (G, 21, 2) pixel landmarks (NaN = unknown)."""

    image: np.ndarray
    hands: np.ndarray
    name: str = ""


def photos_from_samples(samples: Iterable) -> list[HandPhoto]:
    """:class:`HandPhoto` s from :func:`handtrace.training.data.load_annotations` samples (``image_path``,
    ``hands`` with ``keypoints`` (21, 2) and ``visible`` (21,)); keypoints not visible become NaN."""
    photos = []
    for s in samples:
        hands = []
        for h in s.hands:
            kp = np.asarray(h.keypoints, np.float64).reshape(21, 2).copy()
            kp[~np.asarray(h.visible, bool).reshape(21)] = np.nan
            hands.append(kp)
        photos.append(HandPhoto(read_image(s.image_path), np.asarray(hands, np.float64).reshape(-1, 21, 2),
                                getattr(s, "record", str(s.image_path))))
    return photos


def photos_from_eval_samples(samples: Iterable) -> list[HandPhoto]:
    """:class:`HandPhoto` s from :class:`handtrace.evaluation.Sample` s (image, hands, name)."""
    return [HandPhoto(s.image, np.asarray(s.hands, np.float64).reshape(-1, 21, 2), s.name) for s in samples]


def _video_frames(path: Path, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    try:
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or count
        frames = []
        for i in np.linspace(0, max(total - 1, 0), count).astype(int):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
            ok, frame = cap.read()
            if ok:
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        return frames
    finally:
        cap.release()


def load_backgrounds(paths: Sequence[str | Path], frames_per_video: int = 8) -> list[np.ndarray]:
    """RGB backgrounds (which must show no hands) from image files, videos (evenly spaced frames) and folders
    of them. Raises ``FileNotFoundError`` / ``ValueError`` naming a path that gives nothing."""
    out: list[np.ndarray] = []
    for p in map(Path, paths):
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        if not p.exists():
            raise FileNotFoundError(f"background not found: {p}")
        got = 0
        for f in files:
            if f.suffix.lower() in IMAGE_SUFFIXES:
                out.append(read_image(f))
                got += 1
            elif f.suffix.lower() in VIDEO_SUFFIXES:
                frames = _video_frames(f, frames_per_video)
                out += frames
                got += len(frames)
        if not got:
            raise ValueError(f"no background images or video frames in {p}")
    return out


def default_backgrounds(data_dir: str | Path | None = None) -> list[np.ndarray]:
    """The shared no-hand photos (``mediapipe-rs``, labelled ``negative``); empty when the data is absent."""
    from handtrace.datasets import data_root

    folder = Path(data_dir if data_dir is not None else data_root()) / "mediapipe-rs"
    labels = folder / "labels.csv"
    if not labels.is_file():
        return []
    with labels.open(newline="") as f:
        names = [row["file"] for row in csv.DictReader(f) if row.get("category") == "negative"]
    return [read_image(folder / n) for n in names if (folder / n).is_file()]


# ------------------------------------------------------------------------------------------ textures


def synthetic_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random RGB uint8 texture: smooth noise, stripes, a checkerboard or coloured blobs."""
    kind = rng.integers(4)
    if kind == 0:  # smooth colour noise: upsampled random grid
        cells = int(rng.integers(2, 24))
        grid = rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8)
        return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    c1, c2 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    if kind == 1:  # stripes at a random angle and period
        a = rng.uniform(0, np.pi)
        period = rng.uniform(4, 60)
        t = (0.5 + 0.5 * np.sin((xx * np.cos(a) + yy * np.sin(a)) * 2 * np.pi / period))[..., None]
        return (c1 * t + c2 * (1 - t)).astype(np.uint8)
    if kind == 2:  # checkerboard
        cell = rng.uniform(6, 60)
        t = ((xx // cell + yy // cell) % 2)[..., None]
        return (c1 * t + c2 * (1 - t)).astype(np.uint8)
    img = np.empty((height, width, 3), np.uint8)  # blobs on a flat colour
    img[:] = c1
    for _ in range(int(rng.integers(3, 12))):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(4, width // 2 + 5)), int(rng.integers(4, height // 2 + 5)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    return img


# ------------------------------------------------------------------------------------------ composing


def _affine(scale: float, angle: float, src_centre: np.ndarray, dst_centre: np.ndarray) -> np.ndarray:
    """(2, 3) matrix: rotate by ``angle`` (radians), scale about ``src_centre``, move it to ``dst_centre``."""
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    rot = np.array([[c, -s], [s, c]])
    return np.concatenate([rot, (dst_centre - rot @ src_centre)[:, None]], axis=1)


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _background(rng: np.random.Generator, backgrounds: Sequence[np.ndarray], height: int, width: int
                ) -> np.ndarray:
    """A random crop of a background photo (or a synthetic texture) resized to ``height`` x ``width``."""
    if not backgrounds or rng.random() < 0.35:
        return synthetic_texture(rng, height, width)
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    bh, bw = bg.shape[:2]
    zoom = rng.uniform(0.35, 1.0)  # share of the photo's fitting window kept
    ch, cw = (bh, bh * width / height) if bw * height >= bh * width else (bw * height / width, bw)
    ch, cw = ch * zoom, cw * zoom
    y0, x0 = rng.uniform(0, bh - ch), rng.uniform(0, bw - cw)
    crop = bg[int(y0): int(y0 + ch) + 1, int(x0): int(x0 + cw) + 1]
    out = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    return out[:, ::-1].copy() if rng.random() < 0.5 else out


def _palm_side(hand: np.ndarray) -> float:
    box = palm_box(hand)
    return float(box[2] - box[0])


#: Half-extent of a pasted hand (its cut-out ellipse) in palm-box sides, to keep hands from covering palms.
HAND_REACH = 2.0


def _overlaps(box: np.ndarray, centre: np.ndarray, reach: float) -> bool:
    """Whether ``box`` meets the square of half-side ``reach`` around ``centre``."""
    return bool((box[:2] < centre + reach).all() and (box[2:] > centre - reach).all())


def _hand_mask(photo_shape: tuple[int, int], hand: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """float32 (H, W) soft mask: an ellipse around the hand's keypoints, 1.3-1.8x their box, feathered."""
    pts = hand[~np.isnan(hand).any(axis=1)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre, half = (lo + hi) / 2, (hi - lo) / 2 * rng.uniform(1.3, 1.8) + 4
    mask = np.zeros(photo_shape, np.float32)
    cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (int(half[0]), int(half[1])), 0, 0, 360, 1.0, -1)
    k = int(max(3, 0.15 * half.min())) | 1
    return cv2.GaussianBlur(mask, (k, k), 0)


def _paste(frame: np.ndarray, image: np.ndarray, mask: np.ndarray | None, matrix: np.ndarray) -> None:
    """Warp ``image`` by ``matrix`` and blend it into ``frame`` through ``mask`` (the whole image if None)."""
    h, w = frame.shape[:2]
    warped = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if mask is None:
        mask = np.ones(image.shape[:2], np.float32)
    alpha = cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
    frame[:] = (warped * alpha + frame * (1 - alpha)).astype(np.uint8)


def _photometric(rng: np.random.Generator, frame: np.ndarray) -> np.ndarray:
    img = frame.astype(np.float32)
    img = img * rng.uniform(0.6, 1.4) + rng.uniform(-40, 40)  # contrast, brightness
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * rng.uniform(0.5, 1.5)  # saturation
    img *= rng.uniform(0.85, 1.15, 3)  # colour cast
    if rng.random() < 0.3:
        img += rng.normal(0, rng.uniform(2, 12), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.2:
        k = int(rng.choice([3, 5, 7]))
        if rng.random() < 0.5:
            img = cv2.GaussianBlur(img, (k, k), 0)
        else:  # motion blur along a random direction
            kernel = np.zeros((k, k), np.float32)
            kernel[k // 2] = 1.0 / k
            rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
            img = cv2.filter2D(img, -1, cv2.warpAffine(kernel, rot, (k, k)))
    return img


@dataclass(frozen=True)
class ComposeConfig:
    """How training frames are drawn (see the module docstring)."""

    paste: float = 0.6  # share of paste frames
    empty: float = 0.08  # share of frames with no hand
    min_palm: float = 0.03  # palm box side, share of the frame's short side (log-uniform)
    max_palm: float = 0.95
    two_hands: float = 0.25  # share of paste frames with a second hand
    full_rotation: float = 0.5  # share of hands rotated by any angle (else within +-30 degrees)


@dataclass
class Frame:
    """One composed input: (S, S, 3) uint8 RGB; palm ``boxes`` (G, 4) and ``keypoints`` (G, 7, 2) normalised
    to the input, and the hands' 21 ``landmarks`` (G, 21, 2) likewise; ``dropped`` palms (G2, 4) whose centre
    left the frame (ignored in training)."""

    image: np.ndarray
    boxes: np.ndarray
    keypoints: np.ndarray
    dropped: np.ndarray
    landmarks: np.ndarray


def compose(rng: np.random.Generator, photos: Sequence[HandPhoto], backgrounds: Sequence[np.ndarray],
            size: int = 192, config: ComposeConfig = ComposeConfig()) -> Frame:
    """Draw one training input of ``size`` x ``size`` (see the module docstring)."""
    aspect = float(rng.choice(FRAME_ASPECTS))
    long_side = min(max(2 * size, FRAME_LONG_SIDE[0]), FRAME_LONG_SIDE[1])
    fw, fh = (long_side, round(long_side / aspect)) if aspect >= 1 else (round(long_side * aspect), long_side)
    frame = _background(rng, backgrounds, fh, fw)
    hands: list[np.ndarray] = []
    short = min(fw, fh)

    def angle() -> float:
        return rng.uniform(-np.pi, np.pi) if rng.random() < config.full_rotation else rng.uniform(-0.5, 0.5)

    u = rng.random()
    if u < config.empty or not photos:
        pass
    elif u < config.empty + config.paste:
        for _ in range(2 if rng.random() < config.two_hands else 1):
            photo = photos[int(rng.integers(len(photos)))]
            if not len(photo.hands):
                continue
            hand = photo.hands[int(rng.integers(len(photo.hands)))]
            side = _palm_side(hand)
            if not side > 0:
                continue
            target = np.exp(rng.uniform(np.log(config.min_palm), np.log(config.max_palm))) * short
            box = palm_box(hand)
            centre = (box[:2] + box[2:]) / 2
            for _ in range(10):  # a second hand must not cover the first one's palm
                dst = np.array([rng.uniform(0.1, 0.9) * fw, rng.uniform(0.1, 0.9) * fh])
                reach = target * HAND_REACH
                if not any(_overlaps(palm_box(h), dst, reach) for h in hands):
                    break
            else:
                continue
            matrix = _affine(target / side, angle(), centre, dst)
            _paste(frame, photo.image, _hand_mask(photo.image.shape[:2], hand, rng), matrix)
            hands.append(_apply(matrix, hand))
    else:  # the whole photo, zoomed in or out around a random point, rotated
        photo = photos[int(rng.integers(len(photos)))]
        ph, pw = photo.image.shape[:2]
        zoom = np.exp(rng.uniform(np.log(0.4), np.log(2.5)))  # >1: zoomed in
        scale = zoom * min(fw / pw, fh / ph)
        src = np.array([rng.uniform(0.25, 0.75) * pw, rng.uniform(0.25, 0.75) * ph])
        matrix = _affine(scale, angle() if rng.random() < 0.5 else 0.0, src, np.array([fw / 2, fh / 2]))
        _paste(frame, photo.image, None, matrix)
        hands += [_apply(matrix, h) for h in photo.hands]
    if rng.random() < 0.5:
        frame = frame[:, ::-1].copy()
        hands = [np.column_stack([fw - h[:, 0], h[:, 1]]) for h in hands]
    frame = _photometric(rng, frame)
    return _letterboxed(frame, hands, size)


def _letterboxed(image: np.ndarray, hands: Sequence[np.ndarray], size: int) -> Frame:
    """Letterbox ``image`` into the input like the runtime, carrying the hands (pixel landmarks) along."""
    tensor, box = letterbox(image, size)
    to_input = box.matrix(size) / size  # image pixels -> normalised input
    landmarks = np.asarray([_apply(to_input, h) for h in hands], np.float64).reshape(-1, 21, 2)
    corners = _apply(to_input, np.array([[0.0, 0.0], image.shape[1::-1]], np.float64))
    boxes = palm_box(landmarks).reshape(-1, 4)
    keypoints = palm_keypoints(landmarks).reshape(-1, 7, 2)
    known = ~np.isnan(boxes).any(axis=1)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    # A palm whose centre is off the image (in the border or beyond) is not a target.
    inside = known & (centre >= corners[0]).all(axis=1) & (centre <= corners[1]).all(axis=1)
    dropped = np.nan_to_num(boxes[known & ~inside]).astype(np.float32)
    return Frame(tensor[..., :3].copy(), boxes[inside].astype(np.float32),
                 keypoints[inside].astype(np.float32), dropped, landmarks[inside])


def letterboxed(photo: HandPhoto, size: int = 192) -> Frame:
    """A photo as the runtime sees it: letterboxed into ``size`` x ``size``, no augmentation."""
    return _letterboxed(photo.image, list(photo.hands), size)


def frame_targets(frame: Frame, size: int = 192) -> tuple[np.ndarray, np.ndarray]:
    """Anchor labels (A,) int8 and raw regressors (A, 18) float32 of a frame; anchors matching a dropped palm
    (IoU >= the negative threshold) are ignored rather than negatives."""
    targets = palm_targets(frame.boxes, frame.keypoints, size)
    labels = targets.labels.copy()
    if len(frame.dropped):
        ignore = palm_targets(frame.dropped, np.zeros((len(frame.dropped), 7, 2)), size).labels != 0
        labels[ignore & (labels == 0)] = IGNORE
    return labels, targets.regressors
