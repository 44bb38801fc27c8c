"""Images per second of still-image detection on a folder: how the work is spread over the cores.

    PYTHONPATH=src python benchmarks/folder_detect.py                     # ways of running, in one process
    PYTHONPATH=src python benchmarks/folder_detect.py --cli BEFORE_SRC    # `handtrace detect`, before / after

Ways (one process, one warm tracker each, the same files, read from disk each time; the order rotates
from round to round so machine load hits all alike; images/s per round):

* ``sequential``: read, then ``process``, one image after another (``handtrace detect`` before the
  pipeline; models on their automatic 1- or 2-thread sessions, two hands side by side);
* ``reader``: the same with the files read ahead on one thread;
* ``stages``: two stages: a worker thread reads and detects palms (1-thread session) for the next image
  while the caller's thread runs the landmark passes (1-thread session) of this one;
* ``images``: ``HandTracker.process_files``: whole images side by side, one per core (1-thread sessions);
* ``images3``: the same with three worker threads;
* ``batch8``: ``process_files(batch_size=8)``: the GPU path run on the CPU (one palm call per 8 images,
  one landmark call per pass), files read ahead.

Every way's hands are checked equal to ``sequential``'s, bit for bit.

``--cli BEFORE_SRC`` times ``handtrace detect FOLDER -o OUT.jsonl -q`` as fresh processes (start-up and
model loading included), alternating ``PYTHONPATH=BEFORE_SRC`` (e.g. ``git archive`` of main's ``src``)
and this checkout's ``src``; the JSON Lines outputs of the two must be identical.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from handtrace import HandTracker, read_image
from handtrace.datasets import data_root
from handtrace.pipelining import ordered_map
from handtrace.results import Hand
from handtrace.stills import OneThreadModels, process_many
from handtrace.tracking import TrackerStats
from handtrace.warp import prepare

Way = Callable[[HandTracker, list[Path]], Iterator[list[Hand]]]


def sequential(tracker: HandTracker, paths: list[Path]) -> Iterator[list[Hand]]:
    for path in paths:
        yield tracker.process(read_image(path))


def reader(tracker: HandTracker, paths: list[Path]) -> Iterator[list[Hand]]:
    for outcome in ordered_map(read_image, paths, workers=1, ahead=4):
        yield tracker.process(outcome.get())


def stages(tracker: HandTracker, paths: list[Path]) -> Iterator[list[Hand]]:
    models = OneThreadModels.of(tracker)
    assert models is not None, "needs the models' 1-thread sessions (automatic threads, two cores)"

    def first(path: Path) -> tuple[np.ndarray, Any]:
        image = prepare(read_image(path))
        return image, tracker._still_detections(image, models, TrackerStats())

    for outcome in ordered_map(first, paths, workers=1, ahead=2):
        image, detections = outcome.get()
        yield tracker._still_hands(image, detections, models, TrackerStats())


def images(tracker: HandTracker, paths: list[Path]) -> Iterator[list[Hand]]:
    for result in tracker.process_files(paths):
        yield result.get()


def images3(tracker: HandTracker, paths: list[Path]) -> Iterator[list[Hand]]:
    for result in process_many(tracker, paths, read_image, workers=3):
        yield result.get()


def batch8(tracker: HandTracker, paths: list[Path]) -> Iterator[list[Hand]]:
    for result in tracker.process_files(paths, batch_size=8):
        yield result.get()


WAYS: dict[str, Way] = {"sequential": sequential, "reader": reader, "stages": stages, "images": images,
                        "images3": images3, "batch8": batch8}


def _same(a: list[Hand], b: list[Hand]) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x.landmarks, y.landmarks) and np.array_equal(x.world_landmarks, y.world_landmarks)
        and x.to_dict() == y.to_dict() for x, y in zip(a, b, strict=True))


def in_process(paths: list[Path], ways: list[str], rounds: int, model: int) -> None:
    trackers = {w: HandTracker(static_image_mode=True, model_complexity=model, gestures=False) for w in ways}
    reference = list(sequential(trackers[ways[0]], paths))
    rates: dict[str, list[float]] = {w: [] for w in ways}
    for w in ways:  # warm-up, and the check
        got = list(WAYS[w](trackers[w], paths))
        bad = [str(p.name) for p, a, b in zip(paths, reference, got, strict=True) if not _same(a, b)]
        print(f"{w}: hands {'identical to sequential' if not bad else 'DIFFER on ' + ', '.join(bad)}")
    for r in range(rounds):
        order = ways[r % len(ways):] + ways[: r % len(ways)]
        for w in order:
            t0 = time.perf_counter()
            for _ in WAYS[w](trackers[w], paths):
                pass
            rates[w].append(len(paths) / (time.perf_counter() - t0))
        print(f"round {r + 1}: " + ", ".join(f"{w} {rates[w][-1]:.1f}" for w in ways), flush=True)
    print(f"\n{len(paths)} images, images/s per round (median):")
    for w in ways:
        print(f"| {w} | {' / '.join(f'{x:.1f}' for x in rates[w])} | {statistics.median(rates[w]):.1f} |")
    for t in trackers.values():
        t.close()


def cli(folder: Path, before_src: Path, rounds: int) -> None:
    after_src = Path(__file__).resolve().parents[1] / "src"
    sides = {"before": before_src.resolve(), "after": after_src}
    times: dict[str, list[float]] = {"before": [], "after": []}
    n = sum(1 for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    with tempfile.TemporaryDirectory() as tmp:
        outputs = {}
        for r in range(rounds):
            for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                out = Path(tmp) / f"{side}.jsonl"
                env = {**os.environ, "PYTHONPATH": str(sides[side])}
                cmd = [sys.executable, "-m", "handtrace.cli", "detect", str(folder), "-o", str(out), "-q"]
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, check=True)
                times[side].append(time.perf_counter() - t0)
                outputs[side] = out.read_bytes()
                print(f"round {r + 1} {side}: {times[side][-1]:.2f} s, {n / times[side][-1]:.1f} images/s",
                      flush=True)
        print("outputs identical" if outputs["before"] == outputs["after"] else "OUTPUTS DIFFER")
    print(f"\n`handtrace detect {folder} -o OUT.jsonl -q`, {n} images, images/s per run (median):")
    for side in ("before", "after"):
        rates = [n / t for t in times[side]]
        print(f"| {side} | {' / '.join(f'{x:.1f}' for x in rates)} | {statistics.median(rates):.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folder", type=Path, help="image folder (default: the shared hand-graph-cnn photos)")
    ap.add_argument("--limit", type=int, help="in-process: the first N images only")
    ap.add_argument("--ways", default=",".join(WAYS), help=f"in-process ways (default {','.join(WAYS)})")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--model", choices=("lite", "full"), default="full")
    ap.add_argument("--cli", type=Path, metavar="BEFORE_SRC", help="time the CLI against this src folder")
    args = ap.parse_args()
    folder = args.folder or data_root() / "hand-graph-cnn-realworld" / "images"
    if args.cli:
        cli(folder, args.cli, args.rounds)
        return
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    paths = paths[: args.limit] if args.limit else paths
    with contextlib.suppress(KeyboardInterrupt):
        in_process(paths, args.ways.split(","), args.rounds, {"lite": 0, "full": 1}[args.model])


if __name__ == "__main__":
    main()
