"""The fast-motion benchmark's data generator and scoring (benchmarks/fast_motion.py)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest


@pytest.fixture(scope="module")
def fm(load_benchmark) -> ModuleType:
    return load_benchmark("fast_motion")


@pytest.fixture(scope="module")
def photo_and_background(fm: ModuleType, data_dir: Path) -> tuple[object, np.ndarray]:
    try:
        photos = fm.load_photos("hand-graph", data_dir)
        background = fm.load_background(data_dir)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return photos[0], background


def test_background_is_960x540(photo_and_background: tuple[object, np.ndarray]) -> None:
    _, bg = photo_and_background
    assert bg.shape == (540, 960, 3) and bg.dtype == np.uint8
    assert bg.std() > 10  # a real picture, not a flat fill


def test_clip_moves_at_speed_and_keypoints_follow(fm: ModuleType, photo_and_background: tuple) -> None:
    photo, bg = photo_and_background
    clip = fm.render_clip(photo, bg, speed=60, n_frames=6, seed=1)
    assert clip.frames.shape == (6, 540, 960, 3) and clip.keypoints.shape == (6, 21, 2)
    # The hand's centroid moves 60 px per frame (scale and rotation act about the patch centre, so the
    # centroid of the keypoints moves by about the same; a bounce off an edge shortens one step).
    steps = np.linalg.norm(np.diff(clip.keypoints.mean(axis=1), axis=0), axis=1)
    assert np.median(steps) == pytest.approx(60, abs=6)
    # All keypoints stay inside the frame.
    assert clip.keypoints.min() >= 0
    assert clip.keypoints[..., 0].max() < 960 and clip.keypoints[..., 1].max() < 540
    # The pasted pixels follow the keypoints: the photo's pixel at its middle-MCP keypoint appears at the
    # transformed keypoint in every frame.
    x, y = photo.keypoints[9]
    colour = photo.image[round(y) - 1: round(y) + 2, round(x) - 1: round(x) + 2].reshape(-1, 3).mean(0)
    for i in range(len(clip)):
        px, py = clip.keypoints[i, 9]
        patch = clip.frames[i, round(py) - 1: round(py) + 2, round(px) - 1: round(px) + 2]
        got = patch.reshape(-1, 3).mean(0)
        assert np.abs(got - colour).max() < 30
    np.testing.assert_allclose(clip.hand_size, fm.hand_size(clip.keypoints), rtol=1e-5)


def test_clips_are_deterministic(fm: ModuleType, photo_and_background: tuple) -> None:
    photo, bg = photo_and_background
    a = fm.render_clip(photo, bg, 100, n_frames=3, seed=5, noise_std=2.0)
    b = fm.render_clip(photo, bg, 100, n_frames=3, seed=5, noise_std=2.0)
    c = fm.render_clip(photo, bg, 100, n_frames=3, seed=6, noise_std=2.0)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.keypoints, c.keypoints)


def test_motion_blur_keeps_keypoints(fm: ModuleType, photo_and_background: tuple) -> None:
    photo, bg = photo_and_background
    sharp = fm.render_clip(photo, bg, 80, n_frames=2, seed=2)
    blurred = fm.render_clip(photo, bg, 80, n_frames=2, seed=2, shutter=0.5)
    np.testing.assert_array_equal(sharp.keypoints, blurred.keypoints)
    diff = np.abs(sharp.frames.astype(int) - blurred.frames.astype(int))
    assert diff.max() > 50 and diff.mean() < 10  # the moving patch is smeared, the background is not


def test_still_clip(fm: ModuleType, photo_and_background: tuple) -> None:
    photo, bg = photo_and_background
    clip = fm.render_clip(photo, bg, 0, n_frames=3, seed=0, scale_amplitude=0, angle_amplitude_deg=0)
    np.testing.assert_allclose(clip.keypoints[0], clip.keypoints[2])
    np.testing.assert_array_equal(clip.frames[0], clip.frames[2])


def test_scoring(fm: ModuleType) -> None:
    rng = np.random.default_rng(0)
    gt = rng.uniform(100, 300, size=(4, 21, 2))  # hand size ~200 px
    size = fm.hand_size(gt)
    good = gt[0] + 0.05 * size[0] / np.sqrt(2)  # every point off by 5% of hand size
    bad = gt[1] + 0.2 * size[1]
    both = np.stack([gt[2] + 100, gt[2] + 1.0])  # two hands: the one that matches counts
    score = fm.score_clip([good, bad, both, None], gt, detector_runs=2)
    assert score.frames == 4 and score.correct == 2 and score.no_hand == 1 and score.detector_runs == 2
    assert score.correct_share == 0.5
    errs = fm.frame_errors([good, bad, both, np.zeros((0, 21, 3))], gt)
    assert errs[0] == pytest.approx(0.05) and np.isnan(errs[3])
    total = fm.summarise([score, fm.score_clip([gt[0]], gt[:1], detector_runs=1)])
    assert total["frames"] == 5 and total["correct_share"] == 0.6 and total["detector_runs"] == 3
    with pytest.raises(ValueError):
        fm.frame_errors([None], gt)


def test_save_writes_pngs(fm: ModuleType, data_dir: Path, tmp_path: Path) -> None:
    if not (data_dir / fm.HAND_GRAPH).is_dir():
        pytest.skip("hand-graph-cnn-realworld not found")
    rc = fm.main(["--photos", "1", "--frames", "3", "--speeds", "40", "--every", "2", "--gt",
                  "--save", str(tmp_path)])
    assert rc == 0
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == 2 and pngs[0].name.endswith("_040px_000.png")
