"""Command-line pieces for gestures: ``gestures train|list|explain``, ``eval gestures``, shared options.

Wiring into :mod:`handtrace.cli` (its ``_COMMANDS`` / ``_EVAL_COMMANDS`` lists take exactly these)::

    from handtrace.gesture_cli import add_eval_gestures_command, add_gesture_commands
    _COMMANDS = [_add_detect, _add_track, add_gesture_commands, _add_eval]
    _EVAL_COMMANDS = [_add_eval_keypoints, add_eval_gestures_command]

For ``detect`` and ``track`` outputs to carry gestures::

    from handtrace.gesture_cli import add_gesture_options, recognizer_from_args
    add_gesture_options(p)                         # in _add_detect / _add_track
    recognizer = recognizer_from_args(args)        # None with --no-gestures
    hands = tracker.process(image)
    if recognizer is not None:
        recognizer.annotate(hands, fingers=args.fingers)   # sets hand.gesture / gesture_score
    # track only: events from one GestureEventDetector(recognizer) for the whole video
    record["events"] = [e.to_dict() for e in events.update_frame(frame_index, timestamp_ms, hands)]

Each ``add_*`` function registers a parser and sets ``func`` to a handler returning an exit status
(0 ok, 1 failed, 2 usage error, 130 interrupted), like the other commands.

The evaluation reads labelled image folders: a ``labels.csv`` (columns ``file`` and ``gesture`` or
``label``; an empty gesture means no gesture), an ``expected_results.json`` (MediaPipe samples:
``gesture_expected``), or one sub-folder per class. In a folder-per-class set (MediaPipe Model Maker's
layout) the ``none`` class means "none of this set's classes", so a hand there may show another
built-in gesture (a thumbs-down in model-maker's ``none`` folder is right to come out as
``Thumb_Down``); such answers are scored as ``None`` for that set and listed as they were.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handtrace.io import IMAGE_SUFFIXES
from handtrace.sources import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    MODEL_COMPLEXITY,
    add_model_option,
    print_error,
)

NONE = "None"

#: Dataset label spellings -> gesture names (lower-cased, "-" and " " read as "_").
LABEL_ALIASES: dict[str, str] = {
    "": NONE, "none": NONE, "no_gesture": NONE,
    "closed_fist": "Closed_Fist", "fist": "Closed_Fist",
    "open_palm": "Open_Palm", "palm": "Open_Palm",
    "pointing_up": "Pointing_Up", "pointing": "Pointing_Up", "one": "Pointing_Up",
    "thumb_up": "Thumb_Up", "thumbs_up": "Thumb_Up", "like": "Thumb_Up",
    "thumb_down": "Thumb_Down", "thumbs_down": "Thumb_Down", "dislike": "Thumb_Down",
    "victory": "Victory", "peace": "Victory",
    "iloveyou": "ILoveYou", "i_love_you": "ILoveYou",
    "ok": "OK", "call": "Call", "rock": "Rock", "three": "Three", "four": "Four", "pinch": "Pinch",
}
#: Images labelled by eye where the folder's own files give no gesture label (MediaPipe's sample photo
#: for the hand landmarker shows a thumbs-up; its expected_results.json only states the handedness).
EYE_LABELS: dict[str, str] = {"handlandmarker_test_image.jpg": "Thumb_Up"}
#: The shared labelled folders ``eval gestures`` uses by default.
DEFAULT_SETS = ("mediapipe-rs", "mediapipe-samples", "mediapipe-model-maker-gestures")


def canonical_label(label: str | None) -> str:
    """A dataset label or predicted name in the recogniser's spelling (unknown names kept as given)."""
    if label is None:
        return NONE
    key = label.strip().lower().replace("-", "_").replace(" ", "_")
    return LABEL_ALIASES.get(key, label.strip())


# ----------------------------------------------------------------------------------- labelled images


@dataclass
class LabelledImage:
    """One labelled image of an evaluation set.

    Attributes:
        path: the image file.
        label: its gesture name (:func:`canonical_label`), ``"None"`` for no gesture.
        dataset: the set's folder name.
        classes: the set's gesture classes (without ``"None"``).
        none_is_other: ``"None"`` means "none of ``classes``" (folder-per-class sets).
        expected_hands: hands in the image when the labels say (0 for images without a hand).
    """

    path: Path
    label: str
    dataset: str
    classes: tuple[str, ...] = ()
    none_is_other: bool = False
    expected_hands: int | None = None


