"""``handtrace train ...``: the training commands (registered by :mod:`handtrace.cli`).

Building the parsers imports no PyTorch, so ``handtrace --help`` works without the ``[train]`` extra; a
command run without it says what to install and exits with status 2. Each target is one
``add_<name>(subparsers)`` function in :data:`TRAIN_COMMANDS` (add one for a new target).
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from handtrace.io import OutputIsInputError, check_output_not_input
from handtrace.sources import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, print_error

T = TypeVar("T")

#: Modules every training command needs (the ``[train]`` extra).
REQUIRED = ("torch", "tqdm", "matplotlib", "onnx", "onnxscript")


def missing_extra(command: str) -> int | None:
    """``EXIT_USAGE`` after a message when the ``[train]`` extra is not installed, else None."""
    missing = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    print_error(f"{command}: needs {', '.join(missing)}: install handtrace[train] "
                "(pip install 'handtrace[train]')")
    return EXIT_USAGE


def add_common_options(p: argparse.ArgumentParser, *, epochs: str, lr: str) -> None:
    """Options shared by the training targets."""
    p.add_argument("data", nargs="+", metavar="DATA",
                   help="annotations: a folder or file (COCO, COCO-WholeBody, hand-graph-cnn, handtrace "
                        "JSON / JSONL; see docs/training.md); several are joined")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.onnx",
                   help="trained model (ONNX); the checkpoint, curves CSV and plot are written beside it")
    p.add_argument("--val", nargs="+", metavar="DATA", help="validation annotations, figures each epoch")
    p.add_argument("--images", metavar="DIR", help="frames folder for 'handtrace track' JSONL annotations")
    p.add_argument("--epochs", type=int, metavar="N", help=f"default {epochs}")
    p.add_argument("--lr", type=float, metavar="LR", help=f"peak learning rate (default {lr})")
    p.add_argument("--batch-size", type=int, default=16, metavar="N", help="default 16")
    p.add_argument("--from", dest="init", choices=("mediapipe", "scratch"), default="mediapipe",
                   help="start from MediaPipe's weights (default) or from scratch")
    p.add_argument("--device", default="auto",
                   help="torch device: auto (CUDA when available, else CPU), cpu, cuda, cuda:1, ...")
    p.add_argument("--resume", metavar="CHECKPOINT", help="go on from a checkpoint (its settings are used)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same run")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def check_paths(command: str, args: argparse.Namespace, outputs: list[Path]) -> int | None:
    """``EXIT_USAGE`` after a message when an output would overwrite an input, else None. A checkpoint given
    to ``--resume`` may be the run's own checkpoint (it is replaced only by a complete newer one)."""
    inputs = [Path(p) for p in [*args.data, *(args.val or []), *([args.images] if args.images else [])]]
    files = [f for p in inputs if p.is_dir() for f in p.iterdir()]  # an annotations folder's own files
    try:
        check_output_not_input(outputs, [*inputs, *files])
    except OutputIsInputError as exc:
        print_error(f"{command}: {exc} (an output is one of the inputs); choose another -o")
        return EXIT_USAGE
    resume = Path(args.resume).resolve() if args.resume else None
    for out in outputs:
        if out.resolve() == resume and out.suffix.lower() == ".onnx":
            print_error(f"{command}: output {out} is the --resume checkpoint")
            return EXIT_USAGE
    if (args.epochs is not None and args.epochs < 1) or (args.lr is not None and args.lr <= 0) \
            or args.batch_size < 1:
        print_error(f"{command}: --epochs and --batch-size must be at least 1 and --lr positive")
        return EXIT_USAGE
    if args.resume and not Path(args.resume).is_file():
        print_error(f"{command}: checkpoint not found: {args.resume}")
        return EXIT_USAGE
    return None


def load_data(command: str, paths: list[str], images: str | None) -> Any:
    """Samples of every path, or an exit status after a message naming the bad annotation."""
    from handtrace.training.data import AnnotationError, load_many

    try:
        return load_many(paths, images)
    except (AnnotationError, FileNotFoundError, OSError) as exc:
        print_error(f"{command}: {exc}")
        return EXIT_USAGE


# ------------------------------------------------------------------------------------------- landmarks


