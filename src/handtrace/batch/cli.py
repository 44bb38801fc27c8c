"""``handtrace batch`` and ``handtrace report``. Imports only the standard library at load time, so the
``handtrace`` command starts (and ``--help`` works) without the ``[batch]`` / ``[ray]`` extras; running a
command without them says which extra to install (exit 2)."""

from __future__ import annotations

import argparse
import importlib.util
import os
from typing import Any

from handtrace.io import check_output_not_input
from handtrace.sources import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    print_error,
)
from handtrace.tracking_options import add_tracking_options, tracking_kwargs

__all__ = ["add_batch_command", "add_report_command", "tracker_kwargs"]

#: Modules each extra provides, as the commands need them.
BATCH_MODULES = ("pyarrow", "tqdm")
REPORT_MODULES = ("pyarrow", "pandas", "matplotlib")


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _need(command: str, modules: tuple[str, ...], extra: str) -> bool:
    missing = _missing(modules)
    if missing:
        print_error(
            f"{command} needs the [{extra}] extra (missing: {', '.join(missing)}): "
            f"pip install 'handtrace[{extra}]'"
        )
    return not missing


def tracker_kwargs(args: argparse.Namespace, threads: int | None = None) -> dict[str, Any]:
    """``HandTracker`` keyword arguments: ``track``'s options, and the threads of each worker's tracker."""
    kwargs = tracking_kwargs(args)
    if threads:
        kwargs["num_threads"] = threads
    return kwargs


def add_batch_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="track hands through many videos / image folders, on every core or a Ray cluster",
        description="Track every input whole, as `handtrace track` does, on a pool of workers; write a "
        "Parquet "
        "dataset, a manifest and optional .pose / COCO / JSONL / CSV / video outputs to OUT_DIR. "
        "Rerunning the same command skips finished inputs. INPUTS: video files, folders (image "
        "folders and videos under them), glob patterns, or .txt lists of paths.",
    )
    p.add_argument(
        "inputs", nargs="+", metavar="INPUTS", help="videos, folders, globs, or .txt lists of paths"
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: worker processes on this machine (default); ray: Ray actors (the [ray] extra)",
    )
    p.add_argument(
        "-j",
        "--workers",
        type=int,
        metavar="N",
        help="workers (default: the machine's cores, or the Ray cluster's CPUs)",
    )
    p.add_argument(
        "--address", metavar="ADDR", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="T",
        help="inference threads per worker (default 1: one worker per core)",
    )
    p.add_argument("--pose", action="store_true", help="also write one .pose file per video (pose-format)")
    p.add_argument("--coco", action="store_true", help="also write COCO keypoint results for image inputs")
    p.add_argument("--jsonl", action="store_true", help="also write track's JSON Lines per input")
    p.add_argument("--csv", action="store_true", help="also write track's CSV per input")
    p.add_argument("--draw", action="store_true", help="also write an annotated .mp4 per input")
    p.add_argument(
        "--segment-frames",
        default="auto",
        metavar="N|auto|0",
        help="split long videos into segments of about N frames tracked in parallel (auto: when "
        "few long videos would leave workers idle; 0: never)",
    )
    p.add_argument(
        "--overlap",
        type=int,
        default=30,
        metavar="K",
        help="frames each segment tracks before its own first frame (default 30)",
    )
    p.add_argument("--redo", action="store_true", help="track every input again, ignoring the manifest")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only the summary")
    add_tracking_options(p)
    p.set_defaults(func=_cmd_batch)