def _read_labels_csv(folder: Path) -> list[tuple[str, str, int | None]]:
    with open(folder / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        name = row.get("file") or row.get("image") or row.get("filename")
        if not name:
            continue
        label = row.get("gesture", row.get("label", "")) or ""
        hands = row.get("hands")
        n = int(hands) if hands not in (None, "") and str(hands).isdigit() else None
        if (row.get("category") or "").lower() == "negative":
            n = 0
        out.append((name, label, n))
    return out


def labelled_images(folder: str | Path) -> list[LabelledImage]:
    """The labelled images of one folder (see the module docstring for the layouts read)."""
    folder = Path(folder)
    rows: list[tuple[str, str, int | None]] = []
    if (folder / "labels.csv").is_file():
        rows = _read_labels_csv(folder)
    elif (folder / "expected_results.json").is_file():
        data = json.loads((folder / "expected_results.json").read_text(encoding="utf-8"))
        for name, info in sorted(data.items()):
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue  # videos are not still-image evaluations
            expected = info.get("gesture_expected") if isinstance(info, dict) else None
            label = expected.split()[0] if expected else EYE_LABELS.get(name)
            if label is not None:
                rows.append((name, label, None))
    else:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            rows += [(f"{sub.name}/{f.name}", sub.name, None) for f in sorted(sub.iterdir())
                     if f.suffix.lower() in IMAGE_SUFFIXES]
    # Folder-per-class: every file sits in a sub-folder named after its label.
    per_class = bool(rows) and all(
        "/" in name and Path(name).parts[0].lower() == label.lower() for name, label, _ in rows
    )
    classes = tuple(dict.fromkeys(canonical_label(lab) for _, lab, _ in rows if canonical_label(lab) != NONE))
    return [
        LabelledImage(folder / name, canonical_label(label), folder.name, classes, per_class, n)
        for name, label, n in rows
    ]


# --------------------------------------------------------------------------------------- evaluation


@dataclass
class GestureEvaluation:
    """Per-image results of an evaluation and the tables made from them."""

    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, item: LabelledImage, hands: Sequence[Any], error: str | None = None) -> dict[str, Any]:
        """Record one image (its hands already annotated with gestures)."""
        named = [(h.gesture, float(h.gesture_score)) for h in hands if h.gesture not in (None, NONE)]
        raw = max(named, key=lambda t: t[1])[0] if named else NONE
        pred = canonical_label(raw)
        scored = pred
        if item.none_is_other and pred not in item.classes:
            scored = NONE  # "none of this set's classes" is what its none label asserts
        rec = {
            "image": str(item.path),
            "dataset": item.dataset,
            "label": item.label,
            "hands": len(hands),
            "prediction": pred if hands else None,
            "scored": scored if hands else None,
            "correct": (scored == item.label) if hands else None,
            "gestures": [[h.gesture, round(float(h.gesture_score), 3)] for h in hands],
        }
        if item.expected_hands is not None:
            rec["expected_hands"] = item.expected_hands
        if error is not None:
            rec["error"] = error
        self.records.append(rec)
        return rec

    def _scored(self, dataset: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.records if r["scored"] is not None and dataset in (None, r["dataset"])]

    def accuracy(self, dataset: str | None = None) -> float:
        """Share of images with a hand found whose gesture is right."""
        rs = self._scored(dataset)
        return float(np.mean([r["correct"] for r in rs])) if rs else float("nan")

    def confusion(self, dataset: str | None = None) -> tuple[list[str], list[str], np.ndarray]:
        """(row labels, column labels, counts): rows true label, columns scored prediction."""
        rs = self._scored(dataset)
        rows = sorted({r["label"] for r in rs}, key=lambda s: (s == NONE, s))
        cols = rows + sorted({r["scored"] for r in rs} - set(rows), key=lambda s: (s == NONE, s))
        m = np.zeros((len(rows), len(cols)), np.int64)
        for r in rs:
            m[rows.index(r["label"]), cols.index(r["scored"])] += 1
        return rows, cols, m

    def to_markdown(self, dataset: str | None = None, details: bool = False) -> str:
        from handtrace.gesture_classifier import markdown_confusion

        recs = [r for r in self.records if dataset in (None, r["dataset"])]
        rs = self._scored(dataset)
        title = dataset or "all sets"
        no_hand = [r for r in recs if r["scored"] is None]
        lines = [f"### {title}: {len(recs)} images, hand found in {len(rs)}"]
        if rs:
            right = sum(r["correct"] for r in rs)
            lines.append(f"\nright gesture on {right}/{len(rs)} images with a hand ({right / len(rs):.1%})\n")
            rows, cols, m = self.confusion(dataset)
            lines.append(_per_class(rows, cols, m))
            lines.append("")
            lines.append(markdown_confusion(m, rows, cols))
        if no_hand:
            negatives = sum(1 for r in no_hand if r.get("expected_hands") == 0)
            lines.append(f"\nno hand found in {len(no_hand)} image(s)"
                         + (f" ({negatives} of them have no hand)" if negatives else "") + ":")
            lines += [f"- {r['image']}" for r in no_hand if r.get("expected_hands") != 0]
        false_hands = [r for r in recs if r.get("expected_hands") == 0 and r["hands"]]
        if false_hands:
            lines.append(f"\nhands found in {len(false_hands)} image(s) labelled as having none")
        if details:
            lines.append("\n| image | label | prediction | hands (gesture, score) |\n|---|---|---|---|")
            lines += [
                f"| {Path(r['image']).name} | {r['label']} | {r['prediction'] or '(no hand)'} | "
                + ", ".join(f"{g} {s:.2f}" for g, s in r["gestures"]) + " |"
                for r in recs
            ]
        return "\n".join(lines)