def add_landmarks(sub: argparse._SubParsersAction) -> None:
    from handtrace.training.config import FROZEN_DEFAULTS, FULL_DEFAULTS, LandmarkTrainConfig

    defaults = LandmarkTrainConfig()
    p = sub.add_parser(
        "landmarks", help="fine-tune or train the hand landmark model",
        description="Train the landmark model on labelled hands: crops with the runtime's region geometry, "
                    "jittered and augmented; writes MODEL.onnx for HandTracker(landmark_model=...) and "
                    "--landmark-model.")
    add_common_options(p, epochs=f"{FROZEN_DEFAULTS[0]} with the encoder frozen, else {FULL_DEFAULTS[0]}",
                       lr=f"{FROZEN_DEFAULTS[1]:g} with the encoder frozen, else {FULL_DEFAULTS[1]:g}; "
                          "the encoder learns at a tenth of it")
    p.add_argument("--model", choices=("full", "lite"), default="full", help="network size (default full)")
    p.add_argument("--freeze-encoder", action=argparse.BooleanOptionalAction, default=None,
                   help="train only the output heads (default: yes from MediaPipe's weights, no from "
                        "scratch)")
    p.add_argument("--frozen-stages", type=int, default=defaults.frozen_stages, metavar="K",
                   help="without --freeze-encoder: keep the first K of the encoder's 17 stages fixed "
                        f"(default {defaults.frozen_stages})")
    p.add_argument("--negatives", type=float, default=defaults.negatives, metavar="F",
                   help=f"no-hand crops per labelled hand (default {defaults.negatives:g})")
    p.set_defaults(func=cmd_landmarks)


def cmd_landmarks(args: argparse.Namespace) -> int:
    command = "train landmarks"
    status = missing_extra(command)
    if status is not None:
        return status
    from handtrace.training.config import LandmarkTrainConfig
    from handtrace.training.landmark_train import artifact_paths, train_landmarks

    paths = artifact_paths(args.output)
    status = check_paths(command, args, list(paths.values()))
    if status is not None:
        return status
    train = load_data(command, args.data, args.images)
    if isinstance(train, int):
        return train
    val = load_data(command, args.val, args.images) if args.val else None
    if isinstance(val, int):
        return val
    if not any(s.hands for s in train):
        print_error(f"{command}: no labelled hands in {' '.join(args.data)}")
        return EXIT_USAGE
    config = LandmarkTrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, init=args.init,
                                 variant=args.model, freeze_encoder=args.freeze_encoder, seed=args.seed,
                                 device=args.device, negatives=args.negatives,
                                 frozen_stages=args.frozen_stages)
    hands = sum(len(s.hands) for s in train)
    if not args.quiet:
        frozen = "encoder frozen" if config.freeze_encoder else f"first {config.frozen_stages} stages frozen"
        print_error(f"{command}: {len(train)} images, {hands} hands; from {config.init}, {frozen}, "
                    f"{config.epochs} epochs, device {args.device}" if not args.resume else
                    f"{command}: {len(train)} images, {hands} hands; resuming {args.resume}")
    status, result = run_training(command, paths["checkpoint"], lambda: train_landmarks(
        train, args.output, config, val=val, resume=args.resume, epochs=args.epochs, progress=not args.quiet,
        log=print_error))
    if status != EXIT_OK or result is None:
        return status
    if not args.quiet:
        print_error(f"{command}: wrote {result.model} (and {paths['checkpoint'].name}, {paths['csv'].name}, "
                    f"{paths['png'].name})")
    return EXIT_OK


def run_training(command: str, checkpoint: Path, train: Callable[[], T]) -> tuple[int, T | None]:
    """Run a training call as a command does: (exit status, its result or None). Ctrl-C, SIGTERM and SIGHUP
    give 130 and name the checkpoint to ``--resume``; a failure gives 1 with one line, no traceback."""
    try:
        return EXIT_OK, train()
    except KeyboardInterrupt:
        print_error(f"{command}: interrupted; the last finished epoch's checkpoint is {checkpoint} "
                    "(--resume it)")
        return EXIT_INTERRUPTED, None
    except (ValueError, RuntimeError, OSError) as exc:
        print_error(f"{command}: {type(exc).__name__}: {exc}")
        return EXIT_FAILED, None


# ------------------------------------------------------------------------------------------------ main

#: Targets of ``handtrace train``: each registers its parser on the subparsers object.
TRAIN_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_landmarks]


def _add_palm(sub: argparse._SubParsersAction) -> None:
    from handtrace.training.palm_cli import add_train_palm  # imports this module: registered lazily

    add_train_palm(sub)


TRAIN_COMMANDS.append(_add_palm)


def add_train_command(sub: argparse._SubParsersAction) -> None:
    """Register ``handtrace train TARGET ...`` with every target of :data:`TRAIN_COMMANDS`."""
    p = sub.add_parser("train", help="train or fine-tune the hand models (needs handtrace[train])",
                       description="Train or fine-tune the hand models on labelled photos "
                                   "(docs/training.md). Needs the [train] extra: "
                                   "pip install 'handtrace[train]'.")
    targets = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    for add in TRAIN_COMMANDS:
        add(targets)
