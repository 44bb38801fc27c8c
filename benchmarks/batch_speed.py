"""Frames per second of ``handtrace batch`` against ``handtrace track`` run input after input.

Builds a corpus of ``--inputs`` copies of the shared videos in a temporary folder (never in the repo), then
runs, each as the command a user types:

1. ``sequential``: ``handtrace track INPUT -o X.jsonl`` for each input, one after another;
2. ``local``: ``handtrace batch CORPUS -o OUT --engine local``;
3. ``ray``: ``handtrace batch ... --engine ray`` (embedded Ray);
4. ``cluster``: a two-node Ray cluster on this machine (``ray start --head --num-cpus 1`` plus a second
   ``ray start --address 127.0.0.1:PORT --num-cpus 1``, loopback only) and ``batch --engine ray --address``;

and checks that the outputs agree: the batch engines' Parquet rows are identical to each other, and equal to
each input's ``track`` JSON Lines within its rounding. Prints a table (wall time includes process and Ray
start-up, as a user sees it).

    PYTHONPATH=src python benchmarks/batch_speed.py                 # 40 inputs, all four modes
    PYTHONPATH=src python benchmarks/batch_speed.py --inputs 6 --modes sequential local   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from handtrace.datasets import data_root

VIDEOS = ("tfjs-models/asl_hand.25fps.mp4", "mediapipe-samples/handlandmarker_test_video.mp4",
          "mediapipe-samples/gesture_test_video_victory_thumbup.mp4")
MODES = ("sequential", "local", "ray", "cluster")
SRC = str(Path(__file__).resolve().parents[1] / "src")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}


def _handtrace(*args: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run([sys.executable, "-m", "handtrace.cli", *args], env=env or _env(), check=False,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-10:])
        raise RuntimeError(f"handtrace {args[0]} exited with {proc.returncode}:\n{tail}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TwoNodeCluster:
    """``ray start --head`` and a second node on loopback, 1 CPU each; stopped by killing the process groups
    it started (never ``ray stop``, which would stop every Ray on the machine)."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        # Ray 2.5x+ asks joining nodes and drivers for the cluster's token: one for this run, passed to all.
        self.env = {**_env(), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        self.logs = [tmp / "head.log", tmp / "node.log"]
        common = ["--num-cpus", "1", "--block", "--disable-usage-stats"]
        try:
            self._start(["--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
                         "--include-dashboard", "false", *common], self.logs[0])
            time.sleep(5)
            self._start(["--address", f"127.0.0.1:{self.port}", "--node-ip-address", "127.0.0.1", *common],
                        self.logs[1])
            self._wait_for_cpus(2)
        except BaseException:
            for log in self.logs:
                if log.exists():
                    tail = "\n".join(log.read_text().splitlines()[-15:])
                    print(f"--- {log.name}:\n{tail}", file=sys.stderr)
            self.stop()
            raise

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _start(self, args: list[str], log: Path) -> None:
        ray_bin = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
        with open(log, "wb") as f:
            self.procs.append(subprocess.Popen([ray_bin, "start", *args], env=self.env, stdout=f, stderr=f,
                                               start_new_session=True))

    def _wait_for_cpus(self, cpus: int, timeout: float = 120) -> None:
        code = (f"import ray; ray.init(address='{self.address}', log_to_driver=False); "
                "print(int(ray.cluster_resources().get('CPU', 0)))")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            out = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True)
            if out.stdout.strip().isdigit() and int(out.stdout.strip()) >= cpus:
                return
            time.sleep(2)
        raise RuntimeError(f"the two-node cluster did not come up with {cpus} CPUs")

    def stop(self) -> None:
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def make_corpus(folder: Path, count: int) -> list[Path]:
    root = data_root()
    out = []
    for i in range(count):
        src = root / VIDEOS[i % len(VIDEOS)]
        dst = folder / f"{i:03d}_{src.name}"
        shutil.copy(src, dst)
        out.append(dst)
    return out


