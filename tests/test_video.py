"""Frame sources: video files (including truncated ones), image folders and patterns, threading, errors."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from handtrace.video import (
    Frame,
    ImageSequenceSource,
    VideoFileSource,
    VideoReadError,
    natural_key,
    open_source,
)

SIZE = (96, 64)  # width, height


def _frame_bgr(i: int) -> np.ndarray:
    """Frame ``i``: blue in BGR (so red in RGB would mean swapped channels), brightness encodes the index."""
    img = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    img[..., 0] = (40 + 6 * i) % 256  # blue
    img[..., 2] = 10
    return img


def make_video(path: Path, n: int = 30, fps: float = 10.0, fourcc: str = "MJPG") -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, SIZE)
    assert writer.isOpened()
    for i in range(n):
        writer.write(_frame_bgr(i))
    writer.release()
    return path


def truncate(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    out = path.with_name(f"{path.stem}_cut{path.suffix}")
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def _blue(frame: Frame) -> float:
    return float(frame.image_rgb[..., 2].mean())


def test_video_file_frames_and_metadata(tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.avi", n=30, fps=10.0)
    with open_source(path) as src:
        assert isinstance(src, VideoFileSource)
        assert src.fps == pytest.approx(10.0)
        assert src.frame_count == 30 and len(src) == 30
        assert src.size == SIZE
        frames = list(src)
    assert [f.index for f in frames] == list(range(30))
    np.testing.assert_allclose([f.timestamp_ms for f in frames], np.arange(30) * 100.0, atol=1.0)
    f = frames[7]
    assert f.image_rgb.shape == (SIZE[1], SIZE[0], 3) and f.image_rgb.dtype == np.uint8
    assert f.timestamp_s == pytest.approx(0.7, abs=1e-3)
    # RGB order: the BGR-blue frame is blue in the RGB image.
    assert f.image_rgb[..., 2].mean() > f.image_rgb[..., 0].mean() + 20
    # Frames in order: brightness grows with the index.
    assert np.all(np.diff([_blue(fr) for fr in frames]) > 0)
    assert src.error is None and src.frames_read == 30 and src.closed


def test_mp4_video(tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.mp4", n=12, fps=25.0, fourcc="mp4v")
    src = open_source(str(path))
    frames = list(src)
    assert len(frames) == 12 == src.frame_count
    np.testing.assert_allclose([f.timestamp_ms for f in frames], np.arange(12) * 40.0, atol=1.0)


def test_truncated_video_keeps_frames_then_raises(tmp_path: Path) -> None:
    cut = truncate(make_video(tmp_path / "clip.avi", n=30), 0.8)
    src = open_source(cut)
    assert src.frame_count == 30  # the header still announces the whole video
    got: list[Frame] = []
    with pytest.raises(VideoReadError) as info:
        for frame in src:
            got.append(frame)
    err = info.value
    assert 5 <= len(got) < 30
    assert err.frame_index == len(got) == src.frames_read
    assert f"stopped at frame {len(got)}" in str(err) and str(cut) in str(err)
    assert "truncated" in str(err)
    assert np.all(np.diff([_blue(f) for f in got]) > 0)  # the frames before the break are the right ones
    assert src.error is err and src.closed


def test_truncated_video_not_strict(tmp_path: Path) -> None:
    cut = truncate(make_video(tmp_path / "clip.avi", n=30), 0.8)
    src = open_source(cut, strict=False)
    got = list(src)  # no exception
    assert 5 <= len(got) < 30
    assert isinstance(src.error, VideoReadError) and src.error.frame_index == len(got)


def test_truncated_mp4_without_index_is_named(tmp_path: Path) -> None:
    """An MP4 cut before its index cannot be opened at all: the error says it looks truncated."""
    cut = truncate(make_video(tmp_path / "clip.mp4", n=30, fourcc="mp4v"), 0.6)
    with pytest.raises(ValueError, match="truncated") as info:
        open_source(cut)
    assert str(cut) in str(info.value)


def test_truncated_shared_video(tmp_path: Path, data_dir: Path) -> None:
    """A real H.264 MP4 with its index first, cut in half: frames up to the cut, then a clear error."""
    src_path = data_dir / "mediapipe-samples" / "handlandmarker_test_video.mp4"
    if not src_path.is_file():
        pytest.skip(f"{src_path} not found")
    cut = tmp_path / "half.mp4"
    data = src_path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    src = open_source(cut)
    assert src.frame_count == 202
    got = 0
    with pytest.raises(VideoReadError, match=r"stopped at frame \d+"):
        for _ in src:
            got += 1
    assert 50 < got < 202 and src.error is not None and src.error.frame_index == got


@pytest.mark.parametrize("threaded", [False, True])
def test_threaded_matches_plain(tmp_path: Path, threaded: bool) -> None:
    path = make_video(tmp_path / "clip.avi", n=20)
    plain = [(f.index, f.timestamp_ms, f.image_rgb.copy()) for f in open_source(path)]
    source = open_source(path, threaded=threaded, queue_size=2)
    other = [(f.index, f.timestamp_ms, f.image_rgb) for f in source]
    assert len(plain) == len(other) == 20
    for a, b in zip(plain, other, strict=True):
        assert a[0] == b[0] and a[1] == b[1]
        np.testing.assert_array_equal(a[2], b[2])


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("handtrace-reader")]


def test_threaded_truncated_and_early_close(tmp_path: Path) -> None:
    cut = truncate(make_video(tmp_path / "clip.avi", n=30), 0.8)
    got = 0
    with pytest.raises(VideoReadError):
        for _ in open_source(cut, threaded=True):
            got += 1
    assert got >= 5
    assert not _reader_threads()
    # Stop after 3 frames of a longer video: close() stops the reader thread.
    src = open_source(make_video(tmp_path / "long.avi", n=60), threaded=True, queue_size=2)
    for i, _ in enumerate(src):
        if i == 2:
            break
    src.close()
    src.close()  # idempotent
    assert src.closed and not _reader_threads()


def test_iterating_twice_is_an_error(tmp_path: Path) -> None:
    src = open_source(make_video(tmp_path / "clip.avi", n=3))
    list(src)
    with pytest.raises((RuntimeError, ValueError)):
        list(src)


def _write_png(path: Path, value: int, size: tuple[int, int] = SIZE) -> None:
    img = np.full((size[1], size[0], 3), value, np.uint8)
    assert cv2.imwrite(str(path), img)


def test_image_folder_natural_order(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (1, 2, 10, 3):
        _write_png(folder / f"frame{i}.png", 10 * i)
    (folder / "notes.txt").write_text("not an image")
    src = open_source(folder, fps=5.0)
    assert isinstance(src, ImageSequenceSource)
    assert src.frame_count == 4 and src.size == SIZE and src.fps == 5.0
    frames = list(src)
    assert [int(f.image_rgb[0, 0, 0]) for f in frames] == [10, 20, 30, 100]  # 1, 2, 3, 10
    assert [f.timestamp_ms for f in frames] == [0.0, 200.0, 400.0, 600.0]


def test_glob_pattern(tmp_path: Path) -> None:
    for i in (9, 11, 100):
        _write_png(tmp_path / f"img_{i}.png", i)
    _write_png(tmp_path / "other.png", 1)
    frames = list(open_source(str(tmp_path / "img_*.png")))
    assert [int(f.image_rgb[0, 0, 0]) for f in frames] == [9, 11, 100]
    assert frames[1].timestamp_ms == pytest.approx(1000 / 30)  # default 30 fps
    with pytest.raises(FileNotFoundError, match="no files match"):
        open_source(str(tmp_path / "nothing_*.png"))


def test_corrupt_image_in_folder_stops_there(tmp_path: Path) -> None:
    for i in range(5):
        _write_png(tmp_path / f"{i}.png", 50)
    (tmp_path / "2.png").write_bytes(b"not a png at all")
    src = open_source(tmp_path)
    got = []
    with pytest.raises(VideoReadError, match="stopped at frame 2") as info:
        for f in src:
            got.append(f.index)
    assert got == [0, 1]
    assert "2.png" in str(info.value)


def test_single_image(tmp_path: Path) -> None:
    _write_png(tmp_path / "one.png", 77)
    frames = list(open_source(tmp_path / "one.png"))
    assert len(frames) == 1 and frames[0].image_rgb[0, 0, 0] == 77


def test_missing_and_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.mp4"):
        open_source(tmp_path / "nope.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        open_source(empty)
    text = tmp_path / "notes.mp4"
    text.write_text("hello, not a video\n" * 50)
    with pytest.raises(ValueError, match=r"notes\.mp4"):
        open_source(text)
    folder = tmp_path / "nothing_here"
    folder.mkdir()
    with pytest.raises(ValueError, match="no images"):
        open_source(folder)
    with pytest.raises(TypeError):
        open_source(True)  # type: ignore[arg-type]


def test_camera_index_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="camera 99"):
        open_source("99")
    with pytest.raises(ValueError, match="camera 98"):
        open_source(98)


def test_natural_key() -> None:
    names = ["f10.png", "f2.png", "F1.png", "f1b.png"]
    assert sorted(names, key=natural_key) == ["F1.png", "f1b.png", "f2.png", "f10.png"]
    assert sorted(["a10", "a9", "a100"], key=natural_key) == ["a9", "a10", "a100"]
