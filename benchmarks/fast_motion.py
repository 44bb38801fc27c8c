"""Fast-motion test data from real photos: a hand photo moved across a real background at a set speed.

Each clip pastes one shared hand photo (a rectangular patch with its own background, edges feathered over a
few pixels) on a real 960x540 frame with no hand in it, and moves it across the frame at a constant speed (20,
40, 60, 80 or 100 px per frame by default) in a straight line that bounces off the frame's edges, while it
also scales (+-10%) and turns (+-12 degrees) slowly. The ground-truth keypoints go through the same affine
transform as the pixels. Everything is seeded, so the same arguments give the same frames.

* Hand photos: ``hand-graph-cnn-realworld`` (150 photos, 256x256, 21 keypoints fitted with depth; default) or
  ``mmpose/freihand`` (8 photos, 224x224), both in MediaPipe's keypoint order.
* Background: frame 0 of ``mediapipe-samples/gesture_test_video_victory_thumbup.mp4`` (a woman in front of a
  dark cloth before she raises her hand: a face and shoulders, no hand), 1280x720 resized to 960x540.
* Scoring (:func:`score_clip`): a frame is correct when the mean distance between the predicted and true 21
  keypoints (x, y) is at most 10% of the hand size, the longest side of the ground-truth keypoint box in that
  frame; a frame with no predicted hand is wrong and counted apart; detector runs are reported as given.

Usage::

    python benchmarks/fast_motion.py                          # describe the default clips
    python benchmarks/fast_motion.py --save DIR [--every 10]  # write a sample of frames as PNGs to look at
    python benchmarks/fast_motion.py --save DIR --gt          # ... with the ground-truth keypoints drawn
    python benchmarks/fast_motion.py --shutter 0.5 --noise 3  # with motion blur and sensor noise

The runner that tracks these clips with handtrace and MediaPipe comes with the tracker.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

try:
    from handtrace.datasets import data_root
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from handtrace.datasets import data_root

FRAME_SIZE = (960, 540)  # width, height
SPEEDS = (20, 40, 60, 80, 100)  # px per frame
BACKGROUND_VIDEO = "mediapipe-samples/gesture_test_video_victory_thumbup.mp4"
BACKGROUND_FRAME = 0
HAND_GRAPH = "hand-graph-cnn-realworld"
FREIHAND = "mmpose/freihand"
#: Share of hand size within which a frame's mean keypoint error counts as correct.
TOLERANCE = 0.1


@dataclass(frozen=True)
class Photo:
    """A hand photo and its keypoints: ``image`` (H, W, 3) RGB uint8, ``keypoints`` (21, 2) px."""

    name: str
    image: np.ndarray
    keypoints: np.ndarray


@dataclass(frozen=True)
class Clip:
    """One rendered clip.

    Attributes:
        photo: name of the pasted photo. speed: px per frame.
        frames: (N, 540, 960, 3) RGB uint8.
        keypoints: (N, 21, 2) float32 ground truth, px.
        hand_size: (N,) float32, longest side of each frame's ground-truth keypoint box, px.
        transforms: (N, 2, 3) float64 affine maps from photo to frame pixels.
    """

    photo: str
    speed: float
    frames: np.ndarray
    keypoints: np.ndarray
    hand_size: np.ndarray
    transforms: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class ClipScore:
    """Result of one tracker on one clip (see :func:`score_clip`)."""

    frames: int
    correct: int
    no_hand: int
    detector_runs: int | None
    mean_error: float  # mean over frames with a hand of (mean keypoint error / hand size)

    @property
    def correct_share(self) -> float:
        return self.correct / self.frames if self.frames else 0.0

    def to_dict(self) -> dict[str, float | int | None]:
        return {"frames": self.frames, "correct": self.correct, "correct_share": round(self.correct_share, 4),
                "no_hand": self.no_hand, "detector_runs": self.detector_runs,
                "mean_error": round(self.mean_error, 4)}


# -- data --------------------------------------------------------------------------------------------------
def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_photos(source: str = "hand-graph", data: Path | None = None) -> list[Photo]:
    """The hand photos of ``source`` ("hand-graph" or "freihand"), in file order.

    Raises:
        FileNotFoundError: when the shared data is absent.
    """
    root = Path(data) if data is not None else data_root()
    photos: list[Photo] = []
    if source == "hand-graph":
        ann = json.loads((root / HAND_GRAPH / "annotations_21kp.json").read_text())
        for s in ann["samples"]:
            kp = np.asarray(s["keypoints_2d"], np.float32).reshape(21, 2)
            photos.append(Photo(Path(s["image"]).stem, _read_rgb(root / HAND_GRAPH / s["image"]), kp))
    elif source == "freihand":
        ann = json.loads((root / FREIHAND / "test_freihand.json").read_text())
        files = {im["id"]: im["file_name"] for im in ann["images"]}
        for a in sorted(ann["annotations"], key=lambda a: files[a["image_id"]]):
            kp = np.asarray(a["keypoints"], np.float32).reshape(21, 3)[:, :2]
            name = files[a["image_id"]]
            photos.append(Photo(Path(name).stem, _read_rgb(root / FREIHAND / name), kp))
    else:
        raise ValueError(f"unknown photo source {source!r}: use 'hand-graph' or 'freihand'")
    return photos


def load_background(data: Path | None = None, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """The background frame, (H, W, 3) RGB uint8, scaled to cover ``size`` (width, height), centre-cropped."""
    root = Path(data) if data is not None else data_root()
    path = root / BACKGROUND_VIDEO
    if not path.is_file():
        raise FileNotFoundError(f"background video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, BACKGROUND_FRAME)
        ok, bgr = cap.read()
    finally:
        cap.release()
    if not ok:
        raise ValueError(f"cannot read frame {BACKGROUND_FRAME} of {path}")
    w, h = size
    s = max(w / bgr.shape[1], h / bgr.shape[0])
    new_size = (round(bgr.shape[1] * s), round(bgr.shape[0] * s))
    resized = cv2.resize(bgr, new_size, interpolation=cv2.INTER_AREA)
    y0, x0 = (resized.shape[0] - h) // 2, (resized.shape[1] - w) // 2
    return np.ascontiguousarray(cv2.cvtColor(resized[y0:y0 + h, x0:x0 + w], cv2.COLOR_BGR2RGB))


# -- rendering ---------------------------------------------------------------------------------------------
def _feather_mask(h: int, w: int, feather: float) -> np.ndarray:
    """(h, w) float32 alpha: 1 inside, a linear ramp to 0 over ``feather`` px at the patch's edges."""
    if feather <= 0:
        return np.ones((h, w), np.float32)
    ramp_y = np.clip((np.minimum(np.arange(h), np.arange(h)[::-1]) + 0.5) / feather, 0, 1)
    ramp_x = np.clip((np.minimum(np.arange(w), np.arange(w)[::-1]) + 0.5) / feather, 0, 1)
    return np.minimum.outer(ramp_y, ramp_x).astype(np.float32)


