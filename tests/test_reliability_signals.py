"""Termination (issue 13, item 3): SIGTERM and SIGHUP stop ``track`` and ``detect`` like Ctrl-C (status 130,
outputs closed and complete), and a SIGKILL still leaves an annotated video that plays."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import handtrace
from fault_helpers import decoded_frames

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")


def _clip(path: Path, n: int = 2000) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(n):
        w.write(np.full((120, 160, 3), (7 * i) % 256, np.uint8))
    w.release()
    return path


def _lines(path: Path) -> int:
    try:
        return len(path.read_bytes().splitlines())
    except FileNotFoundError:
        return 0


def _start_track(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    video = _clip(tmp_path / "in.avi")
    out, drawn = tmp_path / "out.jsonl", tmp_path / "out.mp4"
    env = {**os.environ, "PYTHONPATH": str(Path(handtrace.__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "handtrace.cli", "track", str(video), "-o", str(out), "--draw", str(drawn),
         "--model", "lite", "-q"],
        env=env, stderr=subprocess.PIPE, text=True)
    return proc, out, drawn


def _wait_for_lines(proc: subprocess.Popen[str], out: Path, n: int, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while _lines(out) < n:
        if proc.poll() is not None:
            pytest.fail(f"track ended early ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail("track wrote too slowly")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)])
def test_sigterm_and_sighup_close_the_outputs(tmp_path: Path, sig: int) -> None:
    proc, out, drawn = _start_track(tmp_path)
    _wait_for_lines(proc, out, 25)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert signal.Signals(sig).name in err and "outputs closed" in err
    lines = _lines(out)
    assert lines >= 25 and f"after {lines} frames" in err and f"wrote {out} ({lines} frames)" in err
    # Closed cleanly: every frame the video writer took is in the video (the signal may land between the
    # two outputs' writes of one frame, and the message says so).
    played = len(decoded_frames(drawn))
    assert played in (lines, lines - 1) and f"wrote {drawn} ({played} frames)" in err


@pytest.mark.skipif(importlib.util.find_spec("av") is None, reason="needs PyAV (the [video] extra)")
def test_sigkill_leaves_a_playable_video(tmp_path: Path) -> None:
    proc, out, drawn = _start_track(tmp_path)
    _wait_for_lines(proc, out, 60)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    played = len(decoded_frames(drawn))
    assert 10 <= played <= _lines(out)  # at least the first one-second fragment (10 frames at 10 fps)


def test_sigterm_stops_detect_on_a_folder_with_its_records_kept(tmp_path: Path) -> None:
    # detect reads and processes images ahead on worker threads: the signal still stops it at once, with
    # status 130 and every record written so far (and only those) in the output.
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(2000):
        cv2.imwrite(str(folder / f"{i:04d}.png"), np.full((48, 64, 3), i % 256, np.uint8))
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(handtrace.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "handtrace.cli", "detect", str(folder), "-o", str(out),
                             "--model", "lite", "-q"], env=env, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 120
    while _lines(out) < 20:
        assert proc.poll() is None, f"detect ended early: {proc.stderr.read() if proc.stderr else ''}"
        if time.monotonic() > end:
            proc.kill()
            pytest.fail("detect wrote too slowly")
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    lines = _lines(out)
    assert proc.returncode == 130, err
    assert f"stopped by SIGTERM after {lines} of 2000 images" in err and lines < 2000
    names = [json.loads(line)["image"] for line in out.read_text().splitlines()]
    assert [Path(n).name for n in names] == [f"{i:04d}.png" for i in range(lines)]


def test_interrupt_on_signals_raises_and_restores() -> None:
    from handtrace.io import Interrupted, interrupt_on_signals

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as info, interrupt_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert info.value.signal == signal.SIGTERM and isinstance(info.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.skipif(importlib.util.find_spec("av") is None, reason="needs PyAV (the [video] extra)")
def test_real_full_disk_on_a_small_tmpfs(tmp_path: Path) -> None:
    """``track --draw`` into a 1 MiB tmpfs: status 1, a message, and the video's frames so far play. Skips
    where mounting is not permitted (not root, no mount namespace)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if sys.platform != "linux" or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        video = tmp_path / "noise.avi"
        w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
        for i in range(200):  # noise: about 8 KB per H.264 frame, so 1 MiB fills up before the end
            w.write(np.random.default_rng(i).integers(0, 255, (120, 160, 3), np.uint8))
        w.release()
        out, drawn = tmp_path / "out.jsonl", disk / "out.mp4"
        env = {**os.environ, "PYTHONPATH": str(Path(handtrace.__file__).resolve().parents[1])}
        proc = subprocess.run(
            [sys.executable, "-m", "handtrace.cli", "track", str(video), "-o", str(out), "--draw", str(drawn),
             "--model", "lite", "-q"], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr
        assert "No space left" in proc.stderr and "Traceback" not in proc.stderr
        played = len(decoded_frames(drawn))
        assert 10 <= played < 200 and played <= _lines(out)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
