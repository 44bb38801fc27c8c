"""Side-by-side speed benchmark: handtrace against MediaPipe 0.10.21 (legacy ``solutions.hands`` and Tasks).

::

    python benchmarks/speed.py [--quick] [--models full,lite] [--impls handtrace,mediapipe,mediapipe_tasks]
                               [--out results.json] [--markdown table.md]

What it does (see ``docs/benchmarks.md`` for what each row means):

1. creates ``.venv-mediapipe/`` with ``benchmarks/setup_mediapipe_env.sh`` when it is missing (MediaPipe
   needs numpy < 2, so it runs in its own environment);
2. decodes the benchmark frames once (OpenCV, BGR -> RGB) into ``.npy`` files in a temporary folder, so that
   every implementation processes identical pixels;
3. starts one long-lived worker per implementation (``benchmarks/_worker.py``: handtrace with this Python;
   MediaPipe's legacy ``Hands`` and its Tasks ``HandLandmarker`` with the venv's, the latter on a
   ``hand_landmarker.task`` assembled from the original ``.tflite`` files), speaking JSON lines, and runs
   every timed scenario in rounds, rotating which implementation goes first (:func:`impl_order`) so that
   slow drifts in machine load hit all alike; still images, short requests, rotate three times per round;
   each request starts 50 ms after the previous answer;
4. measures start-up (process start -> first result) and offline throughput of a whole video file (decode +
   track + write JSONL) in fresh subprocesses, rotating likewise; their peak RSS is the memory figure;
5. prints a markdown table of medians and handtrace / MediaPipe ratios (against each MediaPipe API) and
   writes the raw numbers as JSON.

The machine is shared: the CPU time other processes used during the run is measured from ``/proc/stat`` and
reported with the table. Per-frame pipeline overhead of handtrace (wall time of ``process`` minus the time
inside onnxruntime ``session.run``) comes from the same video runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HANDTRACE_DATA", REPO.parent / "shared" / "data"))
WORKER = Path(__file__).with_name("_worker.py")
MP_REFERENCE = Path(__file__).with_name("mediapipe_reference.py")
SETUP = Path(__file__).with_name("setup_mediapipe_env.sh")
MP_PYTHON = REPO / ".venv-mediapipe" / "bin" / "python"
IMPLS = ("handtrace", "mediapipe", "mediapipe_tasks")
#: Column names; "mediapipe" is the legacy solution, the one the issues' targets are set against.
LABELS = {"handtrace": "handtrace", "mediapipe": "MediaPipe legacy", "mediapipe_tasks": "MediaPipe Tasks"}
SHORT = {"handtrace": "handtrace", "mediapipe": "legacy", "mediapipe_tasks": "Tasks"}
MODELS = {"full": 1, "lite": 0}
WARMUP_FRAMES = 5  # keep in step with _worker.WARMUP_FRAMES

STILLS = {
    "still_one": "mediapipe-rs/thumbs_up.jpg",  # 420x420, one hand
    "still_two": "tfjs-models/hands.jpg",  # 720x382, two hands
    "still_none": "mediapipe-rs/banana.jpg",  # 640x427, no hand
}
VIDEO_ONE = "tfjs-models/asl_hand.25fps.mp4"  # 620x1080, 325 frames, one hand in every frame
#: No shared video shows two hands, so this one is made: handlandmarker_test_video (640x360) on the left and
#: asl_hand scaled to 360 px high (207x360, INTER_AREA) on the right, frame by frame: 847x360, 202 frames.
VIDEO_TWO = ("mediapipe-samples/handlandmarker_test_video.mp4", "tfjs-models/asl_hand.25fps.mp4")
TWO_HAND_HEIGHT = 360


#: Pause before each served request: a library's process may still be busy for a moment after it answers
#: (threads winding down, garbage collection), which would land on the other library's first timings.
SETTLE_S = 0.05


@dataclass
class Settings:
    """Sizes of the run (``--quick`` shrinks them)."""

    # Served scenarios: rounds. A multiple of 6 lets each of three implementations go first, and follow
    # each other one, equally often (impl_order); a multiple of 3 balances who goes first.
    rounds: int = 6
    still_reps: int = 10  # timed calls per still-image request
    still_exchanges: int = 3  # request sets per still-image scenario and round (finer alternation)
    video_frames: int | None = None  # frames per video request (None: whole clip)
    fresh_rounds: int = 3  # start-up and offline: fresh processes per library and model
    quick: bool = False

    @classmethod
    def make(cls, quick: bool) -> Settings:
        if quick:
            return cls(rounds=3, still_reps=5, still_exchanges=1, video_frames=100, fresh_rounds=1,
                       quick=True)
        return cls()


@dataclass
class Scenario:
    """One timed scenario, run by every worker (or only by those in ``impls``)."""

    key: str
    label: str
    op: str  # "still" or "video"
    frames: str
    complexity: int
    max_num_hands: int = 2
    impls: tuple[str, ...] = IMPLS
    options: dict[str, Any] = field(default_factory=dict)  # extra HandTracker arguments
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {i: [] for i in IMPLS})


# -- order -----------------------------------------------------------------------------------------
def impl_order(impls: tuple[str, ...], step: int) -> tuple[str, ...]:
    """The order in which ``impls`` run at ``step`` (round + scenario + exchange index).

    ``impls[step % n]`` goes first, so any n consecutive steps let each go first once; the rest follow
    in cyclic order, forwards in even blocks of n steps and backwards in odd ones, so that over 2n steps
    each runs right after each other one equally often (what one library leaves behind, such as busy
    threads or evicted caches, then lands on each other alike). With two: A B, B A, A B, ...
    """
    n = len(impls)
    first = step % n
    direction = 1 if (step // n) % 2 == 0 else -1
    return tuple(impls[(first + direction * i) % n] for i in range(n))


# -- machine and load ------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat (0, 0 elsewhere)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = sum(fields[:8])
    idle = fields[3] + fields[4]
    return (total - idle) / tick, total / tick


def own_cpu_seconds() -> float:
    """CPU seconds used by this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# -- frames ----------------------------------------------------------------------------------------
