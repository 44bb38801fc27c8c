"""Landmark-model training examples: rotated square crops with the runtime's region geometry; augmentation.

A hand's crop is the region the runtime's refinement and tracking use (:func:`handtrace.roi.landmarks_to_roi`
of its keypoints: rotated so the fingers point up, twice the hand's size), jittered in centre, scale and angle
as a palm detection or the previous frame's landmarks would place it, then cut with the runtime's own warp
(:func:`handtrace.landmarks.crop_regions`). Targets are mapped with the same matrices, so a model trained here
sees exactly what it sees at run time. Negatives (presence 0) are crops of photos with no hand and crops
shifted off the hand.

Augmentation, all on the 224x224 uint8 crop: colour (brightness, contrast, saturation, hue), blur (Gaussian or
motion blur along a random direction), sensor noise, occluding patches, and a horizontal flip that mirrors the
targets and swaps handedness.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from handtrace.io import read_image
from handtrace.landmarks import LANDMARK_INPUT_SIZE, NORMALIZE_Z, crop_regions
from handtrace.roi import ROI_LANDMARKS, apply_affine, image_to_crop_matrices, landmarks_to_roi
from handtrace.training.data import NUM_KEYPOINTS, HandLabel, Sample

SIZE = LANDMARK_INPUT_SIZE
#: Right/left swap of the 21 points under a horizontal flip: none (each point keeps its name).
HANDEDNESS_FLIP = {"Left": "Right", "Right": "Left", None: None}


@dataclass(frozen=True)
class Jitter:
    """Random region changes around the keypoints' region (uniform in each range).

    ``shift``: centre offset in region widths along each axis; ``scale``: region size factor (log-uniform);
    ``angle``: rotation offset in degrees. The defaults cover where palm detections and the first pass's
    landmarks put the region of a hand: on the 150 hand-graph-cnn photos, relative to the keypoints' own
    region, detections are 0.93x its size (5-95%: 0.82-1.03), off by 0.01 +- 0.04 / -0.06 +- 0.05 widths
    across / along the hand, turned by 4 +- 18 degrees; regions from the first pass 1.02x (0.94-1.10),
    within 0.03 widths, -0.3 +- 5.1 degrees (``benchmarks/landmark_regions.py``).
    """

    shift: float = 0.07
    scale: tuple[float, float] = (0.8, 1.12)
    angle: float = 20.0


NO_JITTER = Jitter(0.0, (1.0, 1.0), 0.0)


@dataclass(frozen=True)
class Augment:
    """Probabilities and strengths of the photometric augmentations and the flip."""

    colour: float = 0.8
    blur: float = 0.25
    motion_blur: float = 0.5  # share of blurs that are motion blur
    noise: float = 0.25
    occlude: float = 0.25
    flip: float = 0.5


NO_AUGMENT = Augment(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass
class Example:
    """One crop and its targets (arrays ready to stack into a batch).

    image: (224, 224, 3) uint8 RGB. keypoints: (21, 3) float32 crop pixels x, y and the model's z (crop
    pixels before ``NORMALIZE_Z``). Masks say which targets exist: ``visible`` (21,), ``has_depth``,
    ``has_world``, ``has_handedness``; ``presence`` 1 for a hand, 0 for a negative. ``world`` (21, 3)
    metres in the crop's axes; ``right`` 1 for a right hand (the model's handedness output). ``scale``:
    image pixels per crop pixel, to report errors in image pixels.
    """

    image: np.ndarray
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((NUM_KEYPOINTS, 3), np.float32))
    visible: np.ndarray = field(default_factory=lambda: np.zeros(NUM_KEYPOINTS, bool))
    world: np.ndarray = field(default_factory=lambda: np.zeros((NUM_KEYPOINTS, 3), np.float32))
    presence: float = 0.0
    right: float = 0.0
    has_depth: bool = False
    has_world: bool = False
    has_handedness: bool = False
    scale: float = 1.0


def hand_region(hand: HandLabel) -> np.ndarray:
    """The runtime's region (5,) ``cx, cy, w, h, rotation`` for a labelled hand: :func:`landmarks_to_roi` when
    the points it uses are labelled, else an upright square twice the labelled points' box."""
    if hand.visible[ROI_LANDMARKS].all():
        return landmarks_to_roi(hand.keypoints[None])[0]
    xy = hand.keypoints[hand.visible]
    lo, hi = xy.min(0), xy.max(0)
    side = 2.0 * max(float((hi - lo).max()), 1.0)
    return np.array([*(lo + hi) / 2, side, side, 0.0])


