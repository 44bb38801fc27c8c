"""The tracker options of the video commands (``handtrace track``, ``handtrace batch``): one parser block and
one mapping to :class:`~handtrace.HandTracker` keyword arguments, so both commands take the same options with
the same names and defaults, and a new option is added in one place."""

from __future__ import annotations

import argparse
import os
from typing import Any

from handtrace.gesture_cli import add_gesture_options
from handtrace.sources import MODEL_COMPLEXITY, add_model_option

__all__ = ["add_model_runtime_options", "add_tracking_options", "model_runtime_kwargs", "tracking_kwargs"]


def add_model_runtime_options(p: argparse.ArgumentParser) -> None:
    """``--palm-model`` / ``--landmark-model`` (ONNX files replacing the packaged models) and ``--device``."""
    p.add_argument("--palm-model", metavar="ONNX",
                   help="palm detector model file, e.g. from 'handtrace train palm' (default: packaged)")
    p.add_argument("--landmark-model", metavar="ONNX",
                   help="landmark model file, e.g. from 'handtrace train landmarks' (default: packaged)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the models run: cpu (default) or cuda (onnxruntime-gpu, the [gpu] extra)")


def model_runtime_kwargs(args: argparse.Namespace) -> dict[str, str]:
    """``HandTracker`` keyword arguments of :func:`add_model_runtime_options`: the model files given (absolute
    paths, so worker processes in another folder find them too) and a device other than the CPU."""
    given = {"palm_model": args.palm_model, "landmark_model": args.landmark_model}
    kwargs = {key: os.path.abspath(path) for key, path in given.items() if path}
    if args.device != "cpu":
        kwargs["device"] = args.device
    return kwargs


def add_tracking_options(p: argparse.ArgumentParser) -> None:
    """Models, hands, thresholds, smoothing, detection schedule, gestures and events of video tracking."""
    p.add_argument("--max-hands", type=int, default=2, metavar="N", help="most hands tracked (default 2)")
    add_model_option(p)
    p.add_argument("--precision", choices=("float", "int8"), default="float",
                   help="landmark model weights: float (default) or int8 (faster, slightly less accurate)")
    add_model_runtime_options(p)
    p.add_argument("--no-smooth", action="store_true", help="do not smooth the landmarks")
    p.add_argument("--min-detection-confidence", type=float, default=0.5, metavar="F", help="default 0.5")
    p.add_argument("--min-tracking-confidence", type=float, default=0.5, metavar="F", help="default 0.5")
    p.add_argument("--detection-interval", type=int, default=6, metavar="K",
                   help="with fewer hands than --max-hands tracked, look for new hands every K frames "
                        "(default 6)")
    p.add_argument("--background-detection", action=argparse.BooleanOptionalAction, default=None,
                   help="while hands are tracked, look for new ones on a spare core, their hands joining "
                        "when it is done (a frame or more later): flat per-frame latency, but results that "
                        "depend on timing (default: on for a camera, off for files)")
    p.add_argument("--mirrored", action="store_true", help="input is mirrored (selfie view): swap handedness")
    p.add_argument("--fps", type=float, metavar="F", help="frame rate of an image sequence (default 30)")
    add_gesture_options(p)
    p.add_argument("--no-events", action="store_true", help="do not detect swipe / pinch / hold events")


def tracking_kwargs(args: argparse.Namespace, live: bool = False) -> dict[str, Any]:
    """``HandTracker`` keyword arguments from :func:`add_tracking_options`' options (video mode; gestures
    are named by the command's own recogniser, which also knows custom gestures). ``live``: the frames come
    from a camera, where background detection is on unless turned off (files: off unless turned on, so
    that a file gives the same results on every run)."""
    background = args.background_detection
    return {
        "background_detection": (None if live else False) if background is None else background,
        "static_image_mode": False,
        "max_num_hands": args.max_hands,
        "model_complexity": MODEL_COMPLEXITY[args.model],
        "min_detection_confidence": args.min_detection_confidence,
        "min_tracking_confidence": args.min_tracking_confidence,
        "mirrored": args.mirrored,
        "smooth_landmarks": not args.no_smooth,
        "detection_interval": args.detection_interval,
        "precision": args.precision,
        "gestures": False,
        **model_runtime_kwargs(args),
    }
