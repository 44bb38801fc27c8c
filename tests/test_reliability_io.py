"""Input and output helpers (issue 13, items 1 and 6): output/input checks, image errors that name the
problem, the label box, and both annotated-video backends (PyAV, OpenCV fallback) under a full disk."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from fault_helpers import FullDisk, decoded_frames
from handtrace import Hand, draw_hands
from handtrace.io import as_rgb_uint8, read_image
from handtrace.video import Frame

# ------------------------------------------------------------------------------- output / input check


def test_check_output_not_input(tmp_path: Path) -> None:
    from handtrace.io import OutputIsInputError, check_output_not_input

    a = tmp_path / "in" / "a.png"
    a.parent.mkdir()
    a.write_bytes(b"x")
    os.link(a, tmp_path / "hard.png")
    (tmp_path / "soft.png").symlink_to(a)
    for out in (a, tmp_path / "in" / ".." / "in" / "a.png", tmp_path / "hard.png", tmp_path / "soft.png"):
        with pytest.raises(OutputIsInputError, match="overwrite"):
            check_output_not_input([out], [a])
    with pytest.raises(OutputIsInputError, match="input folder"):
        check_output_not_input([], [a], output_dirs=[tmp_path / "in"])
    with pytest.raises(OutputIsInputError, match="twice"):
        check_output_not_input([tmp_path / "o.jsonl", tmp_path / "." / "o.jsonl"], [a])
    check_output_not_input([tmp_path / "o.jsonl", tmp_path / "new" / "b.png"], [a],
                           output_dirs=[tmp_path / "new"])  # nothing in common: no error
    assert issubclass(OutputIsInputError, ValueError)


# -------------------------------------------------------------------------------- image errors


def test_float_hint_fits_the_values() -> None:
    with pytest.raises(ValueError, match=r"0-255: image\.astype") as info:
        as_rgb_uint8(np.full((4, 4, 3), 200.0, np.float32))
    assert "[0, 1]" not in str(info.value)
    with pytest.raises(ValueError, match=r"\[0, 1\] floats"):
        as_rgb_uint8(np.full((4, 4, 3), 0.5))


def test_truncated_jpeg_is_called_truncated(tmp_path: Path) -> None:
    ok, buf = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    assert ok
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(buf.tobytes()[: len(buf) // 3])
    with pytest.raises(ValueError, match=r"cut\.jpg.*JPEG data is truncated or corrupt"):
        read_image(cut)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"hello, not an image")
    with pytest.raises(ValueError, match="not an image"):
        read_image(junk)


# -------------------------------------------------------------------------------------- label box


def _hand_at_top() -> Hand:
    xy = np.array([[120, 150]] + [[80 - 5 * i, 130 - 20 * i] for i in range(4)]
                  + [[100 + 10 * f, 70 - 20 * i] for f in range(4) for i in range(4)], np.float32)
    xy[:, 1] -= xy[:, 1].min() - 3  # fingertips 3 px below the top edge
    return Hand(landmarks=np.c_[xy, np.zeros(21, np.float32)], world_landmarks=np.zeros((21, 3), np.float32),
                handedness="Right", handedness_score=0.9, presence=0.97, detection_score=0.8,
                box=np.r_[xy.min(0), xy.max(0)].astype(np.float32), id=3, gesture="Open_Palm",
                gesture_score=0.9)


def test_label_box_leaves_fingertips_at_the_top_visible() -> None:
    img = np.zeros((240, 320, 3), np.uint8)
    hand = _hand_at_top()
    with_label = draw_hands(img, [hand])
    without = draw_hands(img, [hand], labels=False)
    assert not np.array_equal(with_label, without)  # the label is drawn somewhere
    for x, y in np.round(hand.landmarks[:, :2]).astype(int):
        np.testing.assert_array_equal(with_label[y, x], without[y, x], err_msg=f"landmark at {x}, {y} hidden")


# ---------------------------------------------------------------------------- annotated video writers


def _noise(i: int, size: tuple[int, int] = (96, 128)) -> Frame:
    return Frame(i, i * 100.0, np.random.default_rng(i).integers(0, 255, (*size, 3), np.uint8))


def _count(path: Path) -> tuple[int, tuple[int, ...] | None]:
    frames = decoded_frames(path)
    return len(frames), frames[-1].shape if frames else None


def test_pyav_writer_full_disk_raises_and_keeps_fragments(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("av")
    from handtrace import writers

    path = tmp_path / "full.mp4"
    monkeypatch.setattr(writers, "_open_file", lambda p, mode, **kw: FullDisk(p, 250_000))
    w = writers.VideoWriter(path, 10.0, draw=lambda im, hands: im)
    assert w.backend == "pyav"
    with pytest.raises(OSError, match="No space left"):
        for i in range(200):
            w.write(_noise(i), [])
    failed_at = w.frames_written
    w.close()  # after a failed write: closes the file, raises nothing more
    played, _ = _count(path)
    assert 10 <= played <= failed_at  # the complete one-second fragments before the failure play


def test_pyav_writer_codec_and_odd_size(tmp_path: Path) -> None:
    pytest.importorskip("av")
    from handtrace.writers import VideoWriter

    with VideoWriter(tmp_path / "odd.mp4", 25.0, draw=lambda im, hands: im) as w:
        for i in range(5):
            w.write(_noise(i, (65, 97)), [])
    assert w.codec in ("libx264", "libopenh264", "h264", "mpeg4")
    assert _count(tmp_path / "odd.mp4") == (5, (65, 97, 3))


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_opencv_fallback_writes_and_plays(tmp_path: Path, suffix: str, monkeypatch) -> None:
    """Without PyAV, the OpenCV writer is used (forced here); its videos play once closed."""
    from handtrace import writers

    monkeypatch.setattr(writers, "have_pyav", lambda: False)
    path = tmp_path / f"cv{suffix}"
    with writers.open_writer(path, fps=10.0, draw=lambda im, hands: im) as w:
        assert isinstance(w, writers.VideoWriter) and w.backend == "opencv"
        for i in range(6):
            w.write(_noise(i), [])
    assert _count(path) == (6, (96, 128, 3))


def test_opencv_fallback_reports_a_video_that_does_not_play(tmp_path: Path, monkeypatch) -> None:
    from handtrace import writers

    path = tmp_path / "cv.mp4"
    w = writers.VideoWriter(path, 10.0, draw=lambda im, hands: im, backend="opencv")
    for i in range(3):
        w.write(_noise(i), [])
    real = w._encoder._writer

    class LosesTheIndex:  # as if the disk filled up before the index was written
        def release(self) -> None:
            real.release()
            path.write_bytes(path.read_bytes()[:100])

    w._encoder._writer = LosesTheIndex()
    with pytest.raises(OSError, match="does not play"):
        w.close()
