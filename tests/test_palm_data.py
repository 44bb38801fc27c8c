"""Palm detector training frames (numpy + OpenCV): composition keeps the ground truth on the pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from handtrace.evaluation import palm_box
from handtrace.training.data import HandLabel, Sample
from handtrace.training.palm_data import (
    ComposeConfig,
    HandPhoto,
    compose,
    frame_targets,
    letterboxed,
    load_backgrounds,
    photos_from_samples,
    synthetic_texture,
)


def _red_hand_photo() -> HandPhoto:
    """A grey photo with a red square exactly where the hand's palm box is."""
    image = np.full((120, 160, 3), 128, np.uint8)
    hand = np.full((21, 2), np.nan)
    hand[[0, 5, 9, 13, 17, 1, 2]] = [[70, 70], [50, 40], [60, 38], [70, 40], [80, 44], [45, 60], [42, 50]]
    hand[[8, 12]] = [[50, 15], [60, 12]]
    x0, y0, x1, y1 = palm_box(hand).astype(int)
    image[y0:y1, x0:x1] = (255, 0, 0)
    return HandPhoto(image, hand[None], "red")


def test_letterboxed_photo_maps_ground_truth_like_the_runtime():
    photo = _red_hand_photo()
    frame = letterboxed(photo, 192)
    assert frame.image.shape == (192, 192, 3)
    # 160x120 fits 192 wide: scale 1.2, 24 px of border above and below.
    expected = (palm_box(photo.hands[0]) * 1.2 + [0, 24, 0, 24]) / 192
    np.testing.assert_allclose(frame.boxes[0], expected, atol=1e-5)
    assert (frame.image[:20] == 0).all()  # the zero border


def test_composed_palm_boxes_sit_on_the_pasted_pixels():
    photo = _red_hand_photo()
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(30):
        f = compose(rng, [photo], [], 192, ComposeConfig(empty=0.0, min_palm=0.3, full_rotation=0.0))
        for box in f.boxes:
            cx, cy = ((box[:2] + box[2:]) / 2 * 192).astype(int)
            if 0 <= cx < 192 and 0 <= cy < 192:
                r, g, b = f.image[cy, cx].astype(int)
                # The box centre is on the red square (colour jitter and blur may shift it, not turn it grey).
                assert r > g + 40 and r > b + 40, (r, g, b)
                checked += 1
        labels, regressors = frame_targets(f, 192)
        assert (labels == 1).sum() >= len(f.boxes) and regressors.shape == (2016, 18)
    assert checked >= 20


def test_empty_frames_have_no_palms_and_only_negatives():
    f = compose(np.random.default_rng(0), [_red_hand_photo()], [], 128, ComposeConfig(empty=1.0))
    assert len(f.boxes) == 0
    labels, _ = frame_targets(f, 128)
    assert (labels == 0).all()


def test_synthetic_textures_vary():
    rng = np.random.default_rng(0)
    textures = [synthetic_texture(rng, 40, 60) for _ in range(8)]
    assert all(t.shape == (40, 60, 3) and t.dtype == np.uint8 for t in textures)
    assert len({t.tobytes() for t in textures}) == 8


def test_photos_from_annotation_samples_hide_unlabelled_points(tmp_path: Path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((50, 60, 3), np.uint8))
    visible = np.ones(21, bool)
    visible[3] = False
    hand = HandLabel(np.full((21, 2), 10, np.float32), visible)
    (photo,) = photos_from_samples([Sample(path, [hand], "a.json#0")])
    assert photo.image.shape == (50, 60, 3) and photo.name == "a.json#0"
    assert np.isnan(photo.hands[0, 3]).all() and not np.isnan(photo.hands[0, 4]).any()


def test_backgrounds_from_images_and_videos(tmp_path: Path):
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((30, 40, 3), np.uint8))
    writer = cv2.VideoWriter(str(tmp_path / "b.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(12):
        writer.write(np.full((24, 32, 3), i * 20, np.uint8))
    writer.release()
    backgrounds = load_backgrounds([tmp_path], frames_per_video=3)
    assert len(backgrounds) == 4
    with pytest.raises(FileNotFoundError, match="missing"):
        load_backgrounds([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        load_backgrounds([tmp_path / "empty"])
