"""Soak test: track a looped clip in video mode for many frames, writing JSON Lines and an annotated video,
and sample the process's resident memory (RSS) as it goes. A leak shows as RSS growing with frames.

    python benchmarks/soak.py                        # 100,000 frames of the shared clip at 320x180
    python benchmarks/soak.py --frames 5000 --model full --json soak.json

The clip (``mediapipe-samples/handlandmarker_test_video.mp4``, 202 frames, one hand) is decoded once,
resized to ``--width`` and looped; timestamps keep increasing across loops (the jump back to frame 0 makes
the tracker lose and find the hand again every loop). Outputs go to a temporary folder, deleted at the end
unless ``--keep``. RSS comes from psutil when installed, else /proc/self/statm. Ctrl-C or SIGTERM stop the
run early and still print (and write) the summary of the frames done; ``--json`` is rewritten at every
sample, so a killed run leaves its samples too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from handtrace.datasets import data_root
from handtrace.io import interrupt_on_signals
from handtrace.tracker import HandTracker
from handtrace.video import Frame
from handtrace.writers import open_writer

CLIP = "mediapipe-samples/handlandmarker_test_video.mp4"


def rss_mib() -> float:
    """Resident memory of this process, MiB."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_clip(path: Path, width: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        h = round(bgr.shape[0] * width / bgr.shape[1])
        small = cv2.resize(bgr, (width, h), interpolation=cv2.INTER_AREA)
        frames.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    cap.release()
    if not frames:
        raise SystemExit(f"soak: cannot read {path}")
    return frames


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--width", type=int, default=320, help="frame width (the clip is resized; default 320)")
    ap.add_argument("--every", type=int, default=1000, help="sample RSS every N frames (default 1000)")
    ap.add_argument("--no-draw", action="store_true", help="no annotated video")
    ap.add_argument("--model", choices=("lite", "full"), default="lite",
                    help="landmark model (default lite: memory behaves alike, and the run is shorter)")
    ap.add_argument("--json", metavar="FILE", help="write the samples and summary here")
    ap.add_argument("--keep", metavar="DIR", help="write the outputs here and keep them")
    args = ap.parse_args(argv)

    clip = load_clip(data_root() / CLIP, args.width)
    out_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="handtrace-soak-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    fps = 30.0
    writers = [open_writer(out_dir / "soak.jsonl")]
    if not args.no_draw:
        writers.append(open_writer(out_dir / "soak.mp4", fps=fps))
    samples: list[dict[str, float]] = []
    hands_total = done = 0
    start = time.perf_counter()
    tracker = HandTracker(static_image_mode=False, max_num_hands=2,
                          model_complexity=0 if args.model == "lite" else 1)
    try:
        with interrupt_on_signals(), tracker:
            for i in range(args.frames):
                frame = Frame(i, i * 1000.0 / fps, clip[i % len(clip)])
                hands = tracker.process(frame.image_rgb, frame.timestamp_ms)
                hands_total += len(hands)
                for w in writers:
                    w.write(frame, hands)
                done = i + 1
                if done % args.every == 0 or i == 0:
                    samples.append({"frame": done, "rss_mib": round(rss_mib(), 2),
                                    "seconds": round(time.perf_counter() - start, 1)})
                    print(f"frame {done}: RSS {samples[-1]['rss_mib']:.1f} MiB, "
                          f"{samples[-1]['seconds']:.0f} s", file=sys.stderr, flush=True)
                    if args.json:
                        Path(args.json).write_text(json.dumps({"samples": samples}, indent=1) + "\n")
    except KeyboardInterrupt:
        print(f"soak: stopped after {done} frames", file=sys.stderr)
    stats = str(tracker.stats)
    for w in writers:
        w.close()
    elapsed = time.perf_counter() - start
    sizes = {w.path.name: w.path.stat().st_size for w in writers}
    if not args.keep:
        for w in writers:
            w.path.unlink()
        out_dir.rmdir()
    after_warmup = [s for s in samples if s["frame"] >= min(10 * args.every, done)]
    rss = [s["rss_mib"] for s in after_warmup] or [samples[-1]["rss_mib"]]
    half = len(rss) // 2
    summary = {
        "frames": done, "width": args.width, "model": args.model, "draw": not args.no_draw,
        "seconds": round(elapsed, 1), "frames_per_s": round(done / elapsed, 1),
        "hands_per_frame": round(hands_total / max(done, 1), 3),
        "rss_first_mib": samples[0]["rss_mib"], "rss_after_warmup_mib": rss[0], "rss_end_mib": rss[-1],
        "rss_max_mib": max(s["rss_mib"] for s in samples),
        "rss_second_half_minus_first_half_mib": round(float(np.mean(rss[half:]) - np.mean(rss[:half])), 2)
        if half else 0.0,
        "output_bytes": sizes, "tracker": stats,
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "samples": samples}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
