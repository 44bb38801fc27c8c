"""The ``handtrace`` command line: ``detect``, ``track``, ``gestures`` and ``eval keypoints|gestures``.

Each subcommand is one ``_add_<name>(subparsers)`` function that registers its parser and sets
``func``; the work itself lives in the library (:mod:`handtrace.evaluation`, :mod:`handtrace.drawing`,
:mod:`handtrace.sources`). New commands (``track``, ``gestures``, ``eval gestures``) plug in the same
way: add a function to :data:`_COMMANDS`, or one to :data:`_EVAL_COMMANDS` for an ``eval`` target.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
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
from handtrace.tracking_options import (
    add_model_runtime_options,
    add_tracking_options,
    model_runtime_kwargs,
    tracking_kwargs,
)

__all__ = ["build_parser", "main"]

def _create_tracker(**kwargs: Any) -> Any:
    """A ``HandTracker`` (imported lazily: ``--help`` and parsing need no models)."""
    from handtrace.tracker import HandTracker

    return HandTracker(**kwargs)


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
    p.add_argument("--batch-size", type=int, metavar="N",
                   help="images per model call (default: 16 with --device cuda; on the CPU images run side "
                        "by side, one per core, which measured faster than batches)")
    p.add_argument("-r", "--recursive", action="store_true", help="also take images from subfolders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_gesture_options(p)
    add_model_runtime_options(p)
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
    from handtrace.io import OutputIsInputError, check_output_not_input

    paths = list_images(args.inputs, recursive=args.recursive)
    if not paths:
        print_error(f"detect: no image files in {' '.join(args.inputs)}")
        return EXIT_USAGE
    if args.max_hands < 1 or (args.batch_size is not None and args.batch_size < 1):
        print_error("detect: --max-hands and --batch-size must be at least 1")
        return EXIT_USAGE
    draw_dir = Path(args.draw) if args.draw else None
    used_names: set[str] = set()
    drawn = {} if draw_dir is None else {p: _draw_path(draw_dir, p, used_names) for p in paths}
    outputs = [*([args.output] if args.output else []), *drawn.values()]
    try:
        check_output_not_input(outputs, [*args.inputs, *paths], output_dirs=[draw_dir] if draw_dir else [])
    except OutputIsInputError as exc:
        print_error(f"detect: {exc}")
        return EXIT_USAGE
    try:
        recognizer = recognizer_from_args(args)
        tracker = _create_tracker(
            static_image_mode=True,
            max_num_hands=args.max_hands,
            model_complexity=MODEL_COMPLEXITY[args.model],
            min_detection_confidence=args.min_detection_confidence,
            mirrored=args.mirrored,
            gestures=False,
            **model_runtime_kwargs(args),
        )
    except ValueError as exc:  # an option value the tracker refuses
        print_error(f"detect: {exc}")
        return EXIT_USAGE
    except (ImportError, OSError, RuntimeError) as exc:
        print_error(f"detect: cannot create the hand tracker: {exc}")
        return EXIT_FAILED
    try:
        if draw_dir is not None:
            draw_dir.mkdir(parents=True, exist_ok=True)
        writer = ResultWriter(args.output) if args.output else None
    except OSError as exc:
        tracker.close()
        print_error(f"detect: cannot create the output: {exc}")
        return EXIT_FAILED

    failed, status = 0, EXIT_OK
    progress = _progress(len(paths), args.quiet)
    try:
        # Files are read and processed ahead, in order, on every core (HandTracker.process_files); each
        # record is written as its result comes, so an interruption keeps what was done.
        with tracker, progress, contextlib.closing(
                tracker.process_files(paths, batch_size=args.batch_size)) as results:
            for result in results:
                path = result.path
                record: dict[str, Any] = {"image": str(path)}
                try:
                    hands = result.get()
                    image = result.image
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
                        _save_drawing(drawn[path], image, hands)
                    if writer is None:
                        progress.write(_summary_line(path, w, h, hands), stream=sys.stdout)
                if writer is not None:
                    writer.write(record)
                progress.update(1, path.name)
    except KeyboardInterrupt as exc:
        done = writer.count if writer is not None else progress.count
        print_error(f"detect: {_interruption(exc)} after {done} of {len(paths)} images")
        status = EXIT_INTERRUPTED
    except OSError as exc:  # an output could not be written (a full disk, a folder gone): stop, keep the rest
        done = writer.count if writer is not None else progress.count
        print_error(f"detect: cannot write the output: {_os_error(exc)}; stopped after {done} of "
                    f"{len(paths)} images")
        status = EXIT_FAILED
    finally:
        if writer is not None:
            try:
                writer.close()
            except OSError as exc:
                print_error(f"detect: cannot finish {writer.path}: {_os_error(exc)}")
                status = EXIT_FAILED if status == EXIT_OK else status
    if status != EXIT_OK:
        return status
    if writer is not None and not args.quiet:
        print_error(f"detect: wrote {writer.count} results to {writer.path}")
    if failed:
        print_error(f"detect: {failed} of {len(paths)} files failed")
    return EXIT_FAILED if failed else EXIT_OK


def _interruption(exc: BaseException) -> str:
    """"interrupted" for Ctrl-C, "stopped by SIGTERM" (or SIGHUP) for :class:`handtrace.io.Interrupted`."""
    from handtrace.io import Interrupted

    return str(exc) if isinstance(exc, Interrupted) else "interrupted"


def _os_error(exc: OSError) -> str:
    """An OSError in words, with the file name when it has one and its message does not say it."""
    text = exc.strerror or str(exc) if exc.filename is not None else str(exc)
    if exc.filename is not None and str(exc.filename) not in text:
        text = f"{exc.filename}: {text}"
    return text


def _save_drawing(out: Path, image: Any, hands: Sequence[Any]) -> Path:
    """Write the annotated image under a temporary name, then rename it: a kill or a full disk never leaves
    a half-written image under the final name."""
    from handtrace.drawing import draw_hands

    drawn = cv2.cvtColor(draw_hands(image, hands), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(out.suffix if out.suffix else ".png", drawn)
    if not ok:  # e.g. a format OpenCV cannot write: fall back to PNG
        out = out.with_suffix(".png")
        ok, buf = cv2.imencode(".png", drawn)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        with open(tmp, "wb") as f:
            f.write(buf.tobytes())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


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
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or statistics")
    add_tracking_options(p)
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


def _source_files(source: Any) -> list[Path]:
    """The files a frame source reads (none for a camera)."""
    paths = getattr(source, "paths", None)
    if paths is not None:
        return list(paths)
    path = getattr(source, "path", None)
    return [path] if path is not None else []


def _cmd_track(args: argparse.Namespace) -> int:
    from handtrace.io import OutputIsInputError, check_output_not_input
    from handtrace.motion import GestureEventDetector
    from handtrace.video import CameraSource, VideoReadError, open_source
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
    except (OSError, ValueError, TypeError) as exc:  # missing, empty or unreadable input: nothing was done
        print_error(f"track: {exc}")
        return EXIT_USAGE
    outputs = [*args.output, *([args.draw] if args.draw else [])]
    writers = []
    try:
        check_output_not_input(outputs, _source_files(source))
        for path in outputs:
            writers.append(open_writer(path, fps=source.fps, size=source.size))
        recognizer = recognizer_from_args(args)
        events = None if args.no_events else GestureEventDetector(recognizer)
        tracker = _create_tracker(**tracking_kwargs(args, live=isinstance(source, CameraSource)))
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        # Refused or unknown outputs and option values are usage errors; a file that cannot be created, I/O.
        usage = isinstance(exc, ValueError | OutputIsInputError) and not isinstance(exc, OSError)
        print_error(f"track: {_os_error(exc) if isinstance(exc, OSError) else exc}")
        for w in writers:
            _close_quietly(w)
        source.close()
        return EXIT_USAGE if usage else EXIT_FAILED

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
    except KeyboardInterrupt as exc:
        # A signal may land between two outputs' writes of one frame: count what reached each file.
        written = max([done, *(w.frames_written for w in writers)])
        print_error(f"track: {_interruption(exc)} after {written} frames; outputs closed")
        status = EXIT_INTERRUPTED
    except OSError as exc:  # an output could not be written: a full disk, a removed folder
        print_error(f"track: cannot write the output at frame {done}: {_os_error(exc)}; the frames before "
                    "it were written")
        status = EXIT_FAILED
    except Exception as exc:  # anything else: say where, keep what was written
        print_error(f"track: stopped at frame {done}: {type(exc).__name__}: {exc}; the {done} frames "
                    "before it were written")
        status = EXIT_FAILED
    finally:
        closed = []
        for w in writers:  # every writer gets closed, even when one fails or a signal lands meanwhile
            try:
                w.close()
                closed.append(w)
            except OSError as exc:
                print_error(f"track: cannot finish {w.path}: {_os_error(exc)}")
                status = EXIT_FAILED if status == EXIT_OK else status
            except KeyboardInterrupt:
                print_error(f"track: interrupted while closing {w.path}")
                status = EXIT_INTERRUPTED
        if args.show:
            cv2.destroyAllWindows()
    if not args.quiet:
        elapsed = time.perf_counter() - started
        rate = f", {done / elapsed:.1f} frames/s" if elapsed > 0 else ""
        print_error(f"track: {done} frames{rate}; {tracker.stats}")
    if not args.quiet or status != EXIT_OK:
        for w in closed:
            print_error(f"track: wrote {w.path} ({w.frames_written} frames)")
    return status


def _close_quietly(writer: Any) -> None:
    with contextlib.suppress(OSError):
        writer.close()


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
    add_model_runtime_options(p)
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
        **model_runtime_kwargs(args),
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
            **model_runtime_kwargs(args),
        )
    except ValueError as exc:
        print_error(f"eval keypoints: {exc}")
        return EXIT_USAGE
    except (ImportError, OSError, RuntimeError) as exc:
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
    except KeyboardInterrupt as exc:
        print_error(f"eval keypoints: {_interruption(exc)}")
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
        try:
            _write_text_atomically(Path(args.json), json.dumps(out, indent=1) + "\n")
        except OSError as exc:
            print_error(f"eval keypoints: cannot write {args.json}: {_os_error(exc)}")
            return EXIT_FAILED
    return EXIT_OK


def _write_text_atomically(path: Path, text: str) -> None:
    """``path`` gets ``text`` whole or not at all: written under a temporary name, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _version() -> str:
    from handtrace import __version__

    return __version__


