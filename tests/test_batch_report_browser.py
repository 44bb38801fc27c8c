"""The batch report in headless Chromium (Debian's ``chromium`` package): it loads with no console messages.
Skips when chromium is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

from handtrace.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")


def _open(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM Chromium built from ``page``, and its console lines (Chromium logs them as CONSOLE)."""
    proc = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom",
         page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def test_console_check_catches_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
                   '<script>console.error("broken page")</script></body></html>')
    _, console = _open(bad, tmp_path)
    assert any("broken page" in line for line in console)


def test_report_opens_without_console_errors(data_dir: Path, tmp_path: Path) -> None:
    import cv2

    cap = cv2.VideoCapture(str(data_dir / "tfjs-models" / "asl_hand.25fps.mp4"))
    frames = [cv2.resize(cap.read()[1], None, fx=0.5, fy=0.5) for _ in range(12)]
    cap.release()
    clip = tmp_path / "in" / "asl.mp4"
    clip.parent.mkdir()
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, frames[0].shape[1::-1])
    for f in frames:
        writer.write(f)
    writer.release()
    out = tmp_path / "out"
    assert main(["batch", "-q", "-j", "1", str(clip), "-o", str(out)]) == 0
    report = tmp_path / "report.html"
    assert main(["report", str(out), "-o", str(report)]) == 0
    dom, console = _open(report, tmp_path)
    assert "handtrace report" in dom and "asl-" in dom and "<img" in dom
    assert console == []
