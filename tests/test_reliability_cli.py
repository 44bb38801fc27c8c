"""Command-line reliability (issue 13, items 1, 3, 4, 6): outputs never overwrite inputs, I/O failures are
messages with exit status 1 (never tracebacks), the exit codes agree between commands, a full disk is an
error, odd frame sizes are kept, messages count what was written."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from fault_helpers import FullDisk, decoded_frames
from handtrace import cli, read_image, writers
from handtrace.results import Hand
from handtrace.stills import ImageResult, one_by_one


class _NoHands:
    """Stands in for HandTracker in ``detect``: no hands, no models."""

    stats = "0 frames"

    def __init__(self, **kwargs: Any) -> None:
        self.closed = False

    def __enter__(self) -> _NoHands:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True

    def process(self, image: np.ndarray, timestamp_ms: float | None = None) -> list[Hand]:
        return []

    def process_files(self, paths: Iterable[Path], batch_size: int | None = None) -> Iterator[ImageResult]:
        return one_by_one(self.process, paths, read_image)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_create_tracker", _NoHands)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _photos(folder: Path, n: int = 2, size: tuple[int, int] = (48, 64)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"p{i}.png"
        cv2.imwrite(str(p), np.random.default_rng(i).integers(0, 255, (*size, 3), np.uint8))
        paths.append(p)
    return paths


def _clip(path: Path, n: int = 8, size: tuple[int, int] = (64, 48)) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), 20 * i, np.uint8))
    w.release()
    return path


# ------------------------------------------------------------------------ item 1: outputs are not inputs


@pytest.mark.parametrize("flag", ["-o", "--draw"])
def test_track_refuses_to_write_over_its_input(tmp_path: Path, flag: str, capsys) -> None:
    video = _clip(tmp_path / "v.avi")
    before = _digest(video)
    assert cli.main(["track", str(video), flag, str(video), "-q"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert _digest(video) == before


def test_track_refuses_a_hard_link_and_a_symlink_to_its_input(tmp_path: Path, capsys) -> None:
    video = _clip(tmp_path / "v.avi")
    before = _digest(video)
    os.link(video, tmp_path / "linked.avi")
    (tmp_path / "sym.avi").symlink_to(video)
    for out in ("linked.avi", "sym.avi"):
        assert cli.main(["track", str(video), "--draw", str(tmp_path / out), "-q"]) == 2
        assert "resolves to the input" in capsys.readouterr().err
    assert _digest(video) == before


def test_track_refuses_an_output_that_is_one_of_its_frames(tmp_path: Path, capsys) -> None:
    frames = _photos(tmp_path / "frames", 3)
    before = [_digest(p) for p in frames]
    # an image folder's frame given as an output (after renaming it to a writer suffix via a hard link)
    os.link(frames[1], tmp_path / "frame.csv")
    assert cli.main(["track", str(tmp_path / "frames"), "-o", str(tmp_path / "frame.csv"), "-q"]) == 2
    assert [_digest(p) for p in frames] == before


def test_detect_refuses_drawing_into_the_input_folder(fake, tmp_path: Path, capsys) -> None:
    photos = _photos(tmp_path / "photos")
    before = [_digest(p) for p in photos]
    assert cli.main(["detect", str(tmp_path / "photos"), "--draw", str(tmp_path / "photos"), "-q"]) == 2
    assert "input folder" in capsys.readouterr().err
    assert [_digest(p) for p in photos] == before
    # also through another spelling of the same folder, and for a single file's folder
    assert cli.main(["detect", str(photos[0]), "--draw", str(tmp_path / "photos" / "." ), "-q"]) == 2
    assert [_digest(p) for p in photos] == before


def test_detect_refuses_an_output_file_equal_to_an_input(fake, tmp_path: Path, capsys) -> None:
    photos = _photos(tmp_path / "photos")
    os.link(photos[0], tmp_path / "res.jsonl")
    before = _digest(photos[0])
    assert cli.main(["detect", str(photos[0]), "-o", str(tmp_path / "res.jsonl"), "-q"]) == 2
    assert _digest(photos[0]) == before


def test_detect_still_draws_into_another_folder(fake, tmp_path: Path) -> None:
    _photos(tmp_path / "photos")
    assert cli.main(["detect", str(tmp_path / "photos"), "--draw", str(tmp_path / "drawn"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "drawn").iterdir()) == ["p0.png", "p1.png"]


# ------------------------------------------------------------- item 4: I/O failures, exit codes, --debug


def test_detect_unwritable_outputs_are_errors_not_tracebacks(fake, tmp_path: Path, capsys) -> None:
    photos = _photos(tmp_path / "photos", 1)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for argv in (["-o", str(blocker / "res.json")], ["--draw", str(blocker / "drawn")]):
        assert cli.main(["detect", str(photos[0]), *argv, "-q"]) == 1
        err = capsys.readouterr().err
        assert "a_file" in err and "Traceback" not in err


def test_debug_shows_the_traceback(fake, tmp_path: Path, capsys, monkeypatch) -> None:
    photos = _photos(tmp_path / "photos", 1)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x.json"))

    monkeypatch.setattr(cli, "ResultWriter", broken)
    assert cli.main(["detect", str(photos[0]), "-o", str(tmp_path / "x.json"), "-q"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setattr(cli, "_cmd_detect", lambda args: broken())
    monkeypatch.setattr(cli, "_COMMANDS", cli._COMMANDS)  # parser rebuilt with the patched command
    code = cli.main(["detect", str(photos[0]), "--debug"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" in err and "Permission denied" in err


def test_detect_full_disk_stops_with_status_1_and_keeps_results(fake, tmp_path: Path, capsys,
                                                                monkeypatch) -> None:
    photos = _photos(tmp_path / "photos", 4)
    real = cli.ResultWriter.write

    def write(self: Any, record: dict[str, Any]) -> None:
        if self.count == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, record)

    monkeypatch.setattr(cli.ResultWriter, "write", write)
    out = tmp_path / "res.jsonl"
    assert cli.main(["detect", *map(str, photos), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "No space left" in err and "stopped after 2 of 4" in err and "Traceback" not in err
    assert len(out.read_text().splitlines()) == 2


def test_track_full_disk_on_the_video_is_status_1_with_frames_kept(tmp_path: Path, capsys,
                                                                   monkeypatch) -> None:
    pytest.importorskip("av")
    _photos(tmp_path / "frames", 40, size=(120, 160))
    real_open = writers._open_file
    limit = {}

    def open_file(path: Path, mode: str, **kw: Any) -> Any:
        if path.suffix == ".mp4":
            return FullDisk(path, limit["bytes"])
        return real_open(path, mode, **kw)

    # Room for about the first 20 frames (two fragments at --fps 10): measured from a full run.
    full = tmp_path / "full.mp4"
    assert cli.main(["track", str(tmp_path / "frames"), "--fps", "10", "--draw", str(full), "-q"]) == 0
    limit["bytes"] = full.stat().st_size * 6 // 10
    monkeypatch.setattr(writers, "_open_file", open_file, raising=False)
    out, drawn = tmp_path / "o.jsonl", tmp_path / "o.mp4"
    code = cli.main(["track", str(tmp_path / "frames"), "--fps", "10", "-o", str(out), "--draw", str(drawn),
                     "-q"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "No space left" in err and "Traceback" not in err
    written = len(out.read_text().splitlines())
    assert 0 < written < 40
    assert 10 <= len(decoded_frames(drawn)) <= written  # the fragments before the failure play


def test_track_writer_close_failing_is_status_1(tmp_path: Path, capsys, monkeypatch) -> None:
    _photos(tmp_path / "frames", 3)
    real_open = writers._open_file

    def open_file(path: Path, mode: str, **kw: Any) -> Any:
        if path.suffix == ".csv":  # full at close: the last flush fails
            return io.TextIOWrapper(FullDisk(path, 10**6, fail_on_close=True), encoding="utf-8", newline="")
        return real_open(path, mode, **kw)

    monkeypatch.setattr(writers, "_open_file", open_file, raising=False)
    code = cli.main(["track", str(tmp_path / "frames"), "-o", str(tmp_path / "o.csv"), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "o.csv" in err and "No space left" in err and "Traceback" not in err


def test_empty_folder_is_status_2_for_detect_and_track(fake, tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert cli.main(["detect", str(tmp_path / "empty"), "-q"]) == 2
    assert cli.main(["track", str(tmp_path / "empty"), "-q"]) == 2
    assert cli.main(["track", str(tmp_path / "missing.mp4"), "-q"]) == 2


def test_bad_option_values_are_status_2(tmp_path: Path, capsys) -> None:
    _photos(tmp_path / "frames", 1)
    assert cli.main(["track", str(tmp_path / "frames"), "--min-detection-confidence", "3", "-q"]) == 2
    assert "min_detection_confidence" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------- item 6


def test_track_option_error_prints_the_track_usage(capsys) -> None:
    assert cli.main(["track", "clip.mp4", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert "usage: handtrace track" in err and "--bogus" in err


def test_interrupt_message_counts_what_was_written(tmp_path: Path, capsys, monkeypatch) -> None:
    """Ctrl-C landing between two outputs' writes of one frame: the message counts the frames on disk."""
    _photos(tmp_path / "frames", 6)
    real = writers.open_writer

    def open_writer(path: Any, **kw: Any) -> Any:
        w = real(path, **kw)
        if str(path).endswith(".csv"):
            def write(frame: Any, hands: Any, events: Any = None, _w: Any = w) -> None:
                if _w.frames_written == 3:
                    raise KeyboardInterrupt
                type(_w).write(_w, frame, hands, events)
            w.write = write
        return w

    monkeypatch.setattr(writers, "open_writer", open_writer)
    out = tmp_path / "o.jsonl"
    code = cli.main(["track", str(tmp_path / "frames"), "-o", str(out), "-o", str(tmp_path / "o.csv"), "-q"])
    err = capsys.readouterr().err
    assert code == 130
    lines = len(out.read_text().splitlines())
    assert lines == 4 and f"after {lines} frames" in err