def _add_eval_palms(sub: argparse._SubParsersAction) -> None:
    """``handtrace eval palms`` (:mod:`handtrace.training.palm_cli`; needs no PyTorch)."""
    from handtrace.training.palm_cli import add_eval_palms

    add_eval_palms(sub)


# ----------------------------------------------------------------------------------------------- main

def _add_batch_commands(sub: argparse._SubParsersAction) -> None:
    # handtrace.batch.cli imports only the standard library: the extras are checked when a command runs.
    from handtrace.batch.cli import add_batch_command, add_report_command

    add_batch_command(sub)
    add_report_command(sub)


def _add_train(sub: argparse._SubParsersAction) -> None:
    """``handtrace train ...`` (:mod:`handtrace.training.cli`: its parsers import no PyTorch)."""
    from handtrace.training.cli import add_train_command

    add_train_command(sub)


#: Top-level subcommands, in help order: each registers itself on the subparsers object.
_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_detect, _add_track, _add_batch_commands, add_gesture_commands, _add_eval, _add_train]
#: Targets of ``handtrace eval``.
_EVAL_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_eval_keypoints, add_eval_gestures_command, _add_eval_palms]


def build_parser() -> argparse.ArgumentParser:
    """The ``handtrace`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="handtrace", description="Hand tracking on MediaPipe's hand models.",
        epilog="Exit status: 0 success; 1 failure during the work (I/O error, full disk, corrupt input; "
               "outputs so far kept); 2 usage error or bad input; 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (may also follow the command's options)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


def _innermost_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)parser of the command ``args`` ran, e.g. ``eval keypoints``'s: its usage fits its errors."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        chosen = getattr(args, subs[0].dest, None) if subs else None
        if chosen is None or chosen not in subs[0].choices:
            return parser
        parser = subs[0].choices[chosen]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status: 0 ok, 1 failure during the work, 2 usage error or bad
    input, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP). No traceback for an I/O or input error: ``--debug``
    shows it."""
    from handtrace.io import OutputIsInputError, interrupt_on_signals

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # reported by the command's own parser, with its usage (not the top-level one)
            _innermost_parser(parser, args).error(f"unrecognized arguments: {' '.join(extras)}")
    except SystemExit as exc:  # argparse: --help / --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    name = " ".join(str(v) for v in (args.command, getattr(args, "target", None)) if v)
    try:
        with interrupt_on_signals():
            return int(args.func(args))
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        print_error(f"{name}: {_interruption(exc)}")
        return EXIT_INTERRUPTED
    except OutputIsInputError as exc:
        print_error(f"{name}: {exc}")
        return EXIT_USAGE
    except Exception as exc:  # an I/O error in words; anything else with its type and the --debug hint
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (--debug shows the traceback)"
        print_error(f"{name}: {_os_error(exc)}" if isinstance(exc, OSError)
                    else f"{name}: {type(exc).__name__}: {exc}{hint}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
