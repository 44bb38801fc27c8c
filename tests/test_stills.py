"""Many still images (HandTracker.process_images / process_files, handtrace.stills): the same hands as
``process``, bit for bit, in order, on the pipelined CPU path and in batches; errors in place; lazy input."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from handtrace import HandTracker, read_image
from handtrace.results import Hand
from handtrace.runtime import default_threads
from handtrace.stills import GPU_BATCH_SIZE, OneThreadModels, process_batch
from model_helpers import needs_models

pytestmark = needs_models


def _synthetic(folder: Path) -> list[Path]:
    """Smooth random blotches in a few sizes: with a low detection threshold the palm detector finds
    palms in some (one or two), none in others (the full-frame fallback runs), so every path is taken."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(12):
        h, w = [(96, 128), (200, 150), (64, 64), (300, 400)][i % 4]
        coarse = rng.integers(0, 255, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
        paths.append(folder / f"s{i:02d}.png")
        assert cv2.imwrite(str(paths[-1]), cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC))
    return paths


def _photos(data: Path) -> list[Path]:
    """20 hand-graph-cnn photos, one needing the fallback, two hands, no hand, a larger photo."""
    graph = data / "hand-graph-cnn-realworld" / "images"
    return [*sorted(graph.glob("*.jpg"))[:20], graph / "00283.jpg", data / "tfjs-models" / "hands.jpg",
            data / "mediapipe-rs" / "banana.jpg",
            data / "mediapipe-samples" / "handlandmarker_test_image.jpg"]


@pytest.fixture(params=["synthetic", "photos"])
def inputs(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[Path], dict[str, Any]]:
    """Image files and the tracker options for them."""
    if request.param == "synthetic":
        return _synthetic(tmp_path / "synthetic"), {"min_detection_confidence": 0.05,
                                                    "min_tracking_confidence": 0.0}
    from handtrace.datasets import data_root

    if not (data_root() / "hand-graph-cnn-realworld").is_dir():
        pytest.skip(f"shared data not found at {data_root()}")
    return _photos(data_root()), {}


def _assert_same(got: list[list[Hand]], expected: list[list[Hand]]) -> None:
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert len(a) == len(b), i
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x.landmarks, y.landmarks)
            np.testing.assert_array_equal(x.world_landmarks, y.world_landmarks)
            assert x.to_dict() == y.to_dict()


