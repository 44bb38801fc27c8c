"""Draw :class:`~handtrace.results.Hand` results onto images (OpenCV, RGB in, RGB out)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from handtrace.results import HAND_CONNECTIONS, Hand

__all__ = ["FINGER_COLORS", "draw_hands", "hand_label"]

#: RGB colour per part: palm, thumb, index, middle, ring, pinky.
FINGER_COLORS: tuple[tuple[int, int, int], ...] = (
    (200, 200, 200),
    (255, 128, 0),
    (255, 220, 0),
    (40, 200, 60),
    (0, 150, 255),
    (200, 60, 255),
)

#: Part of each of the 21 landmarks: 0 palm (wrist), 1..5 thumb..pinky.
_LANDMARK_PART = np.array([0] + [1 + i // 4 for i in range(20)])


def _edge_part(a: int, b: int) -> int:
    """Edges between two fingers' bases (and wrist edges to a base) belong to the palm."""
    pa, pb = _LANDMARK_PART[a], _LANDMARK_PART[b]
    if pa == pb:
        return int(pa)
    # wrist -> thumb CMC is drawn as thumb; the other base-to-base / wrist edges are palm.
    return 1 if {a, b} == {0, 1} else 0


_EDGE_PART = tuple(_edge_part(a, b) for a, b in HAND_CONNECTIONS)


def hand_label(hand: Hand) -> str:
    """Label text: handedness and score, then track id and gesture when present."""
    text = f"{hand.handedness} {hand.score:.2f}"
    if hand.id is not None:
        text = f"#{hand.id} {text}"
    if hand.gesture is not None:
        text += f" {hand.gesture} {hand.gesture_score:.2f}"
    return text


def _scale(shape: tuple[int, ...]) -> int:
    """Line thickness in px for an image of this size (1 px up to ~400 px, growing with size)."""
    return max(1, round(max(shape[:2]) / 400))


def _label_baseline(pts: np.ndarray, box: tuple[int, int, int, int], x: int, width: int, above: int,
                    below: int, height: int, t: int) -> int:
    """Baseline y of a hand's label box: above the hand's box when there is room, else below it, else
    inside it where it covers the fewest landmarks (a hand at the top of the frame keeps its fingertips
    visible). ``pts`` (21, 2) int landmarks; the label spans ``x .. x + width`` and ``baseline - above ..
    baseline + below``."""
    _, y0, _, y1 = box
    candidates = [y0 - below - t, y1 + above + t, y0 + above + t, y1 - below - t]
    fits = [y for y in candidates if y - above >= 0 and y + below <= height - 1]
    if not fits:
        return candidates[2]
    inside_x = (pts[:, 0] >= x) & (pts[:, 0] <= x + width)

    def covered(y: int) -> int:
        return int(np.count_nonzero(inside_x & (pts[:, 1] >= y - above) & (pts[:, 1] <= y + below)))

    return min(fits, key=covered)  # the first candidate among the least covering


def draw_hands(
    image_rgb: np.ndarray,
    hands: Sequence[Hand],
    *,
    landmarks: bool = True,
    skeleton: bool = True,
    labels: bool = True,
    box: bool = True,
) -> np.ndarray:
    """A copy of ``image_rgb`` (H, W, 3 uint8) with ``hands`` drawn on it; the input is not modified.

    Skeleton edges and landmark dots are coloured per finger (:data:`FINGER_COLORS`); the box and
    label use the hand's thumb-side colour (orange for right hands, blue for left ones).
    """
    image = np.array(image_rgb, dtype=np.uint8, copy=True, order="C")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image_rgb.shape}")
    t = _scale(image.shape)
    radius = t + 2
    font_scale = 0.4 * t + 0.1
    for hand in hands:
        pts = np.round(np.asarray(hand.landmarks, np.float64)[:, :2]).astype(np.int32)
        side_color = (255, 128, 0) if hand.handedness == "Right" else (0, 150, 255)
        if skeleton:
            for (a, b), part in zip(HAND_CONNECTIONS, _EDGE_PART, strict=True):
                cv2.line(image, tuple(pts[a]), tuple(pts[b]), FINGER_COLORS[part], t, cv2.LINE_AA)
        if landmarks:
            for p, part in zip(pts, _LANDMARK_PART, strict=True):
                cv2.circle(image, tuple(p), radius, FINGER_COLORS[part], -1, cv2.LINE_AA)
                cv2.circle(image, tuple(p), radius, (255, 255, 255), max(1, t // 2), cv2.LINE_AA)
        x0, y0, x1, y1 = np.round(np.asarray(hand.box, np.float64)).astype(int)
        if box:
            cv2.rectangle(image, (x0, y0), (x1, y1), side_color, t, cv2.LINE_AA)
        if labels:
            text = hand_label(hand)
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, t)
            tx = int(np.clip(x0, 0, max(0, image.shape[1] - tw - 2 * t)))
            ty = _label_baseline(pts, (x0, y0, x1, y1), tx, tw + 2 * t, th + t, base, image.shape[0], t)
            cv2.rectangle(image, (tx, ty - th - t), (tx + tw + 2 * t, ty + base), side_color, -1)
            cv2.putText(
                image, text, (tx + t, ty), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), t, cv2.LINE_AA
            )
    return image