def _affine(
    center: np.ndarray, scale: np.ndarray, angle: np.ndarray, patch_size: tuple[int, int]
) -> np.ndarray:
    """(N, 2, 3) maps from patch pixels to frame pixels: rotate by ``angle`` and scale about the patch centre,
    then put that centre at ``center`` (N, 2)."""
    pw, ph = patch_size
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    m = np.empty((len(center), 2, 3))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    pc = np.array([(pw - 1) / 2, (ph - 1) / 2])
    m[:, :, 2] = center - np.einsum("nij,j->ni", m[:, :, :2], pc)
    return m


def _fold(p: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Positions on an unbounded line folded into [lo, hi]: a straight path that bounces off both ends."""
    span = hi - lo
    if span <= 0:
        return np.full_like(p, (lo + hi) / 2)
    u = np.mod(p - lo, 2 * span)
    return lo + span - np.abs(u - span)


def render_clip(
    photo: Photo,
    background: np.ndarray,
    speed: float,
    n_frames: int = 60,
    seed: int = 0,
    *,
    patch_scale: float = 0.8,
    scale_amplitude: float = 0.10,
    angle_amplitude_deg: float = 12.0,
    feather: float = 6.0,
    noise_std: float = 0.0,
    shutter: float = 0.0,
) -> Clip:
    """Render ``photo`` moving over ``background`` at ``speed`` px per frame.

    The patch centre moves in a straight line (direction within 30 degrees of horizontal, seeded) and bounces
    off the edges so that the whole patch stays in the frame; the scale is ``patch_scale * (1 +
    scale_amplitude * sin(...))`` and the angle ``angle_amplitude_deg * sin(...)``, with seeded periods of
    40-80 frames.

    Args:
        photo: the hand photo. background: (H, W, 3) RGB uint8 frame.
        speed: centre displacement per frame, px (0 gives a still hand).
        n_frames: clip length. seed: random seed (the clip depends only on its arguments).
        feather: width of the patch edge's alpha ramp, px (a soft edge, no hard seam).
        noise_std: standard deviation of Gaussian pixel noise added to each frame (sensor noise), 0 for none.
        shutter: motion blur: the share of the frame interval the shutter stays open (e.g. 0.5); the frame
            averages renders spaced at most 2 px apart over that interval. 0: no blur.

    Returns:
        The :class:`Clip`.
    """
    rng = np.random.default_rng(seed)
    h, w = background.shape[:2]
    ph, pw = photo.image.shape[:2]
    # Largest half-extent of the turned, scaled patch: keeps the patch (so the hand) fully inside the frame.
    smax, amax = patch_scale * (1 + scale_amplitude), math.radians(angle_amplitude_deg)
    half_x = smax * (pw * math.cos(amax) + ph * math.sin(amax)) / 2
    half_y = smax * (ph * math.cos(amax) + pw * math.sin(amax)) / 2
    lo = np.array([half_x, half_y])
    hi = np.array([w - 1 - half_x, h - 1 - half_y])
    if np.any(hi < lo):
        raise ValueError(f"patch ({pw}x{ph} at scale {smax:.2f}) does not fit in the {w}x{h} frame")

    direction = rng.uniform(-math.pi / 6, math.pi / 6) + (math.pi if rng.random() < 0.5 else 0.0)
    start = rng.uniform(lo, hi)
    p_scale, p_angle = rng.uniform(40, 80, size=2)
    ph_scale, ph_angle = rng.uniform(0, 2 * math.pi, size=2)

    def pose(t: np.ndarray) -> np.ndarray:
        path = start + speed * t[:, None] * np.array([math.cos(direction), math.sin(direction)])
        center = np.stack([_fold(path[:, 0], lo[0], hi[0]), _fold(path[:, 1], lo[1], hi[1])], axis=1)
        scale = patch_scale * (1 + scale_amplitude * np.sin(2 * math.pi * t / p_scale + ph_scale))
        angle = math.radians(angle_amplitude_deg) * np.sin(2 * math.pi * t / p_angle + ph_angle)
        return _affine(center, scale, angle, (pw, ph))

    t = np.arange(n_frames, dtype=np.float64)
    transforms = pose(t)
    keypoints = (np.einsum("nij,kj->nki", transforms[:, :, :2], photo.keypoints) + transforms[:, None, :, 2])
    mask = _feather_mask(ph, pw, feather)
    patch = photo.image.astype(np.float32)
    bg = background.astype(np.float32)
    # Sub-frame times centred on the frame, close enough that the blur is smooth rather than ghosted.
    subs = 1 if shutter <= 0 else int(min(64, max(2, math.ceil(speed * shutter / 2.0))))
    offsets = ((np.arange(subs) + 0.5) / subs - 0.5) * shutter if subs > 1 else np.zeros(1)
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    for i in range(n_frames):
        acc = np.zeros((h, w, 3), np.float32)
        for m in pose(i + offsets):
            a = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            fg = cv2.warpAffine(patch, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            a = a[..., None]
            acc += fg * a + bg * (1 - a)  # fg is already zero where a is zero
        acc /= subs
        if noise_std > 0:
            acc += rng.normal(0.0, noise_std, acc.shape).astype(np.float32)
        frames[i] = np.clip(acc + 0.5, 0, 255).astype(np.uint8)
    return Clip(photo.name, float(speed), frames, keypoints.astype(np.float32),
                hand_size(keypoints).astype(np.float32), transforms)


def pick_photos(photos: Sequence[Photo], n: int) -> list[Photo]:
    """``n`` photos evenly spread over the list (consecutive photos often show the same pose)."""
    if n >= len(photos):
        return list(photos)
    return [photos[i] for i in np.linspace(0, len(photos) - 1, n).round().astype(int)]


def iter_clips(
    speeds: Iterable[float] = SPEEDS,
    n_photos: int = 10,
    n_frames: int = 60,
    seed: int = 0,
    *,
    source: str = "hand-graph",
    data: Path | None = None,
    **render_kwargs: float,
) -> Iterator[Clip]:
    """Clips for ``n_photos`` photos x ``speeds``, rendered one at a time (a clip of 60 frames is ~93 MB).

    Clip ``(photo j, speed v)`` is seeded with ``(seed, j, v)``, so it does not depend on the other clips
    asked for. ``render_kwargs`` go to :func:`render_clip`.
    """
    photos = pick_photos(load_photos(source, data), n_photos)
    background = load_background(data)
    for j, photo in enumerate(photos):
        for v in speeds:
            clip_seed = int(np.random.SeedSequence([seed, j, round(float(v) * 100)]).generate_state(1)[0])
            yield render_clip(photo, background, v, n_frames, clip_seed, **render_kwargs)


# -- scoring -----------------------------------------------------------------------------------------------
def hand_size(keypoints: np.ndarray) -> np.ndarray:
    """Longest side of the keypoint box: (..., 21, 2+) -> (...)."""
    xy = np.asarray(keypoints, np.float64)[..., :2]
    return (xy.max(axis=-2) - xy.min(axis=-2)).max(axis=-1)


def frame_errors(predictions: Sequence[np.ndarray | None], gt: np.ndarray) -> np.ndarray:
    """Per frame, mean keypoint distance / hand size of the best-matching predicted hand; NaN with no hand.

    Args:
        predictions: per frame ``None``, a (21, 2+) array, or a (K, 21, 2+) array of K hands (K may be 0).
        gt: (N, 21, 2) ground truth.

    Returns:
        (N,) float64.
    """
    gt = np.asarray(gt, np.float64)
    if len(predictions) != len(gt):
        raise ValueError(f"{len(predictions)} predictions for {len(gt)} frames")
    out = np.full(len(gt), np.nan)
    size = hand_size(gt)
    for i, pred in enumerate(predictions):
        if pred is None:
            continue
        p = np.asarray(pred, np.float64)
        p = p[None] if p.ndim == 2 else p
        if len(p) == 0:
            continue
        err = np.linalg.norm(p[:, :, :2] - gt[i][None], axis=-1).mean(axis=-1)  # (K,)
        out[i] = err.min() / size[i]
    return out


def score_clip(
    predictions: Sequence[np.ndarray | None],
    gt: np.ndarray,
    detector_runs: int | None = None,
    tolerance: float = TOLERANCE,
) -> ClipScore:
    """Score one tracker's output on a clip: correct frames, frames with no hand, detector runs."""
    err = frame_errors(predictions, gt)
    found = ~np.isnan(err)
    return ClipScore(
        frames=len(err),
        correct=int(np.sum(err[found] <= tolerance)),
        no_hand=int(np.sum(~found)),
        detector_runs=detector_runs,
        mean_error=float(err[found].mean()) if found.any() else float("nan"),
    )


def summarise(scores: Iterable[ClipScore]) -> dict[str, float | int | None]:
    """Totals over clips: frames, correct share, frames with no hand, detector runs (and per 100 frames)."""
    scores = list(scores)
    frames = sum(s.frames for s in scores)
    correct = sum(s.correct for s in scores)
    runs = None if any(s.detector_runs is None for s in scores) else sum(s.detector_runs or 0 for s in scores)
    return {"clips": len(scores), "frames": frames,
            "correct_share": round(correct / frames, 4) if frames else 0.0,
            "no_hand": sum(s.no_hand for s in scores), "detector_runs": runs,
            "detector_runs_per_100": round(100 * runs / frames, 1) if runs is not None and frames else None}


# -- command line ------------------------------------------------------------------------------------------
def _draw_keypoints(image_rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    out = image_rgb.copy()
    for x, y in np.round(keypoints).astype(int):
        cv2.circle(out, (int(x), int(y)), 3, (0, 255, 0), -1, cv2.LINE_AA)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speeds", type=float, nargs="+", default=list(SPEEDS), help="px per frame")
    ap.add_argument("--photos", type=int, default=10, help="number of photos (spread over the set)")
    ap.add_argument("--frames", type=int, default=60, help="frames per clip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--source", choices=["hand-graph", "freihand"], default="hand-graph")
    ap.add_argument("--noise", type=float, default=0.0, help="pixel noise std added to frames")
    ap.add_argument("--shutter", type=float, default=0.0,
                    help="motion blur: share of the frame interval the shutter is open (0: none)")
    ap.add_argument("--save", type=Path, help="write every --every-th frame of each clip as PNG here")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--gt", action="store_true", help="draw the ground-truth keypoints on saved frames")
    args = ap.parse_args(argv)
    try:
        clips = iter_clips(args.speeds, args.photos, args.frames, args.seed, source=args.source,
                           noise_std=args.noise, shutter=args.shutter)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
        written = 0
        for clip in clips:
            step = np.linalg.norm(np.diff(clip.keypoints.mean(axis=1), axis=0), axis=1)  # hand centroid
            sizes = f"{clip.hand_size.min():.0f}-{clip.hand_size.max():.0f}"
            print(f"{clip.photo} {clip.speed:5.0f} px/frame: {len(clip)} frames, hand size {sizes} px, "
                  f"median step {np.median(step):.1f} px")
            if args.save:
                for i in range(0, len(clip), max(1, args.every)):
                    img = _draw_keypoints(clip.frames[i], clip.keypoints[i]) if args.gt else clip.frames[i]
                    name = args.save / f"{clip.photo}_{clip.speed:03.0f}px_{i:03d}.png"
                    cv2.imwrite(str(name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                    written += 1
        if args.save:
            print(f"wrote {written} PNG files to {args.save}")
    except FileNotFoundError as exc:
        print(f"error: {exc} (set HANDTRACE_DATA to the shared data folder)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
