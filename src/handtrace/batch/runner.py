"""The coordinator of a batch job: plan tasks, run them on an engine, keep the manifest, join segments.

Steps: lock OUT_DIR (one job at a time), check the job's options against the ones OUT_DIR was made with,
skip inputs whose manifest record is ``done`` with every requested output present, remove temporary files a
killed run left, split long videos (:mod:`handtrace.batch.segments`), run the tasks on the engine, and write
each input's manifest record as soon as it finishes, so a job stopped at any point (Ctrl-C, SIGTERM, a kill)
resumes by running the same command again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow.compute as pc

from handtrace.batch.inputs import InputItem
from handtrace.batch.manifest import Manifest
from handtrace.batch.parquet import read_table
from handtrace.batch.segments import auto_segment_frames, plan_segments, stitch, video_frame_count
from handtrace.batch.worker import (
    OUTPUT_DIRS,
    WORK_DIR,
    JobConfig,
    Task,
    failed_record,
    output_path,
    segment_path,
    write_final_outputs,
)
from handtrace.io import interrupt_on_signals

__all__ = ["BatchOptions", "BatchSummary", "ConfigMismatch", "JobLocked", "run_batch"]

CONFIG_FILE = "config.json"
#: Outputs whose writers need the frames in order in one process: inputs asking for them are not split.
_STREAMED = frozenset({"jsonl", "csv", "draw"})


class ConfigMismatch(ValueError):
    """OUT_DIR holds results made with other tracking options."""


class JobLocked(RuntimeError):
    """Another job is writing to OUT_DIR."""


@dataclass
class BatchOptions:
    """How to run a job (not what it computes: that is :class:`~handtrace.batch.worker.JobConfig`).

    Attributes:
        engine: ``"local"`` or ``"ray"``.
        workers: worker processes / actors (default: the machine's cores, or the Ray cluster's CPUs).
        address: Ray cluster address (default: ``RAY_ADDRESS``, else an embedded Ray).
        segment_frames: split videos longer than 1.5x this into segments of about this many frames;
            ``None``: automatic (:func:`~handtrace.batch.segments.auto_segment_frames`); 0: never split.
        overlap: frames each segment tracks before its own first frame.
        redo: ignore the manifest and track every input again.
        quiet: no progress bar or messages, only errors and the summary line.
    """

    engine: str = "local"
    workers: int | None = None
    address: str | None = None
    segment_frames: int | None = None
    overlap: int = 30
    redo: bool = False
    quiet: bool = False


@dataclass
class BatchSummary:
    total: int = 0
    skipped: int = 0
    done: int = 0
    partial: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0: every input done; 1: some failed or partial; 130: interrupted."""
        if self.interrupted:
            return 130
        return 1 if self.failed or self.partial else 0

    def line(self) -> str:
        rate = f", {self.frames / self.seconds:.1f} frames/s" if self.seconds > 0 else ""
        skipped = f" ({self.skipped} already done)" if self.skipped else ""
        return (
            f"{self.total} inputs{skipped}: {self.done} done, {self.partial} partial, {self.failed} "
            f"failed; {self.frames} frames in {self.seconds:.1f} s{rate}"
        )


