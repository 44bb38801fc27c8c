"""Streaming writers: JSON Lines, CSV, annotated video; flushing, crash safety, open_writer."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from handtrace.results import Hand
from handtrace.video import Frame
from handtrace.writers import (
    CSV_COLUMNS,
    CsvWriter,
    JsonlWriter,
    VideoWriter,
    hand_record,
    open_writer,
)

W, H = 64, 48


def make_hand(offset: float = 0.0, hand_id: int | None = 1, gesture: str | None = None) -> Hand:
    lm = (np.arange(63, dtype=np.float32).reshape(21, 3) / 3 + offset).astype(np.float32)
    lm[:, 2] -= 5
    world = (np.arange(63, dtype=np.float32).reshape(21, 3) / 1000 - 0.03).astype(np.float32)
    box = np.array([*lm[:, :2].min(0), *lm[:, :2].max(0)], np.float32)
    return Hand(lm, world, "Right", 0.87654, 0.99, 0.5, box, id=hand_id, gesture=gesture,
                gesture_score=0.75 if gesture else 0.0)


def make_frame(i: int) -> Frame:
    img = np.full((H, W, 3), 20 * i % 256, np.uint8)
    return Frame(i, i * 40.0, img)


def test_jsonl_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path) as w:
        w.write(make_frame(0), [make_hand()])
        w.write(make_frame(1), [])
        w.write((2, 80.0), [make_hand(1.0, 1, "Victory"), make_hand(30.0, None)], events=[{"new_id": 2}])
    assert w.closed and w.frames_written == 3
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    recs = [json.loads(line) for line in lines]
    assert [r["frame"] for r in recs] == [0, 1, 2]
    assert [r["timestamp_ms"] for r in recs] == [0.0, 40.0, 80.0]
    assert recs[1]["hands"] == [] and "events" not in recs[0]
    assert recs[2]["events"] == [{"new_id": 2}]
    h = recs[0]["hands"][0]
    assert next(iter(h)) == "id" and h["id"] == 1
    assert h["handedness"] == "Right" and h["handedness_score"] == pytest.approx(0.8765)
    assert h["presence"] == pytest.approx(0.99) and h["detection_score"] == pytest.approx(0.5)
    np.testing.assert_allclose(h["landmarks"], make_hand().landmarks, atol=0.006)
    np.testing.assert_allclose(h["world_landmarks"], make_hand().world_landmarks, atol=6e-6)
    assert "gesture" not in h
    g = recs[2]["hands"][0]
    assert g["gesture"] == "Victory" and g["gesture_score"] == 0.75
    assert recs[2]["hands"][1]["id"] is None


def test_jsonl_non_finite_becomes_null(tmp_path: Path) -> None:
    hand = make_hand()
    hand.extras["speed"] = np.float32("nan")
    hand.extras["vector"] = np.array([1.0, np.inf])
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path) as w:
        w.write((0, 0.0), [hand])
    rec = json.loads(path.read_text())  # strict JSON: no NaN tokens
    assert "NaN" not in path.read_text()
    assert rec["hands"][0]["speed"] is None and rec["hands"][0]["vector"] == [1.0, None]


def test_hand_record() -> None:
    rec = hand_record(make_hand(hand_id=None))
    assert rec["id"] is None and rec["handedness"] == "Right" and len(rec["landmarks"]) == 21


def test_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert len(CSV_COLUMNS) == 9 + 63 + 63
    assert CSV_COLUMNS[9:12] == ("x0", "y0", "z0") and CSV_COLUMNS[-1] == "wz20"
    with CsvWriter(path) as w:
        w.write(make_frame(0), [make_hand()])
        w.write(make_frame(1), [])
        w.write(make_frame(2), [make_hand(1.0, 7, "Open_Palm"), make_hand(30.0, None)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = rows[1:]
    assert [r[0] for r in body] == ["0", "2", "2"]  # no row for the frame without a hand
    r = dict(zip(CSV_COLUMNS, body[1], strict=True))
    assert r["id"] == "7" and r["handedness"] == "Right" and r["gesture"] == "Open_Palm"
    assert float(r["timestamp_ms"]) == 80.0 and float(r["gesture_score"]) == 0.75
    lm = np.array([float(r[f"{a}{i}"]) for i in range(21) for a in "xyz"]).reshape(21, 3)
    np.testing.assert_allclose(lm, make_hand(1.0).landmarks, atol=0.006)
    world = np.array([float(r[f"w{a}{i}"]) for i in range(21) for a in "xyz"]).reshape(21, 3)
    np.testing.assert_allclose(world, make_hand().world_landmarks, atol=6e-6)
    none_id = dict(zip(CSV_COLUMNS, body[2], strict=True))
    assert none_id["id"] == "" and none_id["gesture"] == "" and none_id["gesture_score"] == ""


def test_flushed_as_it_goes(tmp_path: Path) -> None:
    """Before close, everything written is already in the file (another reader sees it)."""
    jpath, cpath = tmp_path / "a.jsonl", tmp_path / "a.csv"
    jw, cw = JsonlWriter(jpath), CsvWriter(cpath)
    for i in range(4):
        jw.write(make_frame(i), [make_hand(i)])
        cw.write(make_frame(i), [make_hand(i)])
        assert len(jpath.read_text().splitlines()) == i + 1
        assert len(cpath.read_text().splitlines()) == i + 2  # + header
    jw.close()
    cw.close()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_killed_process_keeps_frames(tmp_path: Path, suffix: str) -> None:
    """A process that dies at frame 5 without any cleanup leaves frames 0..4 complete on disk."""
    path = tmp_path / f"out{suffix}"
    code = textwrap.dedent(f"""
        import os, numpy as np
        from handtrace.results import Hand
        from handtrace.writers import open_writer
        lm = np.ones((21, 3), np.float32)
        hand = Hand(lm, lm / 100, "Left", 0.9, 0.9, 0.9, np.zeros(4, np.float32), id=1)
        w = open_writer({str(path)!r})
        for i in range(5):
            w.write((i, i * 40.0), [hand])
        os._exit(3)  # a crash: no close, no atexit, no buffer flush by Python
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    lines = path.read_text().splitlines()
    if suffix == ".jsonl":
        assert [json.loads(line)["frame"] for line in lines] == [0, 1, 2, 3, 4]
    else:
        assert len(lines) == 6 and [row.split(",")[0] for row in lines[1:]] == ["0", "1", "2", "3", "4"]


