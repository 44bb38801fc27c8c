"""K-fold cross-validation of landmark fine-tuning on hand-graph-cnn-realworld's 150 photos.

For each fold: fine-tune on the other folds (``handtrace.training.train_landmarks``, the settings given),
export the ONNX model, and run the full still-image pipeline (``HandTracker``, defaults: refinement and
full-frame fallback on) on the held-out photos with the fine-tuned landmark model and with MediaPipe's
packaged weights.
The held-out records of all folds together are summarised like ``handtrace eval keypoints`` (hands found,
PCK@0.1, PCK@0.2, mean error of found hands), as is and padded with 128 px of black.

    PYTHONPATH=src python benchmarks/landmark_cv.py --folds 5 --json cv.json          # the CLI's defaults
    PYTHONPATH=src python benchmarks/landmark_cv.py --only 3 4 --json cv34.json      # some folds, in parallel
    PYTHONPATH=src python benchmarks/landmark_cv.py --merge cv012.json cv34.json     # then all together

With the encoder frozen, the frozen stages' output of each augmented variant can be computed once for all
folds (``--variant K --out fK.pt``, one process per variant), then ``--features f*.pt`` trains every fold on
the crops of its own training photos; the seeds of the crops then differ from a plain run's.

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
import torch

from handtrace import evaluation as ev
from handtrace.datasets import data_root
from handtrace.io import read_image
from handtrace.tracker import HandTracker
from handtrace.training.config import LandmarkTrainConfig
from handtrace.training.data import load_annotations
from handtrace.training.export import load_landmark_net
from handtrace.training.landmark_data import LandmarkExamples
from handtrace.training.landmark_train import CropSet, frozen_stages, train_landmarks


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


def _config(args: argparse.Namespace) -> LandmarkTrainConfig:
    freeze = False if args.frozen_stages else (args.freeze_encoder or None)  # None: the CLI's default
    config = LandmarkTrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                                 freeze_encoder=freeze, seed=args.seed,
                                 negatives=args.negatives, frozen_stages=args.frozen_stages)
    if args.no_distill:
        config.weights["distill"] = 0.0
    return config


def _all_examples(samples, config: LandmarkTrainConfig) -> LandmarkExamples:
    return LandmarkExamples(samples, jitter=config.jitter, aug=config.augment, negatives=config.negatives,
                            seed=config.seed)


def shared_features(args: argparse.Namespace) -> None:
    """The frozen encoder stages' output for augmented variant ``--variant`` of every photo's crops (and
    negatives), saved to ``--out``: the frozen stages are the same network in every fold, so the folds share
    them (each fold keeps the crops of its own training photos)."""
    samples = load_annotations(Path(args.data) if args.data else data_root() / "hand-graph-cnn-realworld")
    config = _config(args)
    net = load_landmark_net(config.variant)
    stages = frozen_stages(config, net)
    examples = _all_examples(samples, config)
    crops = CropSet(examples, examples.epoch(args.variant), net, torch.device("cpu"), config.batch_size,
                    stages=stages)
    torch.save({"items": crops.items, "features": crops.features, "targets": crops.targets,
                "stages": stages, "config": config.to_dict()}, args.out)


def _load_crop_sets(files: list[str], samples, config: LandmarkTrainConfig) -> dict[int, CropSet]:
    examples = _all_examples(samples, config)
    sets = {}
    for k, name in enumerate(sorted(files)):
        d = torch.load(name, weights_only=False)
        c = CropSet(examples, d["items"], None, torch.device("cpu"), stages=d["stages"])
        c.features, c.targets = d["features"], d["targets"]
        sets[k] = c
    return sets


def run(args: argparse.Namespace) -> dict:
    root = Path(args.data) if args.data else data_root() / "hand-graph-cnn-realworld"
    samples = load_annotations(root)
    config = _config(args)
    shared = _load_crop_sets(args.features, samples, config) if args.features else None
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
        crop_sets = None
        if shared is not None:  # this fold's crops: those of its training photos
            train_set = set(train_idx.tolist())
            crop_sets = {k: c.subset(np.array([it[1] in train_set for it in c.items]))
                         for k, c in shared.items()}
        train_landmarks([samples[i] for i in train_idx], model, config, progress=False,
                        log=lambda m: print(m, file=sys.stderr), crop_sets=crop_sets)
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


def merge(files: list[str]) -> dict:
    """Per-fold figures from ``--json`` files or logs (one JSON object per fold line) of runs of some folds,
    summed over the folds: found hands, PCK weighted by hands (every hand has its 21 points labelled here),
    mean error weighted by found hands."""
    folds_seen: dict[int, dict] = {}
    for name in files:
        text = Path(name).read_text()
        try:
            rows = json.loads(text)["per_fold"]
        except (json.JSONDecodeError, KeyError):
            rows = [json.loads(line) for line in text.splitlines() if line.startswith('{"fold"')]
        for row in rows:
            folds_seen[row["fold"]] = row
    table = {}
    for key in [k for k in next(iter(folds_seen.values())) if " / " in k]:
        parts = [row[key] for row in folds_seen.values()]
        hands, found = sum(p["gt_hands"] for p in parts), sum(p["found"] for p in parts)
        table[key] = {
            "images": sum(p["images"] for p in parts), "gt_hands": hands, "found": found,
            "found_rate": found / hands,
            **{k: sum(p[k] * p["gt_hands"] for p in parts) / hands for k in parts[0] if k.startswith("pck")},
            "mean_error_px": sum(p["mean_error_px"] * p["found"] for p in parts) / found,
        }
    return {"folds": sorted(folds_seen), "summaries": table,
            "train_seconds": {f: r["train_seconds"] for f, r in sorted(folds_seen.items())}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="hand-graph-cnn-realworld folder (default: in $HANDTRACE_DATA)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--only", type=int, nargs="+", help="run only these folds (0-based)")
    p.add_argument("--fold-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, help="default: the CLI's")
    p.add_argument("--lr", type=float, help="default: the CLI's")
    p.add_argument("--batch-size", type=int, default=LandmarkTrainConfig.batch_size)
    p.add_argument("--negatives", type=float, default=LandmarkTrainConfig.negatives)
    p.add_argument("--freeze-encoder", action="store_true")
    p.add_argument("--frozen-stages", type=int, default=0, help="leading encoder stages kept fixed (of 17)")
    p.add_argument("--no-distill", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", help="folder for the fold models (default: a temporary folder)")
    p.add_argument("--json", help="write the summaries and per-fold figures here")
    p.add_argument("--variant", type=int, help="compute the shared features of this augmented variant only")
    p.add_argument("--out", help="with --variant: where to save them")
    p.add_argument("--features", nargs="+", metavar="FILE",
                   help="shared features of the variants (from --variant runs, in parallel) for every fold")
    p.add_argument("--merge", nargs="+", metavar="FILE",
                   help="combine the per-fold figures of earlier runs (their --json files or logs) instead")
    args = p.parse_args(argv)
    if args.variant is not None:
        shared_features(args)
        return 0
    if args.merge:
        out = merge(args.merge)
        for key, s in out["summaries"].items():
            print(f"| {key} | {s['found']}/{s['gt_hands']} | {100 * s['pck@0.1']:.1f}% | "
                  f"{100 * s['pck@0.2']:.1f}% | {s['mean_error_px']:.2f} |")
    else:
        out = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
