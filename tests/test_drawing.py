"""draw_hands: draws where the landmarks are, never modifies its input."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace import Hand, draw_hands
from handtrace.drawing import FINGER_COLORS, hand_label


def make_hand(**kw: object) -> Hand:
    # a loose open hand, wrist at the bottom, within (60..180, 80..220)
    xy = np.array(
        [[120, 220]]
        + [[80 - 5 * i, 190 - 20 * i] for i in range(4)]
        + [[100 + 10 * f, 150 - 20 * i] for f in range(4) for i in range(4)],
        np.float32,
    )
    lm = np.c_[xy, np.zeros(21, np.float32)]
    box = np.r_[xy.min(0), xy.max(0)].astype(np.float32)
    args: dict = dict(
        landmarks=lm,
        world_landmarks=np.zeros((21, 3), np.float32),
        handedness="Right",
        handedness_score=0.9,
        presence=0.97,
        detection_score=0.8,
        box=box,
    )
    args.update(kw)
    return Hand(**args)


def test_draws_at_landmarks_without_touching_input() -> None:
    img = np.zeros((240, 320, 3), np.uint8)
    hand = make_hand()
    out = draw_hands(img, [hand])
    assert img.sum() == 0  # input untouched
    assert out.shape == img.shape and out.dtype == np.uint8 and out is not img
    for x, y in hand.landmarks[:, :2].astype(int):
        assert out[y, x].any(), (x, y)
    # landmark dots are filled with their finger's colour: index tip (8) and the wrist (0)
    dots = draw_hands(img, [hand], box=False, labels=False)
    x, y = hand.landmarks[8, :2].astype(int)
    assert tuple(dots[y, x]) == FINGER_COLORS[2]
    x, y = hand.landmarks[0, :2].astype(int)
    assert tuple(dots[y, x]) == FINGER_COLORS[0]
    # far from the hand nothing is drawn
    assert not out[:, 260:].any()


def test_empty_list_returns_equal_copy() -> None:
    img = np.random.default_rng(0).integers(0, 255, (50, 60, 3), dtype=np.uint8)
    out = draw_hands(img, [])
    assert out is not img
    np.testing.assert_array_equal(out, img)


def test_options_turn_parts_off() -> None:
    img = np.zeros((240, 320, 3), np.uint8)
    hand = make_hand()
    nothing = draw_hands(img, [hand], landmarks=False, skeleton=False, labels=False, box=False)
    assert not nothing.any()
    only_box = draw_hands(img, [hand], landmarks=False, skeleton=False, labels=False)
    x0, y0, x1, y1 = hand.box.astype(int)
    assert only_box[y0, (x0 + x1) // 2].any() and not only_box[(y0 + y1) // 2, (x0 + x1) // 2].any()
    with_label = draw_hands(img, [hand], landmarks=False, skeleton=False, box=False)
    assert with_label[: y0 - 1].any()  # the label sits above the box


def test_label_text_and_line_width_scale() -> None:
    assert hand_label(make_hand()) == "Right 0.97"
    assert hand_label(make_hand(id=3, gesture="Victory", gesture_score=0.81)) == "#3 Right 0.97 Victory 0.81"
    small = draw_hands(
        np.zeros((240, 320, 3), np.uint8), [make_hand()], landmarks=False, labels=False, box=False
    )
    big_hand = make_hand(landmarks=make_hand().landmarks * 10, box=make_hand().box * 10)
    big = draw_hands(
        np.zeros((2400, 3200, 3), np.uint8), [big_hand], landmarks=False, labels=False, box=False
    )
    # ten times the size: lines are thicker, so more than ten times the pixels change
    assert big.any(axis=2).sum() > 10 * 1.5 * small.any(axis=2).sum()


def test_rejects_bad_shape() -> None:
    with pytest.raises(ValueError):
        draw_hands(np.zeros((10, 10, 2), np.uint8), [])