@pytest.fixture
def palm_batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of images in each palm-detector call made while the test runs."""
    from handtrace.detection import PalmDetector

    sizes: list[int] = []
    real = PalmDetector.detect_batch

    def spy(self: PalmDetector, images: Any) -> Any:
        sizes.append(len(images))
        return real(self, images)

    monkeypatch.setattr(PalmDetector, "detect_batch", spy)
    return sizes


def _one_by_one(paths: list[Path], **options: Any) -> tuple[list[list[Hand]], Any]:
    with HandTracker(**options) as t:
        return [t.process(read_image(p)) for p in paths], t.stats


def test_process_images_gives_what_process_gives(inputs) -> None:
    paths, options = inputs
    expected, stats = _one_by_one(paths, **options)
    assert sum(map(len, expected)) > 0 and any(len(h) == 0 for h in expected)  # the inputs do test something
    with HandTracker(**options) as t:
        got = list(t.process_images(read_image(p) for p in paths))
        assert (t.stats.frames, t.stats.detector_runs, t.stats.landmark_crops) == (
            stats.frames, stats.detector_runs, stats.landmark_crops)
    _assert_same(got, expected)


@pytest.mark.skipif(default_threads() < 2, reason="the pipeline needs two cores")
def test_images_run_side_by_side_on_worker_threads(inputs, monkeypatch: pytest.MonkeyPatch) -> None:
    paths, options = inputs
    threads: set[str] = set()
    real = HandTracker._process_still

    def spy(self: HandTracker, image: np.ndarray, *args: Any) -> list[Hand]:
        threads.add(threading.current_thread().name)
        return real(self, image, *args)

    monkeypatch.setattr(HandTracker, "_process_still", spy)
    with HandTracker(**options) as t:
        assert OneThreadModels.of(t) is not None
        list(t.process_images(read_image(p) for p in paths))
    assert threads and all(name.startswith("handtrace-images") for name in threads)
    assert len(threads) == default_threads()


@pytest.mark.parametrize("batch_size", [1, 3, GPU_BATCH_SIZE])
def test_batches_give_what_process_gives(inputs, batch_size: int, palm_batch_sizes: list[int]) -> None:
    # The GPU's code path, run on the CPU: one palm-detector call per batch, one landmark call per pass.
    paths, options = inputs
    expected, stats = _one_by_one(paths, **options)
    with HandTracker(**options) as t:
        got = list(t.process_images((read_image(p) for p in paths), batch_size=batch_size))
        assert (t.stats.frames, t.stats.detector_runs, t.stats.landmark_crops) == (
            stats.frames, stats.detector_runs, stats.landmark_crops)
        if batch_size > 1:  # fewer landmark calls than one image at a time: at most two per batch
            batches = -(-len(paths) // batch_size)
            assert t.stats.landmark_runs <= 2 * batches < stats.landmark_runs
    _assert_same(got, expected)
    assert max(palm_batch_sizes) == min(batch_size, len(paths))


def test_process_batch_puts_a_bad_image_s_error_in_its_place(inputs) -> None:
    paths, options = inputs
    images = [read_image(p) for p in paths[:3]]
    with HandTracker(gestures=False, **options) as t:  # gestures are named by the caller of process_batch
        expected = [t.process(im) for im in images]
        found = process_batch(t, [images[0], np.zeros((4, 4), np.float32), images[1], images[2]])
    assert isinstance(found[1], ValueError) and "uint8" in str(found[1])
    _assert_same([found[0], found[2], found[3]], expected)  # type: ignore[list-item]


@pytest.mark.parametrize("batch_size", [None, 2])
def test_process_files_reads_in_the_pipeline_and_keeps_going_after_bad_files(
        inputs, tmp_path: Path, batch_size: int | None) -> None:
    paths, options = inputs
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff not really a jpeg")
    files = [paths[0], tmp_path / "missing.png", paths[1], corrupt, paths[2]]
    expected, _ = _one_by_one([paths[0], paths[1], paths[2]], **options)
    with HandTracker(**options) as t:
        results = list(t.process_files(files, batch_size=batch_size))
        assert t.stats.frames == 3
    assert [r.path for r in results] == files
    assert isinstance(results[1].error, FileNotFoundError) and results[1].image is None
    assert isinstance(results[3].error, ValueError) and "corrupt" in str(results[3].error)
    with pytest.raises(FileNotFoundError):
        results[1].get()
    good = [results[0], results[2], results[4]]
    _assert_same([r.get() for r in good], expected)
    for r, p in zip(good, [paths[0], paths[1], paths[2]], strict=True):
        np.testing.assert_array_equal(r.image, read_image(p))


@pytest.mark.parametrize("batch_size", [None, 2])
def test_the_input_is_taken_lazily(batch_size: int | None) -> None:
    pulled = 0
    image = np.full((64, 64, 3), 90, np.uint8)

    def endless() -> Iterator[np.ndarray]:
        nonlocal pulled
        for _ in itertools.count():
            pulled += 1
            yield image

    with HandTracker(model_complexity=0) as t:
        results = t.process_images(endless(), batch_size=batch_size)
        assert list(itertools.islice(results, 5)) == [[]] * 5
        results.close()
    # A few images per worker, or a batch and the one read ahead: never the whole input.
    assert pulled <= 5 + max(2 * default_threads(), 3 * (batch_size or 0))


@pytest.mark.parametrize("batch_size", [None, 2])
def test_a_bad_image_raises_where_process_would(batch_size: int | None) -> None:
    good = np.full((64, 64, 3), 90, np.uint8)
    with HandTracker(model_complexity=0) as t:
        results = t.process_images(iter([good, good, good.astype(np.float32), good]), batch_size=batch_size)
        assert next(results) == [] and next(results) == []
        with pytest.raises(ValueError, match="uint8"):
            next(results)


def test_refused_uses() -> None:
    with HandTracker(static_image_mode=False, model_complexity=0) as video, pytest.raises(
            RuntimeError, match="static_image_mode"):
        video.process_images([])
    t = HandTracker(model_complexity=0)
    with pytest.raises(ValueError, match="batch_size"):
        t.process_images([], batch_size=0)
    t.close()
    with pytest.raises(RuntimeError, match="closed"):
        t.process_files([])


def test_gestures_are_named_as_process_names_them(data_dir: Path) -> None:
    paths = [data_dir / "mediapipe-rs" / f"{name}.jpg" for name in ("thumbs_up", "victory", "pointing_up")]
    with HandTracker() as t:
        expected = [[h.gesture for h in t.process(read_image(p))] for p in paths]
        got = [[h.gesture for h in r.get()] for r in t.process_files(paths)]
    assert got == expected and all(g and g[0] is not None for g in got)


def test_one_thread_at_a_fixed_thread_count_runs_inline(inputs) -> None:
    paths, options = inputs
    expected, _ = _one_by_one(paths[:4], **options)
    with HandTracker(num_threads=1, **options) as t:
        assert OneThreadModels.of(t) is None  # nothing to spread over cores: process() one image at a time
        got = list(t.process_images(read_image(p) for p in paths[:4]))
        assert t.stats.frames == 4
    _assert_same(got, expected)


def test_a_gpu_tracker_takes_the_batched_path(palm_batch_sizes: list[int]) -> None:
    # What device="cuda" runs, checked on the CPU: the device decides the path, the sessions do not matter.
    images = [np.full((64, 64, 3), 10 * i, np.uint8) for i in range(GPU_BATCH_SIZE + 3)]
    with HandTracker(model_complexity=0) as t:
        t.device = "cuda"
        assert list(t.process_images(images)) == [[]] * len(images)
    sizes = palm_batch_sizes  # two batches: 16 and the last 3
    assert sizes[0] == max(sizes) == GPU_BATCH_SIZE and 3 in sizes