def read_video(path: Path, limit: int | None = None) -> list[np.ndarray]:
    """BGR frames of a video (at most ``limit``)."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    cap.release()
    if not frames:
        raise OSError(f"cannot decode {path}")
    return frames


def to_rgb(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames])


def two_hand_video(limit: int | None) -> np.ndarray:
    """The side-by-side two-hand clip (see ``VIDEO_TWO``), RGB (N, 360, 847, 3)."""
    left, right = (read_video(DATA / p, limit) for p in VIDEO_TWO)
    out = []
    for a, b in zip(left, right, strict=False):
        parts = [
            cv2.resize(
                f,
                (round(f.shape[1] * TWO_HAND_HEIGHT / f.shape[0]), TWO_HAND_HEIGHT),
                interpolation=cv2.INTER_AREA,
            )
            for f in (a, b)
        ]
        out.append(np.hstack(parts))
    return to_rgb(out)


def prepare_frames(folder: Path, settings: Settings) -> dict[str, str]:
    """Decode every benchmark input once and save it as ``.npy``; returns name -> path."""
    arrays: dict[str, np.ndarray] = {}
    for name, rel in STILLS.items():
        bgr = cv2.imread(str(DATA / rel), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"cannot read {DATA / rel}")
        arrays[name] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    arrays["video_one"] = to_rgb(read_video(DATA / VIDEO_ONE, settings.video_frames))
    arrays["video_two"] = two_hand_video(settings.video_frames)
    paths = {}
    for name, arr in arrays.items():
        path = folder / f"{name}.npy"
        np.save(path, arr)
        paths[name] = str(path)
    return paths


# -- workers ---------------------------------------------------------------------------------------
def python_for(impl: str) -> str:
    return sys.executable if impl == "handtrace" else str(MP_PYTHON)


def worker_env(impl: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GLOG_minloglevel", "2")  # MediaPipe's glog chatter
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if impl == "handtrace":
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    else:
        env.pop("PYTHONPATH", None)  # keep the project's numpy 2 packages out of the venv
    return env


def worker_command(impl: str, folder: Path, args: list[str]) -> list[str]:
    """``_worker.py`` for ``impl``; the Tasks worker finds its assembled bundles in ``folder``."""
    extra = ["--task-dir", str(folder)] if impl == "mediapipe_tasks" else []
    return [python_for(impl), str(WORKER), "--impl", impl, *extra, *args]


def build_bundles(folder: Path, models: list[str]) -> None:
    """Assemble ``hand_landmarker_{model}.task`` in ``folder`` once, in the MediaPipe venv, before any timing
    (the workers would otherwise build one inside a fresh process's start-up time)."""
    for model in models:
        subprocess.run(
            [str(MP_PYTHON), str(MP_REFERENCE), "bundle", str(folder / f"hand_landmarker_{model}.task"),
             "--model-complexity", str(MODELS[model])],
            check=True, env=worker_env("mediapipe_tasks"), cwd=REPO, stdout=subprocess.DEVNULL,
        )


class Worker:
    """A long-lived ``_worker.py serve`` process."""

    def __init__(self, impl: str, log: IO[str], folder: Path) -> None:
        self.impl = impl
        self.proc = subprocess.Popen(
            worker_command(impl, folder, ["serve"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=worker_env(impl),
            cwd=REPO,
        )
        self.read()  # {"ready": ...}

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.impl} worker exited (code {self.proc.poll()}); see its log")
            if line.startswith("{"):
                return json.loads(line)

    def ask(self, **req: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        reply = self.read()
        if "error" in reply:
            raise RuntimeError(f"{self.impl} worker: {reply['error']}")
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def run_fresh(
    impl: str, args: list[str], log: IO[str], folder: Path
) -> tuple[list[dict[str, Any]], list[float]]:
    """Run ``_worker.py --impl IMPL ARGS`` in a fresh process: its JSON lines, and when each arrived (s)."""
    env = worker_env(impl)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        worker_command(impl, folder, args),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None
    lines, stamps = [], []
    for line in proc.stdout:
        if line.startswith("{"):
            stamps.append(time.perf_counter() - t0)
            lines.append(json.loads(line))
    if proc.wait() != 0:
        raise RuntimeError(f"{impl} {args[0]} failed (code {proc.returncode}); see its log")
    return lines, stamps


# -- statistics ------------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def latency_percentiles(times: list[float]) -> dict[str, float | None]:
    """p50 / p95 / p99 per-frame latency (ms) of pooled frame times: spikes that a median hides."""
    if not times:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    p50, p95, p99 = np.percentile(np.asarray(times), [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


def run_spread(run_medians: list[float]) -> float | None:
    """Slowest over fastest pass, by each pass's median: how much a user's second run may differ."""
    return max(run_medians) / min(run_medians) if len(run_medians) > 1 and min(run_medians) > 0 else None


def video_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled per-frame statistics over runs, leaving out each run's first ``WARMUP_FRAMES`` frames."""
    times = [t for r in runs for t in r["times_ms"][WARMUP_FRAMES:]]
    run_medians = [median(r["times_ms"][WARMUP_FRAMES:]) for r in runs]
    out: dict[str, Any] = {
        "median_ms": median(times),
        "mean_ms": statistics.fmean(times) if times else None,
        **latency_percentiles(times),
        "run_median_ms": run_medians,
        "run_spread": run_spread(run_medians),
        "run_mean_ms": [statistics.fmean(r["times_ms"][WARMUP_FRAMES:]) for r in runs],
        "frames": len(runs[0]["times_ms"]) if runs else 0,
        "hands_mean": statistics.fmean(h for r in runs for h in r["hands"]) if runs else None,
    }
    if runs and "model_ms" in runs[0]:
        over = [
            t - m
            for r in runs
            for t, m in zip(r["times_ms"][WARMUP_FRAMES:], r["model_ms"][WARMUP_FRAMES:], strict=True)
        ]
        frames = sum(len(r["times_ms"]) for r in runs)
        out["overhead_median_ms"] = median(over)
        out["overhead_mean_ms"] = statistics.fmean(over)
        out["palm_calls_per_100"] = 100 * sum(sum(r["palm_calls"]) for r in runs) / frames
        stats = [r["stats"] for r in runs if r.get("stats")]
        if stats:
            out["detector_runs_per_100"] = (
                100 * sum(s["detector_runs"] for s in stats) / sum(s["frames"] for s in stats)
            )
    return out


# -- the run ---------------------------------------------------------------------------------------
def scenarios_for(models: list[str]) -> list[Scenario]:
    out = []
    for model in models:
        c = MODELS[model]
        out += [
            Scenario(f"still_one_{model}", "still image, one hand", "still", "still_one", c),
            Scenario(f"still_two_{model}", "still image, two hands", "still", "still_two", c),
            Scenario(f"still_none_{model}", "still image, no hand", "still", "still_none", c),
            Scenario(f"video1_one_{model}", "video, max_num_hands=1, one hand", "video", "video_one", c, 1),
            Scenario(f"video2_one_{model}", "video, max_num_hands=2, one hand", "video", "video_one", c, 2),
            Scenario(f"video2_two_{model}", "video, max_num_hands=2, two hands", "video", "video_two", c, 2),
            Scenario(
                f"video1_gestures_{model}",
                "handtrace defaults (gestures on), video, max_num_hands=1, one hand",
                "video",
                "video_one",
                c,
                1,
                ("handtrace",),
                {"gestures": True},
            ),
        ]
    return out


def log_line(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_served(
    scenarios: list[Scenario],
    frames: dict[str, str],
    settings: Settings,
    folder: Path,
    loads: list[float],
    impls: tuple[str, ...] = IMPLS,
) -> dict[str, dict[str, str]]:
    """Timed scenarios in one long-lived worker per implementation, rotating the order; returns each
    worker's versions."""
    versions = {}
    with open(folder / "workers.log", "w") as log:
        workers: dict[str, Worker] = {}
        try:
            for impl in impls:
                workers[impl] = Worker(impl, log, folder)
                versions[impl] = workers[impl].ask(op="load", frames=frames)["versions"]
            for r in range(settings.rounds):
                t_round = time.perf_counter()
                for k, sc in enumerate(scenarios):
                    # Still images are short requests: several request sets per round keep the libraries'
                    # samples close in time (this VM's speed drifts by 10% within seconds).
                    exchanges = settings.still_exchanges if sc.op == "still" else 1
                    for j in range(exchanges):
                        for impl in (i for i in impl_order(impls, r + k + j) if i in sc.impls):
                            req: dict[str, Any] = {
                                "op": sc.op,
                                "frames": sc.frames,
                                "complexity": sc.complexity,
                                "max_num_hands": sc.max_num_hands,
                                "options": sc.options,
                            }
                            if sc.op == "still":
                                req["reps"] = settings.still_reps
                            else:
                                req["max_frames"] = settings.video_frames
                            time.sleep(SETTLE_S)  # let the other library's process go quiet first
                            sc.runs[impl].append(workers[impl].ask(**req))
                loads.append(os.getloadavg()[0])
                log_line(
                    f"round {r + 1}/{settings.rounds} done in {time.perf_counter() - t_round:.0f} s "
                    f"(load average {loads[-1]:.2f})"
                )
        finally:
            for w in workers.values():
                w.close()
    return versions


def run_fresh_rounds(
    models: list[str], settings: Settings, folder: Path, impls: tuple[str, ...] = IMPLS
) -> dict[str, Any]:
    """Start-up and offline-throughput runs, each in fresh processes, rotating the implementations."""
    image = DATA / STILLS["still_one"]
    video = DATA / VIDEO_ONE
    out: dict[str, Any] = {m: {i: {"first": [], "offline": []} for i in impls} for m in models}
    with open(folder / "fresh.log", "w") as log:
        for impl in impls:  # warm the file cache (libraries, models) once, untimed
            for model in models:
                run_fresh(impl, ["first", str(image), "-c", str(MODELS[model])], log, folder)
        for r in range(settings.fresh_rounds):
            for k, model in enumerate(models):
                c = str(MODELS[model])
                order = impl_order(impls, r + k)
                for impl in order:
                    lines, stamps = run_fresh(impl, ["first", str(image), "-c", c], log, folder)
                    first = next(i for i, d in enumerate(lines) if "first" in d)
                    out[model][impl]["first"].append(
                        {
                            "seconds": stamps[first],
                            "hands": lines[first]["first"],
                            "peak_rss_mb": lines[-1]["peak_rss_mb"],
                        }
                    )
                for impl in order[::-1]:
                    lines, _ = run_fresh(
                        impl, ["offline", str(video), str(folder / f"{impl}.jsonl"), "-c", c], log, folder
                    )
                    out[model][impl]["offline"].append(lines[-1])
            log_line(
                f"fresh-process round {r + 1}/{settings.fresh_rounds} done (load average "
                f"{os.getloadavg()[0]:.2f})"
            )
    return out


#: The figures compared as handtrace / other implementation, by kind of summary.
RATIO_METRICS = {
    "still": ("median_ms",),
    "video": ("median_ms", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "run_spread"),
    "fresh": ("first_result_s", "first_peak_rss_mb", "offline_fps", "offline_peak_rss_mb"),
}


def ratio_value(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing, zero or NaN."""
    return None if not a or not b or a != a or b != b else a / b


def handtrace_ratios(by_impl: dict[str, Any], metrics: tuple[str, ...]) -> dict[str, dict[str, float | None]]:
    """handtrace / each other implementation in ``by_impl``, per metric: ``{impl: {metric: ratio}}``."""
    h = by_impl.get("handtrace")
    if not isinstance(h, dict):
        return {}
    return {
        impl: {m: ratio_value(h.get(m), other.get(m)) for m in metrics}
        for impl, other in by_impl.items()
        if impl in IMPLS and impl != "handtrace" and isinstance(other, dict)
    }


def summarise(
    scenarios: list[Scenario], fresh: dict[str, Any], impls: tuple[str, ...] = IMPLS
) -> dict[str, Any]:
    """Per scenario and implementation: medians, percentiles, spread; ``ratios``: handtrace / each other."""
    summary: dict[str, Any] = {}
    for sc in scenarios:
        s: dict[str, Any] = {"label": sc.label, "complexity": sc.complexity}
        for impl in (i for i in sc.impls if i in impls):
            runs = sc.runs[impl]
            if sc.op == "still":
                times = [t for r in runs for t in r["times_ms"]]
                s[impl] = {"median_ms": median(times), "hands": runs[0]["hands"] if runs else None}
                per_image = [r["detector_runs_per_image"] for r in runs if "detector_runs_per_image" in r]
                if per_image:
                    s[impl]["detector_runs_per_100"] = 100 * statistics.fmean(per_image)
            else:
                s[impl] = video_summary(runs)
        s["ratios"] = handtrace_ratios(s, RATIO_METRICS[sc.op])
        summary[sc.key] = s
    for model, by_impl in fresh.items():
        f: dict[str, Any] = {
            impl: {
                "first_result_s": median([d["seconds"] for d in v["first"]]),
                "first_peak_rss_mb": median([d["peak_rss_mb"] for d in v["first"]]),
                "offline_fps": median([d["fps"] for d in v["offline"]]),
                "offline_peak_rss_mb": median([d["peak_rss_mb"] for d in v["offline"]]),
                "offline_frames": v["offline"][0]["frames"] if v["offline"] else 0,
            }
            for impl, v in by_impl.items()
        }
        f["ratios"] = handtrace_ratios(f, RATIO_METRICS["fresh"])
        summary[f"fresh_{model}"] = f
    return summary


def fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    r = ratio_value(a, b)
    return "n/a" if r is None else f"{r:.2f}"


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def table_header(impls: tuple[str, ...]) -> list[str]:
    """The table's two header lines: a value column per implementation, then handtrace / each other one."""
    cols = [
        "scenario",
        "model",
        "metric",
        *(LABELS[i] for i in impls),
        *(f"handtrace / {SHORT[i]}" for i in impls if i != "handtrace"),
        "handtrace palm detector runs / 100 frames",
    ]
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]


def table_row(
    label: str,
    model: str,
    metric: str,
    values: dict[str, float | None],
    impls: tuple[str, ...],
    det: str = "",
    digits: int = 2,
) -> str:
    """One markdown row: ``values`` by implementation (missing ones: n/a), ratios to handtrace's value."""
    h = values.get("handtrace")
    cells = [
        label,
        model,
        metric,
        *(fmt(values.get(i), digits) for i in impls),
        *(ratio(h, values.get(i)) for i in impls if i != "handtrace"),
        det,
    ]
    return "| " + " | ".join(cells) + " |"


def markdown(
    summary: dict[str, Any], models: list[str], meta: dict[str, Any], impls: tuple[str, ...] = IMPLS
) -> str:
    """The results table (plus machine and load) as markdown."""
    rows = table_header(impls)
    others = [i for i in impls if i != "handtrace"]

    def row(label: str, metric: str, values: dict[str, float | None], det: str = "", digits: int = 2) -> None:
        rows.append(table_row(label, model, metric, values, impls, det, digits))

    def pick(s: dict[str, Any], key: str) -> dict[str, float | None]:
        return {i: s[i].get(key) for i in impls if i in s}

    for model in models:
        for kind in ("still_one", "still_two", "still_none"):
            s = summary[f"{kind}_{model}"]
            det = s["handtrace"].get("detector_runs_per_100")
            det_s = f"{det:.0f} per 100 images" if det is not None else ""
            row(s["label"], "ms/image, median", pick(s, "median_ms"), det_s)
        for kind in ("video1_one", "video2_one", "video2_two"):
            s = summary[f"{kind}_{model}"]
            h = s["handtrace"]
            det = h.get("detector_runs_per_100", h.get("palm_calls_per_100"))
            det_s = fmt(det, 1) if det is not None else ""
            row(s["label"], "ms/frame, median", pick(s, "median_ms"), det_s)
            row(s["label"], "ms/frame, mean", pick(s, "mean_ms"), det_s)
            for p in ("p95", "p99"):
                row(s["label"], f"ms/frame, {p}", pick(s, f"{p}_ms"), det_s)
            row(s["label"], "slowest / fastest pass", pick(s, "run_spread"))
        s = summary[f"video1_one_{model}"]["handtrace"]
        row(
            "pipeline overhead (all but session.run), video, max_num_hands=1, one hand",
            "ms/frame, median",
            {"handtrace": s.get("overhead_median_ms")},
            digits=3,
        )
        g = summary.get(f"video1_gestures_{model}", {}).get("handtrace")
        if g:
            label = summary[f"video1_gestures_{model}"]["label"]
            # Against MediaPipe in the same scenario without gestures (it has none of its own).
            plain = summary[f"video1_one_{model}"]
            row(label, "ms/frame, median", {**pick(plain, "median_ms"), "handtrace": g["median_ms"]})
            row(label, "overhead ms/frame, median", {"handtrace": g.get("overhead_median_ms")}, digits=3)
        f = summary.get(f"fresh_{model}")
        if f:
            frames = f["handtrace"]["offline_frames"]
            for label, metric, key, digits in (
                (f"offline video file, decode + track + write JSONL ({frames} frames)", "frames/s",
                 "offline_fps", 1),
                ("time to first result (fresh process, one still image)", "s", "first_result_s", 2),
                ("peak memory, offline video run (fresh process)", "MiB RSS", "offline_peak_rss_mb", 0),
                ("peak memory, first result (fresh process)", "MiB RSS", "first_peak_rss_mb", 0),
            ):
                row(label, metric, pick(f, key), digits=digits)
    v, load, settings = meta["versions"], meta["load"], meta["settings"]
    mediapipe = ""
    if others:
        version = next((v[i].get("mediapipe") for i in others if i in v), None)
        api = {"mediapipe": "legacy solutions.hands", "mediapipe_tasks": "Tasks HandLandmarker"}
        apis = " and ".join(api[i] for i in others)
        mediapipe = f"; MediaPipe {version} ({apis}; Python {meta['python_mediapipe']})"
    head = [
        f"Machine: {meta['cpu']}, {meta['cores']} cores; Python {meta['python']}; handtrace "
        f"{v['handtrace'].get('handtrace')} with onnxruntime {v['handtrace'].get('onnxruntime')}{mediapipe}. "
        "Mode: "
        f"{'quick' if settings['quick'] else 'full'}, {plural(settings['rounds'], 'round')} "
        f"({plural(settings.get('still_exchanges', 1), 'request set')} per still-image scenario and "
        f"round), {plural(settings['fresh_rounds'], 'fresh-process round')}; {meta['seconds']:.0f} s.",
        "",
        f"Load: other processes used {load['others_cores']:.2f} of {meta['cores']} cores on average "
        "during the run "
        f"(1-min load average {load['min']:.2f}-{load['max']:.2f}, this benchmark included).",
        "",
        ("Ratio columns: " + " and ".join(f"handtrace / {LABELS[i]}" for i in others)
         + " (below 1 is faster for times; above 1 is faster for frames/s). " if others else "")
        + f"Video per-frame figures leave out the first {WARMUP_FRAMES} frames of each run; "
        '"mean" includes the frames where the palm detector runs.',
        "",
    ]
    return "\n".join(head + rows) + "\n"


def ensure_mediapipe_env() -> None:
    """Run the (idempotent) set-up script when the MediaPipe venv is missing or broken."""
    ok = (
        MP_PYTHON.exists()
        and subprocess.run(
            [str(MP_PYTHON), "-c", "import mediapipe, cv2, numpy"], capture_output=True
        ).returncode
        == 0
    )
    if not ok:
        log_line(f"creating {MP_PYTHON.parents[1]} with {SETUP.name} ...")
        subprocess.run(["bash", str(SETUP)], check=True)


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds and 100-frame clips"
    )
    parser.add_argument(
        "--models", default="full,lite", help="comma-separated: full, lite (default: %(default)s)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write all numbers as JSON here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here")
    parser.add_argument(
        "--rounds", type=int, default=None, help="override the number of rounds (a multiple of 6 balances)"
    )
    parser.add_argument("--no-fresh", action="store_true", help="skip start-up / offline / memory runs")
    parser.add_argument(
        "--impls",
        default=",".join(IMPLS),
        help="comma-separated implementations to run, handtrace among them (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if bad := [m for m in models if m not in MODELS]:
        parser.error(f"unknown model(s) {bad}; choose from {list(MODELS)}")
    chosen = {i.strip() for i in args.impls.split(",") if i.strip()}
    if bad := sorted(chosen - set(IMPLS)):
        parser.error(f"unknown implementation(s) {bad}; choose from {list(IMPLS)}")
    if "handtrace" not in chosen:
        parser.error("--impls must include handtrace (every ratio is handtrace / another)")
    impls = tuple(i for i in IMPLS if i in chosen)  # fixed order: table columns and rotation
    if not DATA.is_dir():
        parser.error(f"shared data not found at {DATA} (set HANDTRACE_DATA)")
    settings = Settings.make(args.quick)
    if args.rounds:
        settings.rounds = args.rounds
    uses_mediapipe = len(impls) > 1
    if uses_mediapipe:
        ensure_mediapipe_env()

    t_start = time.perf_counter()
    busy0, total0 = cpu_busy_seconds()
    own0 = own_cpu_seconds()
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="handtrace-bench-") as tmp:
        folder = Path(tmp)
        log_line("decoding frames ...")
        frames = prepare_frames(folder, settings)
        if "mediapipe_tasks" in impls:
            log_line("assembling hand_landmarker.task bundles ...")
            build_bundles(folder, models)
        scenarios = scenarios_for(models)
        try:
            versions = run_served(scenarios, frames, settings, folder, loads, impls)
            fresh = {} if args.no_fresh else run_fresh_rounds(models, settings, folder, impls)
        except Exception:
            for name in ("workers.log", "fresh.log"):
                if (folder / name).exists():
                    log_line(f"--- {name} (tail) ---\n" + (folder / name).read_text()[-3000:])
            raise
    loads.append(os.getloadavg()[0])
    busy1, total1 = cpu_busy_seconds()
    wall = time.perf_counter() - t_start
    cores = os.cpu_count() or 1
    others = (
        max(0.0, (busy1 - busy0) - (own_cpu_seconds() - own0)) / wall if total1 > total0 else float("nan")
    )
    meta = {
        "cpu": cpu_model(),
        "cores": cores,
        "python": platform.python_version(),
        "python_mediapipe": python_version(str(MP_PYTHON)) if uses_mediapipe else None,
        "impls": list(impls),
        "platform": platform.platform(),
        "versions": versions,
        "settings": vars(settings),
        "seconds": wall,
        "load": {"others_cores": others, "min": min(loads), "max": max(loads), "samples": loads},
    }
    summary = summarise(scenarios, fresh, impls)
    table = markdown(summary, models, meta, impls)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.out:
        raw = {sc.key: {i: r for i, r in sc.runs.items() if i in impls} for sc in scenarios}
        args.out.write_text(
            json.dumps({"meta": meta, "summary": summary, "raw": raw, "fresh": fresh}, indent=1)
        )


if __name__ == "__main__":
    main()