def _cmd_batch(args: argparse.Namespace) -> int:
    if not _need("batch", BATCH_MODULES + (("pose_format",) if args.pose else ()), "batch"):
        return EXIT_USAGE
    if args.engine == "ray" and not _need("batch --engine ray", ("ray",), "ray"):
        return EXIT_USAGE
    if (
        args.max_hands < 1
        or args.detection_interval < 1
        or args.threads < 1
        or args.overlap < 0
        or (args.workers is not None and args.workers < 1)
    ):
        print_error(
            "batch: --max-hands, --detection-interval, --threads, --workers must be at least 1, "
            "--overlap at least 0"
        )
        return EXIT_USAGE
    seg = str(args.segment_frames).lower()
    if seg != "auto" and not (seg.isdigit()):
        print_error(
            f"batch: --segment-frames takes a number of frames, auto or 0, not {args.segment_frames!r}"
        )
        return EXIT_USAGE
    from handtrace.batch.inputs import check_not_nested, expand_inputs
    from handtrace.batch.runner import BatchOptions, ConfigMismatch, JobLocked, run_batch
    from handtrace.batch.worker import JobConfig, Worker

    try:
        items = expand_inputs(args.inputs)
        input_dirs = [p for p in args.inputs if os.path.isdir(p)]
        check_output_not_input([], [*input_dirs, *(it.path for it in items)], output_dirs=[args.output])
        check_not_nested(args.output, input_dirs)
    except ValueError as exc:
        print_error(f"batch: {exc}")
        return EXIT_USAGE
    outputs = frozenset(o for o in ("pose", "coco", "jsonl", "csv", "draw") if getattr(args, o))
    config = JobConfig(
        out_dir=os.path.abspath(args.output),
        tracker=tracker_kwargs(args, args.threads),
        gesture_files=tuple(os.path.abspath(g) for g in args.gestures),
        gestures=not args.no_gestures,
        fingers=args.fingers,
        events=not args.no_events,
        fps=args.fps,
        outputs=outputs,
    )
    try:  # bad options (a gesture file, a model) fail here, once, rather than in every worker
        Worker(config).close()
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        print_error(f"batch: {exc}")
        return EXIT_USAGE
    options = BatchOptions(
        engine=args.engine,
        workers=args.workers,
        address=args.address,
        segment_frames=None if seg == "auto" else int(seg),
        overlap=args.overlap,
        redo=args.redo,
        quiet=args.quiet,
    )
    try:
        summary = run_batch(items, config, options)
    except (ConfigMismatch, JobLocked) as exc:
        print_error(f"batch: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:  # while the engine was starting
        print_error("batch: interrupted; rerun the same command to go on")
        return EXIT_INTERRUPTED
    except (RuntimeError, OSError, ConnectionError) as exc:
        print_error(f"batch: {exc}")
        return EXIT_FAILED
    print_error(f"batch: {summary.line()}; results in {args.output}")
    if summary.interrupted:
        print_error("batch: interrupted; finished inputs are kept: rerun the same command to go on")
    return summary.exit_code


def add_report_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="an HTML report of a batch OUT_DIR or a track JSON Lines file",
        description="Write a self-contained HTML page (no network needed): a table per input, plots over "
        "time, "
        "annotated thumbnails.",
    )
    p.add_argument(
        "source", metavar="OUT_DIR_or_JSONL", help="a batch output folder or a track .jsonl file"
    )
    p.add_argument("-o", "--output", required=True, metavar="HTML", help="the report file (.html)")
    p.add_argument(
        "--max-inputs",
        type=int,
        default=12,
        metavar="N",
        help="inputs with their own plots and thumbnails (default 12; the table lists all)",
    )
    p.add_argument(
        "--thumbnails", type=int, default=3, metavar="N", help="annotated frames per input (default 3)"
    )
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    if not _need("report", REPORT_MODULES, "batch"):
        return EXIT_USAGE
    from handtrace.batch.report import write_report

    try:
        check_output_not_input([args.output], [args.source])
        path = write_report(
            args.source, args.output, max_inputs=args.max_inputs, thumbnails=args.thumbnails
        )
    except (FileNotFoundError, ValueError) as exc:
        print_error(f"report: {exc}")
        return EXIT_USAGE
    except OSError as exc:
        print_error(f"report: {exc}")
        return EXIT_FAILED
    print_error(f"report: wrote {path}")
    return 0
