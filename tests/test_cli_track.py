"""``handtrace track`` end to end: outputs for a real video, a truncated video, and the failure messages."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from fault_helpers import decoded_frames
from handtrace.cli import main
from handtrace.writers import CSV_COLUMNS

VIDEO = "mediapipe-samples/handlandmarker_test_video.mp4"


def _frame_count(path: Path) -> int:
    return len(decoded_frames(path))


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("track")
    video = data_dir / VIDEO
    code = main(["track", str(video), "-o", str(out / "t.jsonl"), "-o", str(out / "t.csv"),
                 "--draw", str(out / "t.mp4"), "-q"])
    return code, video, out


def test_track_writes_every_output(tracked):
    code, video, out = tracked
    assert code == 0
    n = _frame_count(video)
    lines = [json.loads(line) for line in (out / "t.jsonl").read_text().splitlines()]
    assert [rec["frame"] for rec in lines] == list(range(n))
    assert all(rec["timestamp_ms"] >= 0 for rec in lines)
    hands = [h for rec in lines for h in rec["hands"]]
    assert sum(bool(rec["hands"]) for rec in lines) > 0.9 * n
    assert {h["id"] for h in hands} == {0}  # one hand, one id
    assert len({h["handedness"] for h in hands}) == 1  # no flips within the track
    assert np.asarray(hands[0]["landmarks"]).shape == (21, 3)
    rows = (out / "t.csv").read_text().splitlines()
    assert rows[0].split(",") == list(CSV_COLUMNS)
    assert len(rows) - 1 == len(hands)
    cap = cv2.VideoCapture(str(video))
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = cap.get(cv2.CAP_PROP_FPS)
    drawn = cv2.VideoCapture(str(out / "t.mp4"))
    assert (int(drawn.get(cv2.CAP_PROP_FRAME_WIDTH)), int(drawn.get(cv2.CAP_PROP_FRAME_HEIGHT))) == size
    assert drawn.get(cv2.CAP_PROP_FPS) == pytest.approx(fps, rel=1e-3)
    assert _frame_count(out / "t.mp4") == n


def test_truncated_video_keeps_frames_and_fails(tmp_path, data_dir, capsys):
    data = (data_dir / VIDEO).read_bytes()
    cut = tmp_path / "half.mp4"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "cut.jsonl"
    code = main(["track", str(cut), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    lines = out.read_text().splitlines()
    assert 10 < len(lines) < _frame_count(data_dir / VIDEO)
    assert f"stopped at frame {len(lines)}" in err
    assert str(cut) in err
    assert [json.loads(line)["frame"] for line in lines] == list(range(len(lines)))


def test_missing_input_and_bad_output(tmp_path, capsys):
    # Both are bad input given (README's exit-code table): status 2, as for detect.
    assert main(["track", str(tmp_path / "nope.mp4"), "-q"]) == 2
    assert "nope.mp4" in capsys.readouterr().err
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0.png"), np.zeros((64, 64, 3), np.uint8))
    assert main(["track", str(frames), "-o", str(tmp_path / "out.txt"), "-q"]) == 2
    assert "unknown output type" in capsys.readouterr().err


def test_show_without_display_is_explained(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0.png"), np.zeros((64, 64, 3), np.uint8))
    code = main(["track", str(frames), "--show", "-q"])
    assert code == 2
    assert "--show needs" in capsys.readouterr().err


def test_image_folder_in_natural_order(tmp_path, data_dir):
    frames = tmp_path / "frames"
    frames.mkdir()
    photo = cv2.imread(str(data_dir / "hand-graph-cnn-realworld/images/00003.jpg"))
    for i in (1, 2, 10):  # natural order 1, 2, 10 (not 1, 10, 2)
        cv2.imwrite(str(frames / f"f{i}.png"), np.roll(photo, 3 * i, axis=1))
    out = tmp_path / "f.jsonl"
    assert main(["track", str(frames), "-o", str(out), "--fps", "10", "-q"]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["timestamp_ms"] for r in recs] == [0.0, 100.0, 200.0]
    assert all(len(r["hands"]) == 1 for r in recs)


def test_track_outputs_gestures_and_events(tmp_path, data_dir):
    """The shared clip shows a fist (frames ~23-52), then a thumb up to the end; track output names both."""
    out = tmp_path / "g.jsonl"
    video = data_dir / "mediapipe-samples/gesture_test_video_victory_thumbup.mp4"
    assert main(["track", str(video), "-o", str(out), "-q"]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]

    def share(frames: range, name: str) -> float:
        names = [h.get("gesture") for r in recs[frames.start : frames.stop] for h in r["hands"]]
        return sum(n == name for n in names) / max(len(names), 1)

    assert share(range(28, 50), "Closed_Fist") >= 0.9
    assert share(range(60, 195), "Thumb_Up") >= 0.9
    events = [e for r in recs for e in r.get("events", [])]
    holds = {e["gesture"] for e in events if e["event"] == "gesture_hold"}
    assert {"Closed_Fist", "Thumb_Up"} <= holds
    assert all(e["frame"] == r["frame"] for r in recs for e in r.get("events", []))
