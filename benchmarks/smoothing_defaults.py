"""Choose the One Euro defaults of :mod:`handtrace.smoothing` by measurement: jitter at rest vs lag in motion.

Steps::

    python benchmarks/smoothing_defaults.py collect --out raw.npz   # run the landmark pipeline (~2 min)
    python benchmarks/smoothing_defaults.py sweep raw.npz           # score a grid of settings (~20 s)
    python benchmarks/smoothing_defaults.py video [VIDEO]           # raw vs default on a real video

``collect`` renders fast-motion clips (:mod:`fast_motion`: real hand photos pasted on a real background, with
known keypoints) at 0 (a still hand, no turning or scaling), 3, 10, 20, 40, 60 and 100 px per frame, with
camera-like pixel noise (std 3), and runs handtrace's still-image pipeline on every frame (so that every frame
has a fresh, independent estimate: the landmark model's own noise, and no tracking failures mixed in). It
saves the raw image and world landmarks with the ground truth.

``sweep`` replays those raw landmarks through :class:`handtrace.smoothing.LandmarkSmoother` at the clips'
frame rate (30 fps) for a grid of ``min_cutoff``, ``beta`` and ``d_cutoff``, and reports, as shares of hand
size (the longest side of the ground-truth keypoint box):

* **jitter** on the still clips: RMS distance of each landmark from its mean over the clip (x, y), and the
  reduction factor raw / smoothed;
* **error** on the moving clips: mean landmark distance to the ground truth, smoothed minus raw (what the
  filter's lag costs; negative when its noise reduction wins), per speed;
* the same for world landmarks: jitter on the still clips as a share of the world palm size, and the error
  added on a synthetic turning hand (the clip's mean world hand turned about the camera axis and about the
  vertical axis at 90-720 degrees per second, plus the noise measured on the still clips).

The default: among the settings whose added error stays below 0.5% of hand size at every speed (world: 1% of
palm size at every turning speed), those within 10% of the largest jitter reduction, and of these the one with
the highest ``min_cutoff`` (the clips have no slow, steady motion, where a low ``min_cutoff`` lags most).
Results are in the comment above the defaults in :mod:`handtrace.smoothing`.

``video`` runs the still-image pipeline on every frame of a real video (default: the ASL video, with
MediaPipe's output as a reference) and compares raw and smoothed landmarks: jitter as the residual of a local
quadratic fit over 7 frames, the mean shift smoothing causes, and the share of frames within 22 px of the
reference (every coordinate).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fast_motion  # a sibling script, not a package
from handtrace.smoothing import LandmarkSmoother, OneEuroParams, hand_scale

FPS = 30.0
SPEEDS = (0, 3, 10, 20, 40, 60, 100)
#: Added error allowed in motion, as a share of hand size (image) and of palm size (world).
MAX_ADDED_ERROR = 0.005
MAX_ADDED_WORLD_ERROR = 0.01
#: Settings whose jitter reduction is within this share of the best count as equally good.
NEAR_BEST = 0.10
MIN_CUTOFFS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
BETAS = (0.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
D_CUTOFFS = (1.0, 2.0, 4.0, 8.0)
TURN_SPEEDS_DEG = (90.0, 180.0, 360.0, 720.0)


def collect(out: Path, n_photos: int, n_frames: int, noise: float, seed: int) -> None:
    """Run the still-image pipeline on every frame of every clip and save raw landmarks and ground truth."""
    from handtrace.tracker import HandTracker

    photos = fast_motion.pick_photos(fast_motion.load_photos(), n_photos)
    background = fast_motion.load_background()
    arrays: dict[str, np.ndarray] = {}
    t0 = time.perf_counter()
    with HandTracker(static_image_mode=True, max_num_hands=1, model_complexity=1) as tracker:
        for j, photo in enumerate(photos):
            for v in SPEEDS:
                still = {"scale_amplitude": 0.0, "angle_amplitude_deg": 0.0} if v == 0 else {}
                clip = fast_motion.render_clip(photo, background, v, n_frames, seed=seed * 1000 + j * 10 + v,
                                               noise_std=noise, **still)
                lm = np.full((n_frames, 21, 3), np.nan, np.float32)
                world = np.full((n_frames, 21, 3), np.nan, np.float32)
                for i, frame in enumerate(clip.frames):
                    hands = tracker.process(frame)
                    if hands:
                        lm[i], world[i] = hands[0].landmarks, hands[0].world_landmarks
                key = f"{photo.name}_{v:03d}"
                arrays[f"{key}/gt"] = clip.keypoints
                arrays[f"{key}/lm"] = lm
                arrays[f"{key}/world"] = world
                arrays[f"{key}/angle"] = np.arctan2(clip.transforms[:, 1, 0], clip.transforms[:, 0, 0])
                print(f"{key}: {np.isfinite(lm[:, 0, 0]).sum()}/{n_frames} frames with a hand "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
    np.savez_compressed(out, **arrays)
    print(f"saved {out}")


@dataclass
class Clip:
    speed: int
    gt: np.ndarray  # (N, 21, 2)
    lm: np.ndarray  # (N, 21, 3), NaN without a hand
    world: np.ndarray  # (N, 21, 3)
    angle: np.ndarray  # (N,) in-plane rotation of the pasted photo, radians


def load(path: Path) -> list[Clip]:
    data = np.load(path)
    keys = sorted({k.split("/")[0] for k in data.files})
    return [Clip(int(k.rsplit("_", 1)[1]), data[f"{k}/gt"], data[f"{k}/lm"], data[f"{k}/world"],
                 data[f"{k}/angle"]) for k in keys]


def _smooth(seq: np.ndarray, make: LandmarkSmoother, world: bool = False) -> np.ndarray:
    """Smooth a (N, 21, 3) sequence frame by frame; frames without a hand (NaN) reset the filter."""
    out = np.full_like(seq, np.nan)
    make.reset()
    for i, x in enumerate(seq):
        if not np.isfinite(x).all():
            make.reset()
            continue
        if world:
            _, out[i] = make(x, x, frame_index=i)
        else:
            out[i], _ = make(x, None, frame_index=i)
    return out


def _jitter(seq: np.ndarray, size: np.ndarray) -> float:
    """RMS distance of the x, y of each landmark from its mean over the clip, per hand size."""
    ok = np.isfinite(seq[:, 0, 0])
    xy = seq[ok, :, :2]
    dev = np.linalg.norm(xy - xy.mean(axis=0), axis=-1) / size[ok, None]
    return float(np.sqrt(np.mean(dev**2)))


def _error(seq: np.ndarray, gt: np.ndarray) -> float:
    """Mean landmark distance to the truth (x, y), per hand size, over frames with a hand."""
    ok = np.isfinite(seq[:, 0, 0])
    size = fast_motion.hand_size(gt)
    return float((np.linalg.norm(seq[ok, :, :2] - gt[ok], axis=-1).mean(axis=1) / size[ok]).mean())


def _rot(axis: str, a: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations by angles ``a`` about the camera axis ("z") or the vertical axis ("y")."""
    c, s = np.cos(a), np.sin(a)
    r = np.zeros((len(a), 3, 3))
    if axis == "z":
        r[:, 0, 0], r[:, 0, 1], r[:, 1, 0], r[:, 1, 1], r[:, 2, 2] = c, -s, s, c, 1
    else:
        r[:, 0, 0], r[:, 0, 2], r[:, 2, 0], r[:, 2, 2], r[:, 1, 1] = c, s, -s, c, 1
    return r