def _jsonl_matches(jsonl: Path, table) -> bool:  # type: ignore[no-untyped-def]
    """track's JSON Lines == the Parquet rows of the same input, within the JSON rounding (0.01 px)."""
    from handtrace.batch.parquet import hand_rows

    rows = hand_rows(table)
    k = 0
    for line in jsonl.read_text().splitlines():
        rec = json.loads(line)
        for h in rec["hands"]:
            if k >= len(rows["frame"]) or rows["frame"][k] != rec["frame"] or rows["id"][k] != h["id"]:
                return False
            if np.abs(rows["landmarks"][k] - np.asarray(h["landmarks"])).max() > 0.0051:
                return False
            k += 1
    return k == len(rows["frame"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=40, help="corpus size (copies of the shared videos)")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="batch workers (default: cores)")
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = ap.parse_args()
    from handtrace.batch.parquet import read_table

    with tempfile.TemporaryDirectory(prefix="handtrace-batch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "corpus").mkdir()
        corpus = make_corpus(tmp / "corpus", args.inputs)
        results: dict[str, tuple[float, int]] = {}
        tables: dict[str, dict[str, object]] = {}
        for mode in args.modes:
            out = tmp / mode
            out.mkdir()
            cluster = TwoNodeCluster(tmp) if mode == "cluster" else None
            start = time.perf_counter()
            if mode == "sequential":
                for p in corpus:
                    _handtrace("track", str(p), "-o", str(out / f"{p.stem}.jsonl"), "-q")
            else:
                extra = ["--engine", "ray"] if mode in ("ray", "cluster") else ["--engine", "local"]
                if cluster is not None:
                    extra += ["--address", cluster.address]
                else:
                    extra += ["-j", str(args.workers)]
                _handtrace("batch", str(tmp / "corpus"), "-o", str(out), "-q", "--segment-frames", "0",
                           *extra, env=cluster.env if cluster is not None else None)
            seconds = time.perf_counter() - start
            if cluster is not None:
                cluster.stop()
            if mode == "sequential":
                frames = sum(len(f.read_text().splitlines()) for f in out.glob("*.jsonl"))
            else:
                files = sorted((out / "hands").glob("*.parquet"))
                tables[mode] = {Path(t).name: read_table(t) for t in files}
                frames = sum(len(set(t["frame"].to_pylist())) for t in tables[mode].values())  # type: ignore
            results[mode] = (seconds, frames)
            print(f"{mode}: {frames} frames in {seconds:.1f} s", file=sys.stderr, flush=True)
        # Outputs agree across all modes.
        checks = []
        names = [m for m in tables]
        for m in names[1:]:
            same = tables[m].keys() == tables[names[0]].keys() and all(
                tables[m][k].equals(tables[names[0]][k]) for k in tables[m])  # type: ignore[attr-defined]
            checks.append(f"{m} rows == {names[0]} rows: {same}")
        if "sequential" in results and names:
            first = tables[names[0]]
            ok = all(_jsonl_matches(tmp / "sequential" / f"{p.stem}.jsonl",
                                    next(t for k, t in first.items() if k.startswith(p.stem + "-")))
                     for p in corpus)
            checks.append(f"{names[0]} rows == sequential track JSONL (0.01 px rounding): {ok}")
    base = results.get("sequential", next(iter(results.values())))
    print(f"\n{args.inputs} inputs, {args.workers} workers, {os.cpu_count()} cores\n")
    print("| mode | wall s | frames | frames/s | vs sequential |")
    print("|---|---:|---:|---:|---:|")
    for mode, (seconds, frames) in results.items():
        rate = frames / seconds
        print(f"| {mode} | {seconds:.1f} | {frames} | {rate:.1f} | {rate / (base[1] / base[0]):.2f}x |")
    print()
    for c in checks:
        print(c)


if __name__ == "__main__":
    main()
