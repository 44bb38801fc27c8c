"""``handtrace train palm`` and ``handtrace eval palms``: train and evaluate the palm detector.

Building the parsers imports no PyTorch. ``eval palms`` needs no PyTorch at all (numpy + onnxruntime).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from handtrace.sources import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, print_error
from handtrace.training.cli import add_common_options, check_paths, load_data, missing_extra, run_training

# ------------------------------------------------------------------------------------------ train palm


def add_train_palm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "palm", help="fine-tune or train the palm detector",
        description="Train the palm detector on labelled hands: the hands are pasted onto backgrounds at "
                    "every scale and rotation (and the photos zoomed in and out), letterboxed like the "
                    "runtime; writes MODEL.onnx for HandTracker(palm_model=...) and --palm-model.")
    add_common_options(p, epochs=10, lr=1e-5)
    p.set_defaults(lr=None)
    p._option_string_actions["--lr"].help = "peak learning rate (default 1e-5 from mediapipe, 1e-3 scratch)"
    p.add_argument("--model", choices=("full", "lite"), default="full", help="network size (default full)")
    p.add_argument("--loss", choices=("focal", "ce"), default="focal",
                   help="score loss: focal (default) or plain cross entropy")
    p.add_argument("--no-decoder", action="store_true",
                   help="BlazePalm without its feature-pyramid decoder (the paper's ablation)")
    p.add_argument("--steps", type=int, default=40, metavar="N", help="batches per epoch (default 40)")
    p.add_argument("--size", type=int, default=192, metavar="PX",
                   help="square training input, a multiple of 32 (default 192, the runtime's)")
    p.add_argument("--backgrounds", nargs="+", metavar="PATH",
                   help="hand-free images, videos or folders of them to paste hands on (default: the shared "
                        "no-hand photos, if present; synthetic textures are always used too)")
    p.add_argument("--mediapipe-models", metavar="DIR",
                   help="folder of MediaPipe's .tflite files for --from mediapipe (default: beside the "
                        "shared data)")
    p.set_defaults(func=cmd_train_palm)


def _config(args: argparse.Namespace) -> Any:
    import torch

    from handtrace.training.palm_data import ComposeConfig
    from handtrace.training.palm_train import PalmTrainConfig

    if args.resume:  # the checkpoint's settings, for as many epochs as asked
        saved = torch.load(args.resume, map_location="cpu", weights_only=False)["config"]
        saved["compose"] = ComposeConfig(**saved["compose"])
        return PalmTrainConfig(**{**saved, "epochs": args.epochs, "device": args.device})
    return PalmTrainConfig(epochs=args.epochs, steps_per_epoch=args.steps, batch_size=args.batch_size,
                           lr=args.lr, init=args.init, decoder=not args.no_decoder, variant=args.model,
                           loss=args.loss, size=args.size, seed=args.seed, device=args.device,
                           models_dir=args.mediapipe_models)


def cmd_train_palm(args: argparse.Namespace) -> int:
    command = "train palm"
    status = missing_extra(command)
    if status is not None:
        return status
    from handtrace.training.landmark_train import artifact_paths
    from handtrace.training.palm_data import default_backgrounds, load_backgrounds, photos_from_samples
    from handtrace.training.palm_train import train_palm

    paths = artifact_paths(args.output)
    lr = args.lr
    args.lr = 1.0 if lr is None else lr  # check_paths wants a positive number; None means "by --from"
    status = check_paths(command, args, list(paths.values()))
    args.lr = lr
    if status is not None:
        return status
    if args.size % 32 or args.size < 64 or args.steps < 1:
        print_error(f"{command}: --size must be a multiple of 32 (at least 64) and --steps at least 1")
        return EXIT_USAGE
    train = load_data(command, args.data, args.images)
    if isinstance(train, int):
        return train
    val = load_data(command, args.val, args.images) if args.val else []
    if isinstance(val, int):
        return val
    if not any(s.hands for s in train):
        print_error(f"{command}: no labelled hands in {' '.join(args.data)}")
        return EXIT_USAGE
    try:
        backgrounds = load_backgrounds(args.backgrounds) if args.backgrounds else default_backgrounds()
        train_photos = photos_from_samples(train)
        val_photos = photos_from_samples(val)
        config = _config(args)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print_error(f"{command}: {exc}")
        return EXIT_USAGE
    if not args.quiet:
        hands = sum(len(p.hands) for p in train_photos)
        print_error(f"{command}: {len(train_photos)} images, {hands} hands, {len(backgrounds)} backgrounds; "
                    f"{config.epochs} epochs x {config.steps_per_epoch} steps from {config.init}, "
                    f"{'focal' if config.loss == 'focal' else 'cross-entropy'} loss, "
                    f"{'with' if config.decoder else 'without'} decoder, device {config.device}")
    status, result = run_training(command, paths["checkpoint"], lambda: train_palm(
        train_photos, val_photos, backgrounds, args.output, config, resume=args.resume,
        progress=not args.quiet))
    if status != EXIT_OK or result is None:
        return status
    if not args.quiet:
        print_error(f"{command}: wrote {paths['model']} (weights of epoch {result.best_epoch}, the best "
                    f"validation AP), {paths['checkpoint'].name}, {paths['csv'].name}, {paths['png'].name}")
    return EXIT_OK


# ------------------------------------------------------------------------------------------ eval palms


def add_eval_palms(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "palms", help="palm detector average precision at IoU 0.5 on labelled photos",
        description="Average precision of the palm detector's boxes at IoU 0.5 (the BlazePalm paper's "
                    "measure) against square palm boxes around the 7 palm keypoints of labelled hands, and "
                    "recall and precision at the detection threshold.")
    p.add_argument("data", nargs="+", metavar="DATA",
                   help="annotations: folders or files as for 'handtrace train' (COCO, hand-graph-cnn, "
                        "handtrace JSON / JSONL)")
    p.add_argument("--images", metavar="DIR", help="frames folder for 'handtrace track' JSONL annotations")
    p.add_argument("--palm-model", metavar="ONNX", help="palm detector model file (default: packaged)")
    p.add_argument("--model", choices=("full", "lite"), default="full", help="packaged model (default full)")
    p.add_argument("--pad", type=int, default=0, metavar="P", help="add P px of black on every side")
    p.add_argument("--input-size", type=int, default=192, metavar="PX",
                   help="detector input's long side (default 192)")
    p.add_argument("--threshold", type=float, default=0.5, metavar="F",
                   help="score threshold for recall and precision (default 0.5)")
    p.add_argument("--json", metavar="FILE", help="write the summary and per-image records here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval_palms)


def eval_samples(samples: Sequence[Any]) -> list[Any]:
    """:class:`handtrace.evaluation.Sample` s (image read, unlabelled points NaN) from annotation samples."""
    from handtrace.evaluation import Sample
    from handtrace.io import read_image

    out = []
    for s in samples:
        hands = []
        for h in s.hands:
            kp = np.asarray(h.keypoints, np.float64).reshape(21, 2).copy()
            kp[~np.asarray(h.visible, bool)] = np.nan
            hands.append(kp)
        out.append(Sample(read_image(s.image_path), hands, s.record))
    return out


def palm_detector(palm_model: str | None = None, variant: str = "full", input_size: int = 192,
                  min_score: float = 0.05) -> Any:
    """The runtime's palm detector (packaged or ``palm_model`` file) scoring down to ``min_score``."""
    from handtrace.detection import PalmDetector
    from handtrace.runtime import PalmDetectorModel

    model = PalmDetectorModel(variant, path=palm_model)
    return PalmDetector(model, min_score=min_score, input_size=input_size)