def _config_dict(config: JobConfig) -> dict[str, Any]:
    """What decides the results (checked on rerun); outputs and engine do not."""
    return {
        "tracker": config.tracker,
        "gesture_files": list(config.gesture_files),
        "gestures": config.gestures,
        "fingers": config.fingers,
        "events": config.events,
        "fps": config.fps,
    }


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    with open(out_dir / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise JobLocked(f"another batch job is writing to {out_dir}") from exc
        yield


def _check_config(out_dir: Path, config: JobConfig, redo: bool) -> None:
    path = out_dir / CONFIG_FILE
    want = json.loads(json.dumps(_config_dict(config)))
    if path.is_file() and not redo:
        try:
            have = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            have = None
        if have is not None and have != want:
            diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
            raise ConfigMismatch(
                f"{out_dir} holds results made with other options ({', '.join(diff)}); use "
                "another OUT_DIR, the same options, or --redo to track everything again"
            )
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(want, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _remove_leftovers(out_dir: Path) -> None:
    """Temporary files of a run that was killed (never final names, so nothing finished is touched)."""
    for folder, _ in OUTPUT_DIRS.values():
        d = out_dir / folder
        if d.is_dir():
            for f in d.glob(".*"):
                if f.is_file() and (".part." in f.name or f.name.endswith(".tmp")):
                    f.unlink(missing_ok=True)


def _is_done(
    record: dict[str, Any] | None, out_dir: Path, item: InputItem, outputs: frozenset[str]
) -> bool:
    if not record or record.get("status") != "done":
        return False
    wanted = {"parquet"} | {o for o in outputs if _applies(o, item)}
    return wanted <= set(record.get("outputs", [])) and all(
        output_path(out_dir, item, o).is_file() for o in wanted
    )


def _applies(output: str, item: InputItem) -> bool:
    if output == "coco":
        return item.is_image_input
    if output == "pose":
        return item.kind != "image"
    return True


class _Progress:
    """One bar for the job (tqdm): inputs done of total, frames/s over all workers, failures."""

    def __init__(self, total: int, quiet: bool, stream: IO[str]) -> None:
        self.stream, self.quiet = stream, quiet
        self.frames, self.failed = 0, 0
        self.start = time.perf_counter()
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                unit="input",
                file=stream,
                dynamic_ncols=True,
                smoothing=0.1,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
            )

    def frames_done(self, n: int) -> None:
        self.frames += n
        self._postfix()

    def input_done(self, status: str) -> None:
        self.failed += status != "done"
        if self.bar is not None:
            self.bar.update(1)
        self._postfix()

    def _postfix(self) -> None:
        if self.bar is not None:
            rate = self.frames / max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix_str(f"{rate:.0f} frames/s, {self.failed} failed", refresh=False)

    def write(self, message: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _plan(
    todo: list[InputItem], config: JobConfig, options: BatchOptions, workers: int
) -> tuple[list[Task], dict[str, list[Task]]]:
    """Tasks for ``todo``, and the segment tasks of each split input (by input key)."""
    split_ok = options.segment_frames != 0 and not (_STREAMED & config.outputs)
    counts: dict[str, int] = {}
    if split_ok:
        for item in todo:
            if item.kind == "video":
                n = video_frame_count(item.path)
                if n:
                    counts[item.key] = n
    seg_frames = options.segment_frames
    if split_ok and seg_frames is None:
        seg_frames = auto_segment_frames(sum(counts.values()), workers)
    tasks: list[Task] = []
    segmented: dict[str, list[Task]] = {}
    for item in todo:
        plan = (
            plan_segments(counts[item.key], seg_frames or 0, options.overlap) if item.key in counts else []
        )
        if len(plan) > 1:
            segs = [Task(item, segment=k, first=f, start=s, stop=e) for k, (f, s, e) in enumerate(plan)]
            segmented[item.key] = segs
            tasks.extend(segs)
        else:
            tasks.append(Task(item))
    return tasks, segmented


def _join_segments(
    config: JobConfig, item: InputItem, tasks: list[Task], records: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """The input's record and final outputs from its segments' results (see :mod:`.segments`)."""
    recs = [records[t.segment] for t in tasks]  # type: ignore[index]
    keep = len(recs)
    status, error = "done", None
    for k, r in enumerate(recs):
        if r["status"] != "done":
            error = r["error"]
            keep = k + 1 if r["status"] == "partial" else k
            status = "partial" if keep else "failed"
            break
    record = failed_record(tasks[0], error)
    record.update(
        status=status,
        segments=len(tasks),
        segment=None,
        attempts=max(r["attempts"] for r in recs),
        duration_s=round(sum(r["duration_s"] for r in recs), 3),
        landmark_runs=sum(r["landmark_runs"] for r in recs),
    )
    work = Path(config.out_dir) / WORK_DIR / item.name
    if keep:
        record.update(width=recs[0]["width"], height=recs[0]["height"], fps=recs[0]["fps"])
        tables = [read_table(segment_path(config.out_dir, item, k)) for k in range(keep)]
        table = stitch(tables, [t.start for t in tasks[:keep]])
        frames = table.group_by("frame").aggregate([("detector_runs", "max")])
        with_hand = table.filter(pc.is_valid(table["hand"]))
        record.update(
            frames=frames.num_rows,
            hands=with_hand.num_rows,
            frames_with_hands=len(pc.unique(with_hand["frame"])),
            detector_runs=int(pc.sum(frames["detector_runs_max"]).as_py() or 0),
            tracks=len(pc.unique(with_hand["id"].drop_null())),
        )
        record["outputs"] = sorted(write_final_outputs(config, item, table, record))
    shutil.rmtree(work, ignore_errors=True)
    return record


def run_batch(
    items: Sequence[InputItem],
    config: JobConfig,
    options: BatchOptions,
    engine_factory: Callable[[JobConfig, BatchOptions], Any] | None = None,
    stream: IO[str] | None = None,
) -> BatchSummary:
    """Run a job over ``items``; see the module docstring. Returns its summary (``exit_code``).

    Raises:
        ConfigMismatch, JobLocked: as their names say (usage errors, before anything runs).
        RuntimeError: the engine cannot start its workers.
    """
    stream = stream if stream is not None else sys.stderr
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = BatchSummary(total=len(items))
    with _locked(out_dir):
        _check_config(out_dir, config, options.redo)
        manifest = Manifest(out_dir)
        todo = [
            it
            for it in items
            if options.redo or not _is_done(manifest.records.get(it.key), out_dir, it, config.outputs)
        ]
        summary.skipped = len(items) - len(todo)
        _remove_leftovers(out_dir)
        for it in todo:
            shutil.rmtree(out_dir / WORK_DIR / it.name, ignore_errors=True)
        if not todo:
            manifest.close()
            return summary
        engine = (engine_factory or _default_engine)(config, options)
        tasks, segmented = _plan(todo, config, options, engine.workers)
        seg_results: dict[str, dict[int, dict[str, Any]]] = {}
        progress = _Progress(len(todo), options.quiet, stream)
        started = time.perf_counter()

        def finish(record: dict[str, Any]) -> None:
            manifest.add(record)
            summary.records.append(record)
            status = record["status"]
            setattr(summary, status, getattr(summary, status) + 1)
            summary.frames += record["frames"]
            if status != "done":
                progress.write(f"handtrace: batch: {status}: {record['input']}: {record['error']}")
            progress.input_done(status)

        def on_event(kind: str, task: Task, payload: Any) -> None:
            if kind == "progress":
                progress.frames_done(payload)
            elif kind == "retry":
                progress.write(f"handtrace: batch: {payload} on {task.label}; retrying it")
            elif task.segment is None:
                finish(payload)
            else:
                got = seg_results.setdefault(task.item.key, {})
                got[task.segment] = payload
                segs = segmented[task.item.key]
                if len(got) == len(segs):
                    finish(_join_segments(config, task.item, segs, got))
                    del seg_results[task.item.key]

        try:
            with interrupt_on_signals():
                engine.run(tasks, on_event)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            summary.seconds = time.perf_counter() - started
            if summary.interrupted:  # the stopped workers' temporary files
                _remove_leftovers(out_dir)
            progress.close()
            manifest.close()
            close = getattr(engine, "close", None)
            if close is not None:
                close()
    return summary


def _default_engine(config: JobConfig, options: BatchOptions) -> Any:
    if options.engine == "ray":
        from handtrace.batch.ray_engine import RayEngine

        return RayEngine(config, options.workers, options.address)
    from handtrace.batch.local import LocalEngine

    return LocalEngine(config, options.workers or os.cpu_count() or 1)