def _per_class(rows: list[str], cols: list[str], m: np.ndarray) -> str:
    lines = ["| class | precision | recall | images |", "|---|---:|---:|---:|"]
    for i, name in enumerate(rows):
        j = cols.index(name)
        predicted, support = int(m[:, j].sum()), int(m[i].sum())
        prec = f"{m[i, j] / predicted:.2f}" if predicted else "-"
        rec = f"{m[i, j] / support:.2f}" if support else "-"
        lines.append(f"| {name} | {prec} | {rec} | {support} |")
    return "\n".join(lines)


def evaluate_gestures(
    images: Sequence[LabelledImage],
    process: Callable[[np.ndarray], list[Any]],
    recognizer: Any,
    read: Callable[[Path], np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
) -> GestureEvaluation:
    """Run ``process`` (RGB image -> hands) and the recogniser on every image and collect the results.

    An image's answer is the most confident named gesture among its hands (``"None"`` when no hand has
    one); images where no hand is found are reported, not scored.
    """
    if read is None:
        from handtrace.io import read_image

        read = read_image
    ev = GestureEvaluation()
    for item in images:
        try:
            hands = process(read(item.path))
        except Exception as exc:  # one unreadable file must not stop the evaluation
            ev.add(item, [], error=str(exc))
        else:
            recognizer.annotate(hands)
            ev.add(item, hands)
        if progress is not None:
            progress(item.path.name)
    return ev


# ------------------------------------------------------------------------------------------- options


def add_gesture_options(p: argparse.ArgumentParser) -> None:
    """``--gestures FILE`` (repeatable), ``--no-gestures``, ``--fingers`` for commands that output hands."""
    g = p.add_argument_group("gestures")
    g.add_argument(
        "--gestures", action="append", default=[], metavar="FILE",
        help="gesture definitions (JSON/YAML) or a trained model (gestures train) to use beside the "
        "built-in rules; repeatable",
    )
    g.add_argument("--no-gestures", action="store_true", help="do not recognise gestures")
    g.add_argument("--fingers", action="store_true", help="also output each hand's finger states")


def recognizer_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~handtrace.gestures.GestureRecognizer` asked for by :func:`add_gesture_options`'s
    options, or ``None`` with ``--no-gestures``. Raises ``ValueError``/``OSError`` for a bad file."""
    if getattr(args, "no_gestures", False):
        return None
    from handtrace.gestures import GestureRecognizer

    rec = GestureRecognizer()
    for path in getattr(args, "gestures", []) or []:
        rec.load(path)
    return rec


def _tracker(model: str, max_hands: int = 2) -> Any:
    from handtrace.tracker import HandTracker

    return HandTracker(static_image_mode=True, max_num_hands=max_hands,
                       model_complexity=MODEL_COMPLEXITY[model])


def _progress(total: int, quiet: bool) -> Any:
    from handtrace.sources import ProgressBar

    return ProgressBar(total, enabled=False if quiet else None)


# ------------------------------------------------------------------------------------ gestures ...


def add_gesture_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``gestures`` with ``train``, ``list`` and ``explain`` on the top-level subparsers."""
    p = subparsers.add_parser(
        "gestures", help="train, list and explain gestures", description="Gesture tools."
    )
    sub = p.add_subparsers(dest="gestures_command", metavar="ACTION", required=True)

    t = sub.add_parser(
        "train",
        help="train a gesture classifier from folders of images",
        description="Train a gesture classifier from DATA_DIR/<gesture>/*.jpg (a 'none' folder holds "
        "hands showing none of them). Reports cross-validated accuracy and a confusion matrix, lists "
        "images where no hand is found, and writes a JSON model that detect/track/eval load with "
        "--gestures.",
    )
    t.add_argument("data_dir", metavar="DATA_DIR", help="one sub-folder of images per gesture")
    t.add_argument("-o", "--output", required=True, metavar="MODEL_JSON", help="where to write the model")
    add_model_option(t)
    t.add_argument(
        "--none-class", default="none", metavar="NAME", help="the 'no gesture' folder (default none)"
    )
    t.add_argument("--no-orientation", action="store_true",
                   help="ignore which way the hand points (only its shape)")
    t.add_argument("--l2", type=float, default=1.0, metavar="F", help="regularisation strength (default 1)")
    t.add_argument("--folds", type=int, default=5, metavar="K", help="cross-validation folds (default 5)")
    t.add_argument("--min-score", type=float, default=0.5, metavar="P",
                   help="probability a class needs to be answered (default 0.5)")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_gestures_train)

    ls = sub.add_parser(
        "list", help="list the gestures and their rules",
        description="List the built-in gestures (and those of --gestures files).",
    )
    ls.add_argument("--gestures", action="append", default=[], metavar="FILE", help="more gesture files")
    ls.add_argument("--json", action="store_true", help="print the definitions as a JSON gesture file")
    ls.set_defaults(func=cmd_gestures_list)

    ex = sub.add_parser(
        "explain", help="show finger states and gesture scores of the hands in images",
        description="For each hand: finger states, thumb, direction, palm facing, every gesture's score.",
    )
    ex.add_argument("images", nargs="+", metavar="IMAGE")
    ex.add_argument("--gestures", action="append", default=[], metavar="FILE", help="more gesture files")
    add_model_option(ex)
    ex.set_defaults(func=cmd_gestures_explain)


def cmd_gestures_train(args: argparse.Namespace) -> int:
    """``handtrace gestures train DATA_DIR --output model.json``."""
    from handtrace import gesture_classifier as gc

    try:
        images = gc.list_training_images(args.data_dir)
    except (FileNotFoundError, ValueError) as exc:
        print_error(f"gestures train: {exc}")
        return EXIT_USAGE
    if args.folds < 2:
        print_error("gestures train: --folds must be at least 2")
        return EXIT_USAGE
    try:
        tracker = _tracker(args.model)
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        print_error(f"gestures train: cannot create the hand tracker: {exc}")
        return EXIT_FAILED
    progress = _progress(len(images), args.quiet)
    try:
        with tracker, progress:
            samples = gc.extract_samples(
                images, tracker.process, progress=lambda p: progress.update(1, p.name)
            )
        report = gc.train_samples(
            samples, none_class=args.none_class, orientation=not args.no_orientation, l2=args.l2,
            folds=args.folds, min_score=args.min_score,
        )
    except KeyboardInterrupt:
        print_error("gestures train: interrupted")
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as exc:
        print_error(f"gestures train: {exc}")
        return EXIT_FAILED
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    report.model.save(out)
    print(f"trained on {sum(report.counts.values())} of {len(images)} images from {args.data_dir}\n")
    print(report.to_markdown())
    print(f"\nwrote {out}")
    return EXIT_OK


def cmd_gestures_list(args: argparse.Namespace) -> int:
    """``handtrace gestures list``: the rule gestures, one line each (or as a JSON gesture file)."""
    from handtrace.gestures import GestureRecognizer

    rec = GestureRecognizer()
    try:
        for path in args.gestures:
            rec.load(path)
    except (ValueError, OSError, ImportError) as exc:
        print_error(f"gestures list: {exc}")
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"gestures": [g.to_dict() for g in rec.gestures]}, indent=2))
        return EXIT_OK
    for g in rec.gestures:
        conds = ", ".join(f"{k}={'|'.join(v)}" for k, v in g.fingers.items())  # type: ignore[arg-type]
        if g.thumb:
            conds += f", thumb {'|'.join(g.thumb)}"
        for k, v in g.direction.items():
            conds += f", {k} points {'|'.join(v)}"  # type: ignore[arg-type]
        print(f"{g.name:12s} {g.description or ''}\n{'':12s} ({conds})")
    if rec.model is not None:
        print(f"trained model classes: {', '.join(rec.model.classes)}")
    return EXIT_OK


def cmd_gestures_explain(args: argparse.Namespace) -> int:
    """``handtrace gestures explain IMAGE...``: why each hand got its gesture."""
    from handtrace.fingers import hand_features
    from handtrace.gestures import GestureRecognizer
    from handtrace.io import read_image

    rec = GestureRecognizer()
    try:
        for path in args.gestures:
            rec.load(path)
    except (ValueError, OSError, ImportError) as exc:  # a bad --gestures file: bad input (exit-code table)
        print_error(f"gestures explain: {exc}")
        return EXIT_USAGE
    try:
        tracker = _tracker(args.model)
    except (ValueError, OSError, ImportError, RuntimeError) as exc:
        print_error(f"gestures explain: {exc}")
        return EXIT_FAILED
    failed = 0
    with tracker:
        for path in args.images:
            try:
                hands = tracker.process(read_image(path))
            except Exception as exc:  # report and go on with the next image
                print_error(f"gestures explain: {path}: {exc}")
                failed += 1
                continue
            rec.annotate(hands)
            print(f"{path}: {len(hands)} hand(s)")
            for i, h in enumerate(hands):
                print(f"  hand {i} ({h.handedness}): {h.gesture} {h.gesture_score:.2f}")
                print("    " + json.dumps(hand_features(h).to_dict()))
                scores = {k: v["score"] for k, v in rec.explain(h).items()}
                top = sorted(scores.items(), key=lambda kv: -kv[1])[:5]
                print("    scores: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    return EXIT_FAILED if failed else EXIT_OK


# -------------------------------------------------------------------------------------- eval gestures


def add_eval_gestures_command(eval_subparsers: argparse._SubParsersAction) -> None:
    """Register the ``gestures`` target on ``handtrace eval``'s subparsers."""
    p = eval_subparsers.add_parser(
        "gestures",
        help="gesture accuracy on labelled images (per-class precision/recall, confusion matrix)",
        description="Recognise gestures on labelled image folders (labels.csv, expected_results.json or "
        "one folder per class) and report, per set and overall, the share of images with a hand whose "
        "gesture is right, per-class precision and recall, and a confusion matrix (markdown). Default "
        f"sets: {', '.join(DEFAULT_SETS)} under $HANDTRACE_DATA.",
    )
    p.add_argument(
        "data_dirs", nargs="*", metavar="DATA_DIR", help="labelled folders (default: the shared sets)"
    )
    add_model_option(p)
    p.add_argument("--max-hands", type=int, default=2, metavar="N", help="most hands per image (default 2)")
    p.add_argument("--gestures", action="append", default=[], metavar="FILE",
                   help="gesture files or a trained model to use beside the rules; repeatable")
    p.add_argument("--details", action="store_true", help="also list every image's answer")
    p.add_argument("--json", metavar="FILE", help="write per-image records here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval_gestures)


def cmd_eval_gestures(args: argparse.Namespace) -> int:
    """``handtrace eval gestures [DATA_DIR...]``."""
    from handtrace.datasets import data_root
    from handtrace.gestures import GestureRecognizer

    if args.data_dirs:
        dirs = [Path(d) for d in args.data_dirs]
        missing = [d for d in dirs if not d.is_dir()]
        if missing:
            print_error(f"eval gestures: not a folder: {', '.join(map(str, missing))}")
            return EXIT_USAGE
    else:
        root = data_root()
        dirs = [root / s for s in DEFAULT_SETS if (root / s).is_dir()]
        if not dirs:
            print_error(f"eval gestures: no labelled sets under {root} (pass DATA_DIR or set HANDTRACE_DATA)")
            return EXIT_USAGE
    items: list[LabelledImage] = []
    for d in dirs:
        found = labelled_images(d)
        if not found:
            print_error(f"eval gestures: no labelled images in {d}")
        items += found
    if not items:
        return EXIT_USAGE
    rec = GestureRecognizer()
    try:
        for path in args.gestures:
            rec.load(path)
        tracker = _tracker(args.model, args.max_hands)
    except (ValueError, OSError, ImportError, RuntimeError) as exc:
        print_error(f"eval gestures: {exc}")
        return EXIT_FAILED
    progress = _progress(len(items), args.quiet)
    try:
        with tracker, progress:
            ev = evaluate_gestures(
                items, tracker.process, rec, progress=lambda name: progress.update(1, name)
            )
    except KeyboardInterrupt:
        print_error("eval gestures: interrupted")
        return EXIT_INTERRUPTED
    sets = list(dict.fromkeys(i.dataset for i in items))
    print(f"## Gesture evaluation ({args.model} model, rules"
          + (f" + {', '.join(args.gestures)}" if args.gestures else "") + ")\n")
    for s in sets:
        print(ev.to_markdown(s, details=args.details) + "\n")
    if len(sets) > 1:
        print(ev.to_markdown(None) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(ev.records, indent=1) + "\n", encoding="utf-8")
    errors = [r for r in ev.records if "error" in r]
    for r in errors:
        print_error(f"eval gestures: {r['image']}: {r['error']}")
    return EXIT_FAILED if errors else EXIT_OK
