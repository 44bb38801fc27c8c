"""Tracking one input (or one segment of a long video) whole, exactly as ``handtrace track`` does.

A :class:`Worker` holds one :class:`~handtrace.HandTracker` (models loaded once) and a gesture recogniser,
and runs :class:`Task` after task, resetting the tracker between inputs. Both engines use it: the local
engine in each pool process, the Ray engine in each actor. Every output goes to a temporary name in its
final folder and is renamed when complete, so a killed worker leaves no half-written file under a final
name. The result is the input's manifest record (see :mod:`handtrace.batch.manifest`).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handtrace.batch.inputs import InputItem
from handtrace.batch.parquet import HANDS_DIR, RowBuffer, write_table

__all__ = [
    "OUTPUT_DIRS",
    "JobConfig",
    "Task",
    "Worker",
    "failed_record",
    "output_path",
    "part_name",
    "segment_path",
    "write_final_outputs",
]

#: Optional per-input outputs -> (folder in OUT_DIR, suffix).
OUTPUT_DIRS: dict[str, tuple[str, str]] = {
    "parquet": (HANDS_DIR, ".parquet"),
    "pose": ("pose", ".pose"),
    "coco": ("coco", ".json"),
    "jsonl": ("jsonl", ".jsonl"),
    "csv": ("csv", ".csv"),
    "draw": ("video", ".mp4"),
}
#: Folder of segment results waiting to be joined.
WORK_DIR = ".work"
_PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class JobConfig:
    """What every task of a job shares (picklable: it travels to worker processes and Ray actors).

    Attributes:
        out_dir: OUT_DIR.
        tracker: keyword arguments of :class:`~handtrace.HandTracker` (one place for every tracker option).
        gesture_files: gesture definitions / trained models beside the built-in rules (``--gestures``).
        gestures: recognise gestures at all (``--no-gestures`` sets False).
        fingers: add finger states to hands (``--fingers``; JSON Lines only).
        events: detect swipe / pinch / hold events (JSON Lines only).
        fps: frame rate of image sequences (``--fps``).
        outputs: optional outputs besides Parquet: any of ``pose``, ``coco``, ``jsonl``, ``csv``, ``draw``.
    """

    out_dir: str
    tracker: dict[str, Any]
    gesture_files: tuple[str, ...] = ()
    gestures: bool = True
    fingers: bool = False
    events: bool = True
    fps: float | None = None
    outputs: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Task:
    """One unit of work: an input, or frames ``[first, stop)`` of a video (``segment`` from 0).

    In a segment, frames before ``start`` are the overlap with the previous segment: tracked so that the
    tracker's state has settled by ``start`` and ids can be matched across the join.
    """

    item: InputItem
    segment: int | None = None
    first: int = 0
    start: int = 0
    stop: int | None = None
    attempt: int = 1

    @property
    def label(self) -> str:
        if self.segment is None:
            return self.item.name
        return f"{self.item.name} [{self.start}:{self.stop}]"


def part_name(path: Path) -> Path:
    """The temporary name of an output while it is written: hidden, same folder, same suffix."""
    return path.with_name(f".{path.stem}.part{path.suffix}")


def segment_path(out_dir: str | Path, item: InputItem, segment: int) -> Path:
    return Path(out_dir) / WORK_DIR / item.name / f"seg-{segment:05d}.parquet"


def output_path(out_dir: str | Path, item: InputItem, output: str) -> Path:
    folder, suffix = OUTPUT_DIRS[output]
    return Path(out_dir) / folder / f"{item.name}{suffix}"


def failed_record(task: Task, error: str | None = None) -> dict[str, Any]:
    """A manifest record of ``task`` with nothing done yet (status failed, counts 0)."""
    return {
        "input": task.item.key,
        "name": task.item.name,
        "kind": task.item.kind,
        "status": "failed",
        "frames": 0,
        "hands": 0,
        "frames_with_hands": 0,
        "detector_runs": 0,
        "landmark_runs": 0,
        "tracks": 0,
        "width": None,
        "height": None,
        "fps": None,
        "duration_s": 0.0,
        "attempts": task.attempt,
        "segment": task.segment,
        "error": error,
        "outputs": [],
    }


class Worker:
    """A tracker and a recogniser, loaded once, that run tasks one after another."""

    def __init__(self, config: JobConfig) -> None:
        from handtrace.gestures import GestureRecognizer
        from handtrace.tracker import HandTracker

        self.config = config
        self.recognizer: GestureRecognizer | None = None
        if config.gestures:
            self.recognizer = GestureRecognizer()
            for path in config.gesture_files:
                self.recognizer.load(path)
        # As `track`: the tracker names no gestures itself; the recogniser (with any custom ones) does.
        self.tracker = HandTracker(**{**config.tracker, "static_image_mode": False, "gestures": False})

    def close(self) -> None:
        self.tracker.close()

    def run(self, task: Task, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Track ``task``; returns its manifest record (``status`` done / partial / failed)."""
        record = failed_record(task)
        try:
            self._run(task, record, progress)
        except Exception as exc:  # one bad input must never stop the worker: record it and go on
            record["status"] = "failed"
            record["error"] = f"{type(exc).__name__}: {exc}"
            record["traceback"] = traceback.format_exc(limit=6)
        return record

    def _open(self, task: Task) -> Any:
        from handtrace.video import open_source

        if task.segment is not None:
            from handtrace.batch.segments import SegmentSource

            return SegmentSource(task.item.path, task.first, task.stop, fps=self.config.fps, threaded=True)
        return open_source(str(task.item.path), fps=self.config.fps, threaded=True, strict=True)

    def _run(self, task: Task, record: dict[str, Any], progress: Callable[[int], None] | None) -> None:
        from handtrace.motion import GestureEventDetector
        from handtrace.video import VideoReadError
        from handtrace.writers import open_writer

        cfg, item = self.config, task.item
        try:
            source = self._open(task)
        except (FileNotFoundError, ValueError, TypeError, OSError) as exc:
            record["error"] = str(exc)
            return
        record.update(width=source.size[0], height=source.size[1], fps=source.fps)
        whole = task.segment is None
        streamed = [o for o in ("jsonl", "csv", "draw") if o in cfg.outputs] if whole else []
        finals = {o: output_path(cfg.out_dir, item, o) for o in streamed}
        writers = {}
        rows = RowBuffer()
        sizes: list[tuple[int, int]] = []
        tracker, recognizer = self.tracker, self.recognizer
        tracker.reset()
        events = GestureEventDetector(recognizer) if cfg.events and "jsonl" in streamed else None
        runs0, lm0, tracks0 = (
            tracker.stats.detector_runs,
            tracker.stats.landmark_runs,
            tracker.stats.tracks_started,
        )
        started = last_report = time.perf_counter()
        reported = 0
        try:
            with source:  # closed (decoder thread stopped) however this ends
                for o, path in finals.items():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    writers[o] = open_writer(part_name(path), fps=source.fps, size=source.size)
                for frame in source:
                    before = tracker.stats.detector_runs
                    hands = tracker.process(frame.image_rgb, frame.timestamp_ms)
                    if recognizer is not None:
                        recognizer.annotate(hands, fingers=cfg.fingers)
                    found = (
                        None
                        if events is None
                        else [
                            e.to_dict() for e in events.update_frame(frame.index, frame.timestamp_ms, hands)
                        ]
                    )
                    for w in writers.values():
                        w.write(frame, hands, found)
                    rows.add(frame.index, frame.timestamp_ms, hands, tracker.stats.detector_runs - before)
                    if item.is_image_input:
                        sizes.append((frame.image_rgb.shape[1], frame.image_rgb.shape[0]))
                    now = time.perf_counter()
                    if progress is not None and now - last_report >= _PROGRESS_EVERY_S:
                        progress(rows.frames - reported)
                        reported, last_report = rows.frames, now
            record["status"] = "done"
        except VideoReadError as exc:
            record["status"] = "partial" if rows.frames else "failed"
            record["error"] = str(exc)
        finally:
            for w in writers.values():
                w.close()
            if progress is not None and rows.frames > reported:
                progress(rows.frames - reported)
        stats = tracker.stats
        record.update(
            frames=rows.frames,
            hands=rows.hands,
            frames_with_hands=rows.frames_with_hands,
            detector_runs=stats.detector_runs - runs0,
            landmark_runs=stats.landmark_runs - lm0,
            tracks=stats.tracks_started - tracks0,
            duration_s=round(time.perf_counter() - started, 3),
        )
        if record["status"] == "failed":
            for w in writers.values():
                w.path.unlink(missing_ok=True)
            return
        table = rows.table(item.key)
        if not whole:
            path = segment_path(cfg.out_dir, item, task.segment)  # type: ignore[arg-type]
            path.parent.mkdir(parents=True, exist_ok=True)
            write_table(table, path, _metadata(record))
            return
        outputs = write_final_outputs(
            cfg, item, table, record, sizes, source.paths if item.is_image_input else None
        )  # type: ignore[attr-defined]
        for o, path in finals.items():
            part_name(path).replace(path)
            outputs.append(o)
        record["outputs"] = sorted(outputs)


def write_final_outputs(
    cfg: JobConfig,
    item: InputItem,
    table: Any,
    record: dict[str, Any],
    sizes: list[tuple[int, int]] | None = None,
    image_paths: list[Path] | None = None,
) -> list[str]:
    """Write an input's Parquet file and its optional .pose and COCO files from its rows; returns their
    kinds. The Parquet file goes last: its presence marks the input complete."""
    out: list[str] = []
    if "pose" in cfg.outputs and item.kind != "image":
        from handtrace.batch.pose import write_pose

        path = output_path(cfg.out_dir, item, "pose")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_pose(table, path, width=record["width"], height=record["height"], fps=record["fps"])
        out.append("pose")
    if "coco" in cfg.outputs and item.is_image_input and image_paths is not None:
        from handtrace.batch.coco import write_coco

        path = output_path(cfg.out_dir, item, "coco")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_coco(table, path, image_paths, sizes or [])
        out.append("coco")
    path = output_path(cfg.out_dir, item, "parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(table, path, _metadata(record))
    out.append("parquet")
    return out


def _metadata(record: dict[str, Any]) -> dict[str, str]:
    """Parquet file metadata: the input's frame size and rate."""
    return {k: str(record[k]) for k in ("width", "height", "fps")}