def test_odd_frame_size_is_kept_in_the_annotated_video(tmp_path: Path) -> None:
    pytest.importorskip("av")
    _photos(tmp_path / "frames", 3, size=(49, 65))
    drawn = tmp_path / "odd.mp4"
    assert cli.main(["track", str(tmp_path / "frames"), "--draw", str(drawn), "-q"]) == 0
    frames = decoded_frames(drawn)
    assert len(frames) == 3 and frames[0].shape == (49, 65, 3)


def test_annotated_mp4_is_not_much_larger_than_its_input(tmp_path: Path, data_dir: Path) -> None:
    pytest.importorskip("av")
    video = data_dir / "mediapipe-samples/handlandmarker_test_video.mp4"
    drawn = tmp_path / "drawn.mp4"
    assert cli.main(["track", str(video), "--draw", str(drawn), "-q", "--model", "lite"]) == 0
    assert drawn.stat().st_size < 1.5 * video.stat().st_size
    assert len(decoded_frames(drawn)) == len(decoded_frames(video))


def test_eval_json_output_error_is_a_message(tmp_path: Path, data_dir: Path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code = cli.main(["eval", "keypoints", str(data_dir), "--limit", "1", "--pad", "0", "-q",
                     "--json", str(blocker / "out.json")])
    err = capsys.readouterr().err
    assert code == 1 and "a_file" in err and "Traceback" not in err
    json.dumps(err)


def test_missing_gesture_file_is_status_2_for_every_gesture_command(tmp_path: Path, capsys) -> None:
    photos = _photos(tmp_path / "photos", 1)
    missing = str(tmp_path / "nope.json")
    assert cli.main(["gestures", "list", "--gestures", missing]) == 2
    assert cli.main(["gestures", "explain", str(photos[0]), "--gestures", missing]) == 2
    assert "nope.json" in capsys.readouterr().err