def cmd_eval_palms(args: argparse.Namespace) -> int:
    from handtrace import evaluation as ev
    from handtrace.sources import ProgressBar

    command = "eval palms"
    if args.pad < 0 or args.input_size < 32 or args.input_size % 32 or not 0 < args.threshold < 1:
        print_error(f"{command}: --pad must be >= 0, --input-size a multiple of 32, --threshold in (0, 1)")
        return EXIT_USAGE
    samples = load_data(command, args.data, args.images)
    if isinstance(samples, int):
        return samples
    try:
        detector = palm_detector(args.palm_model, args.model, args.input_size)
    except (OSError, ValueError) as exc:
        print_error(f"{command}: cannot load the palm detector: {exc}")
        return EXIT_USAGE if args.palm_model else EXIT_FAILED
    try:
        with ProgressBar(len(samples), enabled=False if args.quiet else None) as bar:
            data = ev.pad_samples(eval_samples(samples), args.pad)
            records = ev.evaluate_palms(detector, data, on_record=lambda r: bar.update(1, r.name))
    except KeyboardInterrupt:
        print_error(f"{command}: interrupted")
        return EXIT_INTERRUPTED
    except (OSError, ValueError) as exc:
        print_error(f"{command}: {exc}")
        return EXIT_FAILED
    s = ev.summarize_palms(records, args.threshold)
    model = args.palm_model or f"packaged {args.model}"
    print(f"palm detector {model}, input {args.input_size} px, pad {args.pad}: {s.images} images, "
          f"{s.gt_hands} palms")
    print(f"AP@0.5 {100 * s.ap:.1f}%  recall@{args.threshold:g} {100 * s.recall:.1f}%  "
          f"precision@{args.threshold:g} {100 * s.precision:.1f}%")
    if args.json:
        out = {"config": {k: v for k, v in vars(args).items() if k != "func"}, "summary": s.to_dict(),
               "records": [r.to_dict() for r in records]}
        try:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
        except OSError as exc:
            print_error(f"{command}: cannot write {args.json}: {exc}")
            return EXIT_FAILED
    return EXIT_OK
