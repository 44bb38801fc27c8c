"""MediaPipe 0.10.21 (legacy ``solutions.hands``) in video mode over frames saved as ``.npz``.

Run with the MediaPipe environment (``benchmarks/setup_mediapipe_env.sh``); ``benchmarks/tracking_eval.py``
calls it so that MediaPipe sees exactly the pixels handtrace sees::

    .venv-mediapipe/bin/python benchmarks/_mediapipe_frames.py IN.npz OUT.npz [IN.npz OUT.npz ...]
        [--max-num-hands 1|2] [--model-complexity 0|1]

Each input holds ``frames`` (N, H, W, 3) RGB uint8 and is one video: a fresh ``Hands`` (video mode,
``min_detection_confidence=0.5``, ``min_tracking_confidence=0.5``) runs over its frames in order. Each output
holds, for up to ``max_num_hands`` hands per frame in MediaPipe's output order:

* ``counts`` (N,) int: hands reported on the frame;
* ``landmarks`` (N, M, 21, 3) float32: x, y in pixels, z = normalised z x width (NaN where no hand);
* ``right`` (N, M) float32: 1 where MediaPipe's label is "Right" (its mirrored-selfie convention: the
  hand's true side is the opposite), 0 for "Left", NaN where no hand; ``score`` (N, M) its score;
* ``mediapipe_version`` (str).

Only the standard library, numpy and mediapipe are imported (the venv has numpy<2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np


def run(frames: np.ndarray, max_num_hands: int, complexity: int) -> dict[str, Any]:
    """Track ``frames`` (N, H, W, 3) RGB uint8 with a fresh MediaPipe ``Hands`` in video mode."""
    import mediapipe as mp

    n, h, w = frames.shape[:3]
    counts = np.zeros(n, np.int32)
    landmarks = np.full((n, max_num_hands, 21, 3), np.nan, np.float32)
    right = np.full((n, max_num_hands), np.nan, np.float32)
    score = np.full((n, max_num_hands), np.nan, np.float32)
    with mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=max_num_hands,
                                  model_complexity=complexity, min_detection_confidence=0.5,
                                  min_tracking_confidence=0.5) as hands:
        for i in range(n):
            result = hands.process(np.ascontiguousarray(frames[i]))
            found = result.multi_hand_landmarks or []
            counts[i] = len(found)
            for k, (lms, handed) in enumerate(zip(found, result.multi_handedness or [], strict=True)):
                if k >= max_num_hands:
                    break
                landmarks[i, k] = [[p.x * w, p.y * h, p.z * w] for p in lms.landmark]
                cls = handed.classification[0]
                right[i, k] = 1.0 if cls.label == "Right" else 0.0
                score[i, k] = cls.score
    return {"counts": counts, "landmarks": landmarks, "right": right, "score": score,
            "mediapipe_version": np.array(mp.__version__)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("paths", type=Path, nargs="+", help="IN.npz OUT.npz pairs")
    ap.add_argument("--max-num-hands", type=int, default=2)
    ap.add_argument("--model-complexity", type=int, choices=(0, 1), default=1)
    args = ap.parse_args(argv)
    if len(args.paths) % 2:
        ap.error("give IN.npz OUT.npz pairs")
    pairs = list(zip(args.paths[::2], args.paths[1::2], strict=True))
    for j, (src, dst) in enumerate(pairs):
        with np.load(src) as data:
            frames = data["frames"]
        out = run(frames, args.max_num_hands, args.model_complexity)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".part.npz")
        np.savez(tmp, **out)
        tmp.replace(dst)
        print(f"[mediapipe {j + 1}/{len(pairs)}] {src.name}: {int((out['counts'] > 0).sum())}/{len(frames)} "
              f"frames with a hand", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