def _read_video(path: Path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened()
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames, fps


def _draw_box(image_rgb: np.ndarray, hands: list[Hand]) -> np.ndarray:
    for h in hands:
        x0, y0, x1, y1 = (int(v) for v in h.box)
        image_rgb[y0:y1, x0:x1] = (255, 0, 0)  # red, RGB
    return image_rgb


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_video_writer_keeps_fps_size_and_draws(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    hand = make_hand()
    hand.box = np.array([10, 10, 40, 30], np.float32)
    with open_writer(path, fps=12.5, draw=_draw_box) as w:
        assert isinstance(w, VideoWriter)
        for i in range(10):
            w.write(make_frame(i), [hand] if i % 2 == 0 else [])
    frames, fps = _read_video(path)
    assert len(frames) == 10 and fps == pytest.approx(12.5)
    assert frames[0].shape == (H, W, 3)
    # BGR on disk: the red box is in channel 2, and only on frames with a hand.
    assert frames[0][15:25, 15:35, 2].mean() > 180 and frames[0][15:25, 15:35, 0].mean() < 80
    assert frames[1][15:25, 15:35, 2].mean() < 100


def test_video_writer_resizes_odd_frames_and_leaves_input_alone(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    big = Frame(1, 40.0, np.full((H * 2, W * 2, 3), 128, np.uint8))
    before = big.image_rgb.copy()
    with VideoWriter(path, 25.0, size=(W, H), draw=_draw_box) as w:
        w.write(make_frame(0), [])
        hand = make_hand()
        hand.box = np.array([0, 0, 10, 10], np.float32)
        w.write(big, [hand])
    np.testing.assert_array_equal(big.image_rgb, before)  # drawing happened on a copy
    frames, _ = _read_video(path)
    assert len(frames) == 2 and frames[1].shape == (H, W, 3)


def test_video_writer_default_drawing(tmp_path: Path) -> None:
    pytest.importorskip("handtrace.drawing")
    path = tmp_path / "out.mp4"
    hand = make_hand(10.0)
    with VideoWriter(path, 25.0) as w:
        w.write(make_frame(0), [hand])
        w.write(make_frame(1), [])
    frames, _ = _read_video(path)
    assert len(frames) == 2
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).max() > 50  # something was drawn


def test_close_is_idempotent_and_write_after_close_fails(tmp_path: Path) -> None:
    for name in ("a.jsonl", "a.csv", "a.mp4"):
        w = open_writer(tmp_path / name, fps=10.0)
        w.write(make_frame(0), [make_hand()])
        w.close()
        w.close()
        with pytest.raises(ValueError, match="closed"):
            w.write(make_frame(1), [])


def test_context_manager_closes_on_error(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), VideoWriter(path, 10.0, draw=_draw_box) as w:
        for i in range(3):
            w.write(make_frame(i), [])
        raise RuntimeError("input broke")
    assert w.closed
    frames, _ = _read_video(path)  # the MP4 was finished: its 3 frames play
    assert len(frames) == 3


def test_open_writer_by_suffix(tmp_path: Path) -> None:
    assert isinstance(open_writer(tmp_path / "x.JSONL"), JsonlWriter)
    assert isinstance(open_writer(tmp_path / "x.ndjson"), JsonlWriter)
    assert isinstance(open_writer(tmp_path / "x.csv"), CsvWriter)
    with pytest.raises(ValueError, match=r"\.txt.*\.jsonl"):
        open_writer(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="no suffix"):
        open_writer(tmp_path / "x")
    with pytest.raises(ValueError, match="fps"):
        open_writer(tmp_path / "x.mp4")
    with pytest.raises(FileNotFoundError, match="missing"):
        open_writer(tmp_path / "missing" / "x.jsonl")
