"""How closely a video split into segments (``handtrace batch --segment-frames``) matches an unsplit run.

For each shared video, tracks it whole and split into segments of ``--segment-frames`` with each overlap of
``--overlaps``, joins the segments (:func:`handtrace.batch.segments.stitch`) and compares frame by frame with
the whole run: frames with the same number of hands, hands with the same id, landmark distance (px) of the
hands matched by id. Prints a table; one process, one core (``num_threads=1``, as a batch worker).

    PYTHONPATH=src python benchmarks/batch_segments.py [--segment-frames 100] [--overlaps 0 15 30]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from handtrace.batch.inputs import expand_inputs
from handtrace.batch.parquet import hand_rows, read_table
from handtrace.batch.segments import plan_segments, stitch, video_frame_count
from handtrace.batch.worker import JobConfig, Task, Worker
from handtrace.datasets import data_root

VIDEOS = ("tfjs-models/asl_hand.25fps.mp4", "mediapipe-samples/handlandmarker_test_video.mp4",
          "mediapipe-samples/gesture_test_video_victory_thumbup.mp4", "tfjs-models/pose_squats.mp4")


def compare(whole, joined) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Agreement of two one-input tables: per frame, each hand of the whole run against the nearest hand of
    the joined run in the same frame (so landmarks are compared even where ids differ)."""
    a, b = hand_rows(whole), hand_rows(joined)
    frames = sorted(set(whole["frame"].to_pylist()))
    count_a = np.bincount(a["frame"], minlength=len(frames))
    count_b = np.bincount(b["frame"], minlength=len(frames))
    by_frame: dict[int, list[int]] = {}
    for k, f in enumerate(b["frame"]):
        by_frame.setdefault(int(f), []).append(k)
    errs, same_id = [], 0
    for k, f in enumerate(a["frame"]):
        cands = by_frame.get(int(f), [])
        if not cands:
            continue
        d = [np.linalg.norm(a["landmarks"][k, :, :2] - b["landmarks"][j, :, :2], axis=1) for j in cands]
        best = int(np.argmin([x.mean() for x in d]))
        errs.append(d[best])
        same_id += int(a["id"][k] == b["id"][cands[best]])
    err = np.concatenate(errs) if errs else np.zeros(1)
    return {"frames": len(frames), "same_count": float(np.mean(count_a == count_b)),
            "same_id": same_id / max(len(a["frame"]), 1), "median_px": float(np.median(err)),
            "p95_px": float(np.percentile(err, 95)), "max_px": float(err.max())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--segment-frames", type=int, default=100)
    ap.add_argument("--overlaps", type=int, nargs="+", default=[0, 15, 30])
    ap.add_argument("--videos", nargs="+", default=list(VIDEOS), help="paths under the shared data folder")
    args = ap.parse_args()
    print("| video | frames | overlap | segments | same hand count | same id "
          "| landmarks median / p95 / max px |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker(JobConfig(out_dir=tmp, tracker={"num_threads": 1}))
        for rel in args.videos:
            item = expand_inputs([str(data_root() / rel)])[0]
            worker.run(Task(item))
            whole = read_table(Path(tmp) / "hands" / f"{item.name}.parquet")
            n = video_frame_count(item.path) or 0
            for overlap in args.overlaps:
                plan = plan_segments(n, args.segment_frames, overlap)
                tables = []
                for k, (first, start, stop) in enumerate(plan):
                    worker.run(Task(item, segment=k, first=first, start=start, stop=stop))
                    tables.append(read_table(Path(tmp) / ".work" / item.name / f"seg-{k:05d}.parquet"))
                r = compare(whole, stitch(tables, [s for _, s, _ in plan]))
                print(f"| {item.path.name} | {r['frames']} | {overlap} | {len(plan)} "
                      f"| {100 * r['same_count']:.1f}% | {100 * r['same_id']:.1f}% "
                      f"| {r['median_px']:.2f} / {r['p95_px']:.2f} / "
                      f"{r['max_px']:.1f} |", flush=True)
        worker.close()


if __name__ == "__main__":
    main()
