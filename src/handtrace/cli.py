"""The ``handtrace`` command line: ``detect``, ``track``, ``gestures`` and ``eval keypoints|gestures``.

Each subcommand is one ``_add_<name>(subparsers)`` function that registers its parser and sets
``func``; the work itself lives in the library (:mod:`handtrace.evaluation`, :mod:`handtrace.drawing`,
:mod:`handtrace.sources`). New commands (``track``, ``gestures``, ``eval gestures``) plug in the same
way: add a function to :data:`_COMMANDS`, or one to :data:`_EVAL_COMMANDS` for an ``eval`` target.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2

from handtrace.gesture_cli import (
    add_eval_gestures_command,
    add_gesture_commands,
    add_gesture_options,
    recognizer_from_args,
)
from handtrace.sources import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    MODEL_COMPLEXITY,
    ProgressBar,
    ResultWriter,
    add_model_option,
    list_images,
    print_error,
)

__all__ = ["build_parser", "main"]



def _create_tracker(**kwargs: Any) -> Any:
    """A ``HandTracker`` (imported lazily: ``--help`` and parsing need no models)."""
    from handtrace.tracker import HandTracker

    return HandTracker(**kwargs)


def _add_model_files(p: argparse.ArgumentParser) -> None:
    """``--palm-model`` / ``--landmark-model``: ONNX files replacing the packaged models."""
    p.add_argument("--palm-model", metavar="ONNX",
                   help="palm detector model file (default: the packaged one)")
    p.add_argument("--landmark-model", metavar="ONNX",
                   help="landmark model file, e.g. from 'handtrace train landmarks' (default: packaged)")


def _model_files(args: argparse.Namespace) -> dict[str, Any]:
    return {"palm_model": args.palm_model, "landmark_model": args.landmark_model}


def _progress(total: int | None, quiet: bool) -> ProgressBar:
    return ProgressBar(total, enabled=False if quiet or total == 1 else None)


# ---------------------------------------------------------------------------------------------- detect


def _add_detect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detect", help="find hands in images", description="Find hands in image files.")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or folders of images")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write results as JSON (.json) or JSON Lines (.jsonl)"
    )
    p.add_argument("--draw", metavar="OUT_DIR", help="save annotated copies of the images here")
    p.add_argument("--max-hands", type=int, default=2, metavar="N", help="most hands per image (default 2)")
    add_model_option(p)
    p.add_argument("--min-detection-confidence", type=float, default=0.5, metavar="F", help="default 0.5")
    p.add_argument(
        "--mirrored", action="store_true", help="images are mirrored (selfie view): swap handedness"
    )
    p.add_argument("-r", "--recursive", action="store_true", help="also take images from subfolders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_gesture_options(p)
    _add_model_files(p)
    p.set_defaults(func=_cmd_detect)


def _summary_line(path: Path, width: int, height: int, hands: Sequence[Any]) -> str:
    from handtrace.drawing import hand_label

    parts = [f"{hand_label(h)} box=[{', '.join(f'{v:.0f}' for v in h.box)}]" for h in hands]
    found = f"{len(hands)} hand{'s' if len(hands) != 1 else ''}"
    return f"{path} ({width}x{height}): {found}" + (": " + "; ".join(parts) if parts else "")


def _draw_path(out_dir: Path, path: Path, used: set[str]) -> Path:
    """``out_dir/<name>``, with ``_1``, ``_2``... added when two inputs share a name."""
    name, k = path.name, 0
    while name in used:
        k += 1
        name = f"{path.stem}_{k}{path.suffix}"
    used.add(name)
    return out_dir / name


def _cmd_detect(args: argparse.Namespace) -> int:
    from handtrace.io import read_image

    paths = list_images(args.inputs, recursive=args.recursive)
    if not paths:
        print_error(f"detect: no image files in {' '.join(args.inputs)}")
        return EXIT_USAGE
    if args.max_hands < 1:
        print_error("detect: --max-hands must be at least 1")
        return EXIT_USAGE
    draw_dir = Path(args.draw) if args.draw else None
    if draw_dir is not None:
        draw_dir.mkdir(parents=True, exist_ok=True)
    try:
        recognizer = recognizer_from_args(args)
        tracker = _create_tracker(
            static_image_mode=True,
            max_num_hands=args.max_hands,
            model_complexity=MODEL_COMPLEXITY[args.model],
            min_detection_confidence=args.min_detection_confidence,
            mirrored=args.mirrored,
            gestures=False,
            **_model_files(args),
        )
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        print_error(f"detect: cannot create the hand tracker: {exc}")
        return EXIT_FAILED

    failed, used_names = 0, set()
    writer = ResultWriter(args.output) if args.output else None
    progress = _progress(len(paths), args.quiet)
    try:
        with tracker, progress:
            for path in paths:
                record: dict[str, Any] = {"image": str(path)}
                try:
                    image = read_image(path)
                    hands = tracker.process(image)
                    if recognizer is not None:
                        recognizer.annotate(hands, fingers=args.fingers)
                except Exception as exc:  # one bad file must not stop the batch
                    failed += 1
                    reason = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
                    progress.write(f"handtrace: error: {reason}")
                    record["error"] = str(exc)
                else:
                    h, w = image.shape[:2]
                    record.update(width=w, height=h, hands=[hand.to_dict() for hand in hands])
                    if draw_dir is not None:
                        _save_drawing(_draw_path(draw_dir, path, used_names), image, hands)
                    if writer is None:
                        progress.write(_summary_line(path, w, h, hands), stream=sys.stdout)
                if writer is not None:
                    writer.write(record)
                progress.update(1, path.name)
    except KeyboardInterrupt:
        done = writer.count if writer is not None else progress.count
        print_error(f"detect: interrupted after {done} of {len(paths)} images")
        return EXIT_INTERRUPTED
    finally:
        if writer is not None:
            writer.close()
    if writer is not None and not args.quiet:
        print_error(f"detect: wrote {writer.count} results to {writer.path}")
    if failed:
        print_error(f"detect: {failed} of {len(paths)} files failed")
    return EXIT_FAILED if failed else EXIT_OK


def _save_drawing(out: Path, image: Any, hands: Sequence[Any]) -> None:
    from handtrace.drawing import draw_hands

    drawn = cv2.cvtColor(draw_hands(image, hands), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(out.suffix if out.suffix else ".png", drawn)
    if not ok:  # e.g. a format OpenCV cannot write: fall back to PNG
        out = out.with_suffix(".png")
        ok, buf = cv2.imencode(".png", drawn)
    buf.tofile(str(out))


# ---------------------------------------------------------------------------------------------- track


def _add_track(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "track", help="track hands through a video, image folder or webcam",
        description="Track hands frame by frame. INPUT: a video file, a folder or glob of images, or a "
                    "webcam index (0, 1, ...).",
    )
    p.add_argument("input", metavar="INPUT", help="video file, image folder, glob pattern or webcam index")
    p.add_argument("-o", "--output", action="append", default=[], metavar="FILE",
                   help="write per-frame results: .jsonl (one line per frame) or .csv (one row per hand per "
                        "frame); may be given more than once")
    p.add_argument("--draw", metavar="VIDEO",
                   help="write an annotated video (.mp4 or .avi) at the input's frame rate and size")
    p.add_argument("--show", action="store_true", help="show annotated frames in a window (q or Esc quits)")
    p.add_argument("--max-hands", type=int, default=2, metavar="N", help="most hands tracked (default 2)")
    add_model_option(p)
    p.add_argument("--precision", choices=("float", "int8"), default="float",
                   help="landmark model weights: float (default) or int8 (faster, slightly less accurate)")
    p.add_argument("--no-smooth", action="store_true", help="do not smooth the landmarks")
    p.add_argument("--min-detection-confidence", type=float, default=0.5, metavar="F", help="default 0.5")
    p.add_argument("--min-tracking-confidence", type=float, default=0.5, metavar="F", help="default 0.5")
    p.add_argument("--detection-interval", type=int, default=6, metavar="K",
                   help="with fewer hands than --max-hands tracked, look for new hands every K frames "
                        "(default 6)")
    p.add_argument("--mirrored", action="store_true", help="input is mirrored (selfie view): swap handedness")
    p.add_argument("--fps", type=float, metavar="F", help="frame rate of an image sequence (default 30)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or statistics")
    add_gesture_options(p)
    p.add_argument("--no-events", action="store_true", help="do not detect swipe / pinch / hold events")
    _add_model_files(p)
    p.set_defaults(func=_cmd_track)


def _open_window() -> str | None:
    """Open the live window; returns why it cannot be shown, or ``None``."""
    import os

    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not display:
        return "--show needs a display, and none is set (DISPLAY / WAYLAND_DISPLAY)"
    try:
        cv2.namedWindow("handtrace", cv2.WINDOW_NORMAL)
    except cv2.error:
        return ("--show needs OpenCV with window support: this OpenCV has none "
                "(opencv-python-headless); install opencv-python to use --show")
    return None


def _cmd_track(args: argparse.Namespace) -> int:
    from handtrace.motion import GestureEventDetector
    from handtrace.video import VideoReadError, open_source
    from handtrace.writers import open_writer

    if args.max_hands < 1 or args.detection_interval < 1:
        print_error("track: --max-hands and --detection-interval must be at least 1")
        return EXIT_USAGE
    if args.show:
        problem = _open_window()
        if problem:
            print_error(f"track: {problem}")
            return EXIT_USAGE
    try:
        source = open_source(args.input, fps=args.fps, threaded=True, strict=True)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print_error(f"track: {exc}")
        return EXIT_FAILED
    writers = []
    try:
        for path in [*args.output, *([args.draw] if args.draw else [])]:
            writers.append(open_writer(path, fps=source.fps, size=source.size))
        recognizer = recognizer_from_args(args)
        events = None if args.no_events else GestureEventDetector(recognizer)
        tracker = _create_tracker(
            static_image_mode=False,
            max_num_hands=args.max_hands,
            model_complexity=MODEL_COMPLEXITY[args.model],
            min_detection_confidence=args.min_detection_confidence,
            min_tracking_confidence=args.min_tracking_confidence,
            mirrored=args.mirrored,
            smooth_landmarks=not args.no_smooth,
            detection_interval=args.detection_interval,
            gestures=False,
            precision=args.precision,
            **_model_files(args),
        )
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        print_error(f"track: {exc}")
        for w in writers:
            w.close()
        source.close()
        return EXIT_FAILED

    status, done = EXIT_OK, 0
    progress = _progress(source.frame_count, args.quiet)
    started = time.perf_counter()
    try:
        with tracker, source, progress:
            for frame in source:
                hands = tracker.process(frame.image_rgb, frame.timestamp_ms)
                if recognizer is not None:
                    recognizer.annotate(hands, fingers=args.fingers)
                found = [] if events is None else [
                    e.to_dict() for e in events.update_frame(frame.index, frame.timestamp_ms, hands)]
                for w in writers:
                    w.write(frame, hands, found if events is not None else None)
                done += 1
                progress.update(1, f"{len(hands)} hand{'s' if len(hands) != 1 else ''}")
                if args.show and _show(frame.image_rgb, hands):
                    break
    except VideoReadError as exc:
        print_error(f"track: {exc}; the {done} frames before it were written")
        status = EXIT_FAILED
    except KeyboardInterrupt:
        print_error(f"track: interrupted after {done} frames; outputs closed")
        status = EXIT_INTERRUPTED
    except Exception as exc:  # anything else: say where, keep what was written
        print_error(f"track: stopped at frame {done}: {type(exc).__name__}: {exc}; the {done} frames "
                    "before it were written")
        status = EXIT_FAILED
    finally:
        for w in writers:
            w.close()
        if args.show:
            cv2.destroyAllWindows()
    if not args.quiet:
        elapsed = time.perf_counter() - started
        rate = f", {done / elapsed:.1f} frames/s" if elapsed > 0 else ""
        print_error(f"track: {done} frames{rate}; {tracker.stats}")
        for w in writers:
            print_error(f"track: wrote {w.path}")
    return status


def _show(image: Any, hands: Sequence[Any]) -> bool:
    """Show one annotated frame; True when the user asked to quit."""
    from handtrace.drawing import draw_hands

    cv2.imshow("handtrace", cv2.cvtColor(draw_hands(image, hands), cv2.COLOR_RGB2BGR))
    return cv2.waitKey(1) & 0xFF in (ord("q"), 27)


# ----------------------------------------------------------------------------------------------- eval


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure accuracy on the shared data", description="Evaluate handtrace.")
    targets = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    for add in _EVAL_COMMANDS:
        add(targets)


def _add_eval_keypoints(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "keypoints",
        help="2D keypoint accuracy (hands found, PCK, error px, ms/image)",
        description="Keypoint accuracy on hand-graph-cnn-realworld (as is, padded) and mmpose's hand images.",
    )
    p.add_argument(
        "data_dir", nargs="?", metavar="DATA_DIR", help="shared data folder (default: $HANDTRACE_DATA)"
    )
    p.add_argument(
        "--pad", type=int, default=128, metavar="P", help="padded run border in px (0: none; default 128)"
    )
    add_model_option(p)
    p.add_argument("--no-refine", action="store_true", help="tracker option refine=False")
    p.add_argument("--no-fallback", action="store_true", help="tracker option full_frame_fallback=False")
    p.add_argument(
        "--backend", choices=("onnx", "litert"), default="onnx", help="model runtime (default onnx)"
    )
    p.add_argument("--max-hands", type=int, default=2, metavar="N", help="most hands per image (default 2)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N images of each set (quick runs)")
    p.add_argument("--json", metavar="FILE", help="write summaries and per-image records here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_model_files(p)
    p.set_defaults(func=_cmd_eval_keypoints)


def _limited(it: Iterator[Any], limit: int | None) -> Iterator[Any]:
    for i, x in enumerate(it):
        if limit is not None and i >= limit:
            return
        yield x


def _cmd_eval_keypoints(args: argparse.Namespace) -> int:
    from handtrace import evaluation as ev
    from handtrace.datasets import data_root

    root = Path(args.data_dir) if args.data_dir else data_root()
    if not root.is_dir():
        print_error(f"eval keypoints: data folder not found: {root} (pass DATA_DIR or set HANDTRACE_DATA)")
        return EXIT_USAGE
    if args.pad < 0:
        print_error("eval keypoints: --pad must be >= 0")
        return EXIT_USAGE
    config = {
        "model": args.model,
        "refine": not args.no_refine,
        "full_frame_fallback": not args.no_fallback,
        "backend": args.backend,
        "max_num_hands": args.max_hands,
        "pad": args.pad,
        "data_dir": str(root),
        **{k: v for k, v in _model_files(args).items() if v},
    }
    runs: list[tuple[str, Callable[[], Iterator[ev.Sample]]]] = []
    if (root / "hand-graph-cnn-realworld").is_dir():
        runs.append(("hand-graph-cnn, as is", lambda: ev.load_hand_graph_cnn(root)))
        if args.pad:
            runs.append(
                (
                    f"hand-graph-cnn, padded {args.pad} px",
                    lambda: ev.pad_samples(ev.load_hand_graph_cnn(root), args.pad),
                )
            )
    else:
        print_error(f"eval keypoints: skipping hand-graph-cnn: {root / 'hand-graph-cnn-realworld'} not found")
    has_mmpose = (root / "mmpose").is_dir()
    if has_mmpose:
        runs.append(("mmpose", lambda: ev.load_mmpose(root)))
    else:
        print_error(f"eval keypoints: skipping mmpose: {root / 'mmpose'} not found")
    if not runs:
        print_error(f"eval keypoints: no evaluation data under {root}")
        return EXIT_USAGE
    try:
        tracker = _create_tracker(
            static_image_mode=True,
            max_num_hands=args.max_hands,
            model_complexity=MODEL_COMPLEXITY[args.model],
            refine=config["refine"],
            full_frame_fallback=config["full_frame_fallback"],
            backend=args.backend,
            **_model_files(args),
        )
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        print_error(f"eval keypoints: cannot create the hand tracker: {exc}")
        return EXIT_FAILED

    summaries: dict[str, ev.Summary] = {}
    records: dict[str, list[ev.ImageRecord]] = {}
    try:
        with tracker:
            for label, samples in runs:
                with _progress(None, args.quiet) as bar:
                    if bar.enabled:
                        bar.write(f"{label}...")
                    recs = ev.evaluate(
                        tracker,
                        _limited(samples(), args.limit),
                        on_record=lambda r, b=bar: b.update(1, r.name),
                    )
                records[label] = recs
                summaries[label] = ev.summarize(recs)
                if label == "mmpose":
                    for sub_label, s in ev.summarize_groups(recs).items():
                        summaries[f"mmpose / {sub_label}"] = s
    except KeyboardInterrupt:
        print_error("eval keypoints: interrupted")
        return EXIT_INTERRUPTED
    except (OSError, ValueError) as exc:
        print_error(f"eval keypoints: {exc}")
        return EXIT_FAILED

    flags = ", ".join(f"{k}={v}" for k, v in config.items() if k not in ("data_dir", "pad"))
    print(f"handtrace {_version()} keypoint evaluation ({flags})\n")
    print(ev.format_table(summaries))
    if args.json:
        out = {
            "config": config,
            "summaries": {k: s.to_dict() for k, s in summaries.items()},
            "records": {k: [r.to_dict() for r in v] for k, v in records.items()},
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return EXIT_OK


def _version() -> str:
    from handtrace import __version__

    return __version__


def _add_eval_palms(sub: argparse._SubParsersAction) -> None:
    """``handtrace eval palms`` (:mod:`handtrace.training.palm_cli`; needs no PyTorch)."""
    from handtrace.training.palm_cli import add_eval_palms

    add_eval_palms(sub)


# ----------------------------------------------------------------------------------------------- main

def _add_train(sub: argparse._SubParsersAction) -> None:
    """``handtrace train ...`` (:mod:`handtrace.training.cli`: its parsers import no PyTorch)."""
    from handtrace.training.cli import add_train_command

    add_train_command(sub)


#: Top-level subcommands, in help order: each registers itself on the subparsers object.
_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_detect, _add_track, add_gesture_commands, _add_eval, _add_train]
#: Targets of ``handtrace eval``.
_EVAL_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_eval_keypoints, add_eval_gestures_command, _add_eval_palms]


def build_parser() -> argparse.ArgumentParser:
    """The ``handtrace`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="handtrace", description="Hand tracking on MediaPipe's hand models."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 some inputs failed, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