def world_cases(clips: list[Clip]) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Synthetic turning world hands: (degrees per second, truth (N, 21, 3), truth + real noise)."""
    still = [c for c in clips if c.speed == 0]
    cases = []
    for c in still:
        ok = np.isfinite(c.world[:, 0, 0])
        w = c.world[ok].astype(np.float64)
        mean = w.mean(axis=0)
        noise = w - mean  # the landmark model's own noise on a still hand
        n = len(noise)
        for deg, axis in itertools.product(TURN_SPEEDS_DEG, ("z", "y")):
            # Turn back and forth (a wrist rotation) over +-60 degrees at the given angular speed.
            t = np.arange(n) / FPS
            amp = np.radians(60.0)
            a = amp * np.sin(np.radians(deg) * t / amp)
            truth = np.einsum("nij,kj->nki", _rot(axis, a), mean)
            cases.append((deg, truth, truth + noise))
    return cases


def sweep(path: Path) -> None:
    clips = load(path)
    still = [c for c in clips if c.speed == 0]
    moving = sorted({c.speed for c in clips if c.speed > 0})
    raw_jitter = np.mean([_jitter(c.lm, fast_motion.hand_size(c.gt)) for c in still])
    raw_err = {v: np.mean([_error(c.lm, c.gt) for c in clips if c.speed == v]) for v in moving}
    found = np.mean([np.isfinite(c.lm[:, 0, 0]).mean() for c in clips])
    print(f"{len(clips)} clips, hands found in {100 * found:.1f}% of frames")
    print(f"raw: still jitter {100 * raw_jitter:.2f}% of hand size; mean error by speed (px/frame): "
          + ", ".join(f"{v}: {100 * e:.2f}%" for v, e in raw_err.items()))

    rows = []
    for mc, beta, dc in itertools.product(MIN_CUTOFFS, BETAS, D_CUTOFFS):
        sm = LandmarkSmoother(OneEuroParams(mc, beta, dc), None, fps=FPS)
        jit = np.mean([_jitter(_smooth(c.lm, sm), fast_motion.hand_size(c.gt)) for c in still])
        added = {v: np.mean([_error(_smooth(c.lm, sm), c.gt) for c in clips if c.speed == v]) - raw_err[v]
                 for v in moving}
        rows.append((mc, beta, dc, raw_jitter / jit, added))
    ok = [r for r in rows if max(r[4].values()) <= MAX_ADDED_ERROR]
    chosen = choose(ok)
    print(f"\nimage landmarks: {len(ok)} of {len(rows)} settings add <= {100 * MAX_ADDED_ERROR:.1f}% error "
          "at every speed; best jitter reduction first:")
    header = "min_cutoff  beta  d_cutoff  jitter/  " + "  ".join(f"+err@{v:>3}" for v in moving)
    print(header)
    for mc, beta, dc, red, added in sorted(ok, key=lambda r: -r[3])[:12]:
        print(f"{mc:10.2f} {beta:5.0f} {dc:9.1f} {red:7.2f}x  "
              + "  ".join(f"{100 * added[v]:+7.2f}%" for v in moving))
    print(f"chosen (within {100 * NEAR_BEST:.0f}% of the best reduction, highest min_cutoff): "
          f"OneEuroParams(min_cutoff={chosen[0]}, beta={chosen[1]}, d_cutoff={chosen[2]}), "
          f"jitter reduced {chosen[3]:.2f}x")
    print("for comparison (any added error):")
    for mc, beta, dc, red, added in rows:
        if (mc, beta, dc) in {(0.05, 80.0, 1.0), (1.0, 0.0, 1.0), (1.0, 10.0, 1.0), (0.5, 20.0, 1.0)}:
            print(f"{mc:10.2f} {beta:5.0f} {dc:9.1f} {red:7.2f}x  "
                  + "  ".join(f"{100 * added[v]:+7.2f}%" for v in moving))

    # World landmarks: jitter on the still clips, error added on synthetic turning hands.
    palm = np.mean([hand_scale(c.world[np.isfinite(c.world[:, 0, 0])].mean(axis=0)) for c in still])
    cases = world_cases(clips)
    raw_wjit = np.mean([_world_jitter(c.world) for c in still]) / palm
    wrows = []
    for mc, beta, dc in itertools.product(MIN_CUTOFFS, BETAS, D_CUTOFFS):
        sm = LandmarkSmoother(None, OneEuroParams(mc, beta, dc), fps=FPS)
        still_w = [c.world for c in still]
        jit = np.mean([_world_jitter(_smooth(w, sm, world=True)) for w in still_w]) / palm
        added = {}
        for deg in TURN_SPEEDS_DEG:
            errs = []
            for d, truth, noisy in cases:
                if d == deg:
                    sm_out = _smooth(noisy, sm, world=True)
                    errs.append(np.linalg.norm(sm_out - truth, axis=-1).mean()
                                - np.linalg.norm(noisy - truth, axis=-1).mean())
            added[deg] = float(np.mean(errs)) / palm
        wrows.append((mc, beta, dc, raw_wjit / jit, added))
    wok = [r for r in wrows if max(r[4].values()) <= MAX_ADDED_WORLD_ERROR]
    wchosen = choose(wok)
    print(f"\nworld landmarks (palm {1000 * palm:.0f} mm, raw jitter {100 * raw_wjit:.2f}% of palm): "
          f"{len(wok)} "
          f"of {len(wrows)} settings add <= {100 * MAX_ADDED_WORLD_ERROR:.1f}% at every turning speed:")
    print("min_cutoff  beta  d_cutoff  jitter/  " + "  ".join(f"+err@{d:>3.0f}/s" for d in TURN_SPEEDS_DEG))
    for mc, beta, dc, red, added in sorted(wok, key=lambda r: -r[3])[:12]:
        print(f"{mc:10.2f} {beta:5.0f} {dc:9.1f} {red:7.2f}x  "
              + "  ".join(f"{100 * added[d]:+9.2f}%" for d in TURN_SPEEDS_DEG))
    print(f"chosen: OneEuroParams(min_cutoff={wchosen[0]}, beta={wchosen[1]}, d_cutoff={wchosen[2]}), "
          f"jitter reduced {wchosen[3]:.2f}x")


def choose(rows: list) -> tuple:
    """Among settings within NEAR_BEST of the best jitter reduction, the highest ``min_cutoff`` (then the
    larger reduction): the clips have no slow, steady motion, where a higher ``min_cutoff`` lags less."""
    best = max(r[3] for r in rows)
    near = [r for r in rows if r[3] >= (1 - NEAR_BEST) * best]
    return max(near, key=lambda r: (r[0], r[3]))


def _world_jitter(seq: np.ndarray) -> float:
    ok = np.isfinite(seq[:, 0, 0])
    w = seq[ok]
    return float(np.sqrt(np.mean(np.sum((w - w.mean(axis=0)) ** 2, -1))))


def _hf_residual(seq: np.ndarray, box: np.ndarray, win: int = 7) -> float:
    """RMS (per hand size) of x, y minus a local quadratic fit over ``win`` frames: the frame-to-frame jitter
    that smooth motion does not explain (a still-hand jitter measure that works on moving hands)."""
    h = win // 2
    t = np.arange(-h, h + 1)
    fit = np.linalg.pinv(np.stack([np.ones_like(t), t, t**2], 1))[0]  # weights of the fitted centre value
    res = []
    for i in range(h, len(seq) - h):
        w = seq[i - h:i + h + 1, :, :2]
        if np.isfinite(w).all():
            res.append(np.linalg.norm(seq[i, :, :2] - np.tensordot(fit, w, axes=1), axis=-1) / box[i])
    return float(np.sqrt(np.mean(np.square(res))))


def video_check(video: Path, reference: Path | None) -> None:
    """Still-image pipeline on every frame of a real video, then raw vs smoothed: jitter, shift, reference."""
    import json

    from handtrace.smoothing import IMAGE_DEFAULTS
    from handtrace.tracker import HandTracker
    from handtrace.video import open_source

    lms = []
    with HandTracker(static_image_mode=True, max_num_hands=1) as tracker, open_source(video) as src:
        fps = src.fps
        for frame in src:
            hands = tracker.process(frame.image_rgb)
            lms.append(hands[0].landmarks if hands else np.full((21, 3), np.nan, np.float32))
    raw = np.stack(lms).astype(np.float64)
    ref = np.asarray(json.loads(reference.read_text()), np.float64) if reference else None
    box = fast_motion.hand_size(np.nan_to_num(raw))
    print(f"{video.name}: {len(raw)} frames at {fps:g} fps, hand in {np.isfinite(raw[:, 0, 0]).mean():.1%}")
    for label, params in (("raw", None), ("default", IMAGE_DEFAULTS)):
        out = raw if params is None else _smooth(raw, LandmarkSmoother(params, None, fps=fps))
        shift = np.nanmean(np.linalg.norm(out[..., :2] - raw[..., :2], axis=-1).mean(-1) / box)
        jitter = _hf_residual(out, box)
        line = (f"  {label:8s} jitter (residual of a 7-frame quadratic fit) {100 * jitter:.2f}% "
                f"of hand size, mean shift from raw {100 * shift:.2f}%")
        if ref is not None:
            ok = np.isfinite(out[:, 0, 0])
            within = np.abs(out[ok, :, :2] - ref[ok, :, :2]).max(axis=(1, 2)) <= 22
            err = np.linalg.norm(out[ok, :, :2] - ref[ok, :, :2], axis=-1).mean()
            line += f"; vs reference: {within.mean():.1%} of frames within 22 px, mean error {err:.2f} px"
        print(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--photos", type=int, default=6)
    c.add_argument("--frames", type=int, default=45)
    c.add_argument("--noise", type=float, default=3.0)
    c.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("sweep")
    s.add_argument("raw", type=Path)
    v = sub.add_parser("video")
    v.add_argument("video", type=Path, nargs="?")
    v.add_argument("--reference", type=Path, help="per-frame reference landmarks (JSON, frames x 21 x 3)")
    args = ap.parse_args(argv)
    if args.cmd == "collect":
        collect(args.out, args.photos, args.frames, args.noise, args.seed)
    elif args.cmd == "sweep":
        sweep(args.raw)
    else:
        from handtrace.datasets import data_root

        video = args.video or data_root() / "tfjs-models" / "asl_hand.25fps.mp4"
        reference = args.reference
        if args.video is None and reference is None:
            reference = data_root() / "tfjs-models" / "asl_hand.full.json"
        video_check(video, reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
