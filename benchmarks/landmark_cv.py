"""K-fold cross-validation of landmark fine-tuning on hand-graph-cnn-realworld's 150 photos.

For each fold: fine-tune on the other folds (``handtrace.training.train_landmarks``, the settings given),
export the ONNX model, and run the full still-image pipeline (``HandTracker``, defaults: refinement and
full-frame fallback on) on the held-out photos with the fine-tuned landmark model and with MediaPipe's
packaged weights.
The held-out records of all folds together are summarised like ``handtrace eval keypoints`` (hands found,
PCK@0.1, PCK@0.2, mean error of found hands), as is and padded with 128 px of black.

    PYTHONPATH=src python benchmarks/landmark_cv.py --folds 5 --epochs 12 --lr 2e-4 --json cv.json

Each fold's model lands in ``--work`` (default a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from handtrace import evaluation as ev
from handtrace.datasets import data_root
from handtrace.io import read_image
from handtrace.tracker import HandTracker
from handtrace.training.config import LandmarkTrainConfig
from handtrace.training.data import load_annotations
from handtrace.training.landmark_train import train_landmarks


def folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint index sets covering ``range(n)``, shuffled with ``seed``."""
    return np.array_split(np.random.default_rng(seed).permutation(n), k)


def held_out_samples(samples, idx, pad: int) -> list[ev.Sample]:
    out = []
    for i in idx:
        s = samples[i]
        sample = ev.Sample(read_image(s.image_path), [h.keypoints.astype(np.float64) for h in s.hands],
                           f"hand-graph-cnn/{s.image_path.name}")
        out.append(ev.pad_sample(sample, pad))
    return out


def run(args: argparse.Namespace) -> dict:
    root = Path(args.data) if args.data else data_root() / "hand-graph-cnn-realworld"
    samples = load_annotations(root)
    config = LandmarkTrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                                 freeze_encoder=args.freeze_encoder, seed=args.seed,
                                 negatives=args.negatives, frozen_stages=args.frozen_stages)
    if args.no_distill:
        config.weights["distill"] = 0.0
    work = Path(args.work or tempfile.mkdtemp(prefix="landmark_cv_"))
    records: dict[str, dict[str, list]] = {m: {"as is": [], "padded": []}
                                           for m in ("mediapipe", "fine-tuned")}
    per_fold = []
    parts = folds(len(samples), args.folds, args.fold_seed)
    for f, test_idx in enumerate(parts):
        if args.only is not None and f not in args.only:
            continue
        train_idx = np.setdiff1d(np.arange(len(samples)), test_idx)
        t0 = time.perf_counter()
        model = work / f"fold{f}.onnx"
        train_landmarks([samples[i] for i in train_idx], model, config, progress=False,
                        log=lambda m: print(m, file=sys.stderr))
        train_s = time.perf_counter() - t0
        fold = {"fold": f, "train_seconds": round(train_s, 1)}
        for name, path in (("mediapipe", None), ("fine-tuned", model)):
            with HandTracker(static_image_mode=True, landmark_model=path, gestures=False) as tracker:
                for label, pad in (("as is", 0), ("padded", 128)):
                    recs = ev.evaluate(tracker, held_out_samples(samples, test_idx, pad))
                    records[name][label].extend(recs)
                    fold[f"{name} / {label}"] = ev.summarize(recs).to_dict()
        per_fold.append(fold)
        print(json.dumps(fold), file=sys.stderr, flush=True)
    table = {f"{name}, {label}": ev.summarize(recs) for name, by in records.items()
             for label, recs in by.items()}
    print(ev.format_table(table, title="held-out folds"))
    return {"config": config.to_dict(), "folds": args.folds, "fold_seed": args.fold_seed,
            "summaries": {k: s.to_dict() for k, s in table.items()}, "per_fold": per_fold}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="hand-graph-cnn-realworld folder (default: in $HANDTRACE_DATA)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--only", type=int, nargs="+", help="run only these folds (0-based)")
    p.add_argument("--fold-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=LandmarkTrainConfig.epochs)
    p.add_argument("--lr", type=float, default=LandmarkTrainConfig.lr)
    p.add_argument("--batch-size", type=int, default=LandmarkTrainConfig.batch_size)
    p.add_argument("--negatives", type=float, default=LandmarkTrainConfig.negatives)
    p.add_argument("--freeze-encoder", action="store_true")
    p.add_argument("--frozen-stages", type=int, default=0, help="leading encoder stages kept fixed (of 17)")
    p.add_argument("--no-distill", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", help="folder for the fold models (default: a temporary folder)")
    p.add_argument("--json", help="write the summaries and per-fold figures here")
    args = p.parse_args(argv)
    out = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