def jitter_region(roi: np.ndarray, jitter: Jitter, rng: np.random.Generator) -> np.ndarray:
    """``roi`` (5,) moved, scaled and turned at random within ``jitter``."""
    cx, cy, w, h, r = roi
    dx, dy = rng.uniform(-jitter.shift, jitter.shift, 2) * w
    s = np.exp(rng.uniform(*np.log(jitter.scale)))
    turn = np.deg2rad(rng.uniform(-jitter.angle, jitter.angle))
    return np.array([cx + dx, cy + dy, w * s, h * s, r + turn])


def _rotate_z(points: np.ndarray, angle: float) -> np.ndarray:
    """Rotate (21, 3) points about z by ``angle`` (radians), x right, y down."""
    c, s = np.cos(angle), np.sin(angle)
    x, y = points[:, 0], points[:, 1]
    return np.stack([c * x - s * y, s * x + c * y, points[:, 2]], -1)


def hand_example(image: np.ndarray, hand: HandLabel, roi: np.ndarray) -> Example:
    """The crop of ``roi`` (5,) with ``hand``'s targets in crop coordinates (the inverse of the runtime's
    projection in :mod:`handtrace.landmarks`)."""
    rois = roi[None]
    crop = crop_regions(image, rois)[0, :, :, :3].copy()
    xy = apply_affine(image_to_crop_matrices(rois, SIZE), hand.keypoints[None].astype(np.float64))[0]
    scale = float(roi[2]) / SIZE
    z = np.zeros(NUM_KEYPOINTS) if hand.depth is None else hand.depth / scale * NORMALIZE_Z
    ex = Example(crop, np.concatenate([xy, z[:, None]], 1).astype(np.float32), hand.visible.copy(),
                 presence=1.0, has_depth=hand.depth is not None, scale=scale)
    if hand.world is not None:  # the runtime turns the model's world output by the region's rotation
        ex.world, ex.has_world = _rotate_z(hand.world, -float(roi[4])).astype(np.float32), True
    if hand.handedness is not None:
        ex.right, ex.has_handedness = float(hand.handedness == "Right"), True
    return ex


def negative_example(image: np.ndarray, roi: np.ndarray) -> Example:
    """A crop with no hand in it (presence 0)."""
    return Example(crop_regions(image, roi[None])[0, :, :, :3].copy(), presence=0.0)


def off_hand_region(hands: Sequence[HandLabel], roi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A region like ``roi`` moved off every hand: at least 1.2 region widths from the hand it came from in a
    random direction (the hand, twice smaller than the region, is then outside it or at its very edge)."""
    angle = rng.uniform(0, 2 * np.pi)
    dist = rng.uniform(1.2, 1.6) * roi[2]
    out = roi.copy()
    out[:2] += dist * np.array([np.cos(angle), np.sin(angle)])
    out[4] += rng.uniform(-np.pi, np.pi)
    return out


def random_region(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A random square region inside an image (for photos with no hand)."""
    side = rng.uniform(0.2, 1.0) * min(height, width)
    cx, cy = rng.uniform(side / 2, width - side / 2), rng.uniform(side / 2, height - side / 2)
    return np.array([cx, cy, side, side, rng.uniform(-np.pi, np.pi)])


# ------------------------------------------------------------------------------------------ augmentation


def flip(ex: Example) -> Example:
    """Mirror the crop left-right: x -> size - x, world x -> -x, handedness swapped."""
    ex.image = np.ascontiguousarray(ex.image[:, ::-1])
    ex.keypoints = ex.keypoints.copy()
    ex.keypoints[:, 0] = SIZE - ex.keypoints[:, 0]
    ex.world = ex.world * np.array([-1, 1, 1], np.float32)
    ex.right = 1.0 - ex.right
    return ex


def colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation and hue jitter."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
    hsv[..., 1] *= rng.uniform(0.6, 1.4)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    mean = out.mean()
    out = (out - mean) * rng.uniform(0.7, 1.3) + mean * rng.uniform(0.7, 1.3)
    return np.clip(out, 0, 255).astype(np.uint8)


def blur(image: np.ndarray, rng: np.random.Generator, motion: float) -> np.ndarray:
    """Gaussian blur, or with probability ``motion`` a motion blur (a line kernel in a random direction)."""
    if rng.random() < motion:
        length = int(rng.integers(5, 16))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0
        turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, turn, (length, length))
        return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 2.0))


def noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian sensor noise."""
    return np.clip(image + rng.normal(0, rng.uniform(3, 12), image.shape), 0, 255).astype(np.uint8)


def occlude(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One to three patches (flat colour or noise) over parts of the crop, up to a third of its side."""
    out = image.copy()
    for _ in range(int(rng.integers(1, 4))):
        w, h = (rng.uniform(0.08, 0.33, 2) * SIZE).astype(int)
        x, y = int(rng.integers(0, SIZE - w)), int(rng.integers(0, SIZE - h))
        if rng.random() < 0.5:
            out[y:y + h, x:x + w] = rng.integers(0, 256, 3, dtype=np.uint8)
        else:
            out[y:y + h, x:x + w] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return out


def augment(ex: Example, aug: Augment, rng: np.random.Generator) -> Example:
    """Apply :class:`Augment`'s operations to an example, each with its probability."""
    if rng.random() < aug.flip:
        ex = flip(ex)
    if rng.random() < aug.colour:
        ex.image = colour(ex.image, rng)
    if rng.random() < aug.blur:
        ex.image = blur(ex.image, rng, aug.motion_blur)
    if rng.random() < aug.noise:
        ex.image = noise(ex.image, rng)
    if rng.random() < aug.occlude:
        ex.image = occlude(ex.image, rng)
    return ex


# ------------------------------------------------------------------------------------------------ dataset


class LandmarkExamples:
    """Training examples of a list of :class:`Sample`: one jittered, augmented crop per labelled hand per
    epoch, plus ``negatives`` times as many negatives (crops of photos without hands when there are any,
    else crops shifted off the hands). Deterministic for a given ``seed`` and epoch.
    """

    def __init__(self, samples: Sequence[Sample], *, jitter: Jitter = Jitter(), aug: Augment = Augment(),
                 negatives: float = 0.25, seed: int = 0, cache_images: int = 4096) -> None:
        self.samples = list(samples)
        self.hands = [(i, k) for i, s in enumerate(self.samples) for k in range(len(s.hands))]
        self.empty = [i for i, s in enumerate(self.samples) if not s.hands]
        self.jitter, self.aug, self.negatives, self.seed = jitter, aug, negatives, seed
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = cache_images

    def image(self, i: int) -> np.ndarray:
        """Sample ``i``'s image (RGB uint8), kept in a bounded cache."""
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        image = read_image(self.samples[i].image_path)
        self._cache[i] = image
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return image

    def epoch(self, epoch: int) -> list[tuple[str, int, int, int]]:
        """The epoch's work list, shuffled: ``(kind, sample, hand, seed)``, kind "hand", "off" or "empty"."""
        rng = np.random.default_rng([self.seed, epoch])
        items = [("hand", i, k) for i, k in self.hands]
        n_neg = round(self.negatives * len(self.hands)) if self.hands else 0
        for _ in range(n_neg):
            if self.empty and (not self.hands or rng.random() < 0.5):
                items.append(("empty", int(rng.choice(self.empty)), -1))
            elif self.hands:
                i, k = self.hands[int(rng.integers(len(self.hands)))]
                items.append(("off", i, k))
        order = rng.permutation(len(items))
        seeds = rng.integers(0, 2**31, len(items))
        return [(*items[j], int(seeds[n])) for n, j in enumerate(order)]

    def make(self, item: tuple[str, int, int, int]) -> Example:
        """The example of one work-list item (same item, same example)."""
        kind, i, k, seed = item
        rng = np.random.default_rng(seed)
        image = self.image(i)
        if kind == "empty":
            ex = negative_example(image, random_region(*image.shape[:2], rng))
        else:
            hand = self.samples[i].hands[k]
            roi = jitter_region(hand_region(hand), self.jitter, rng)
            if kind == "off":
                ex = negative_example(image, off_hand_region(self.samples[i].hands, roi, rng))
            else:
                ex = hand_example(image, hand, roi)
        return augment(ex, self.aug, rng)


def collate(examples: Sequence[Example]) -> dict[str, np.ndarray]:
    """Stack examples into batch arrays (names as :class:`Example`'s fields)."""
    return {
        "image": np.stack([e.image for e in examples]),
        "keypoints": np.stack([e.keypoints for e in examples]),
        "visible": np.stack([e.visible for e in examples]),
        "world": np.stack([e.world for e in examples]),
        "presence": np.array([e.presence for e in examples], np.float32),
        "right": np.array([e.right for e in examples], np.float32),
        "has_depth": np.array([e.has_depth for e in examples]),
        "has_world": np.array([e.has_world for e in examples]),
        "has_handedness": np.array([e.has_handedness for e in examples]),
        "scale": np.array([e.scale for e in examples], np.float32),
    }
