"""Hand regions of interest: rotated squares in image pixels, from palm detections or from landmarks.

A region is a row ``cx, cy, width, height, rotation`` (pixels, radians). ``rotation`` turns the crop's axes in
the image: the crop's x axis points along ``(cos r, sin r)`` and its y axis along ``(-sin r, cos r)`` (image y
down), so a hand whose fingers point along ``-y`` of the crop (up) is upright in it.

Follows MediaPipe's palm_detection_detection_to_roi.pbtxt (``DetectionsToRectsCalculator`` +
``RectTransformationCalculator``), hand_landmark_landmarks_to_roi.pbtxt (``HandLandmarksToRectCalculator``)
and the crop geometry of ``ImageToTensorCalculator``. Everything is computed in pixels, so non-square images
need no special care.
"""

from __future__ import annotations

import numpy as np

#: Detection -> region (palm_detection_detection_to_roi.pbtxt).
DETECTION_SCALE = 2.6
DETECTION_SHIFT_Y = -0.5
#: Landmarks -> region (hand_landmark_landmarks_to_roi.pbtxt).
LANDMARK_SCALE = 2.0
LANDMARK_SHIFT_Y = -0.1
#: The landmarks that bound the tracking region: wrist, thumb CMC/MCP/IP, then MCP and PIP of each finger.
ROI_LANDMARKS = np.array([0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18])
TARGET_ANGLE = np.pi / 2


def normalize_radians(angle: np.ndarray) -> np.ndarray:
    """Wrap angles (any shape) into [-pi, pi)."""
    return angle - 2 * np.pi * np.floor((angle + np.pi) / (2 * np.pi))


def rotation_from_points(start: np.ndarray, end: np.ndarray, target: float = TARGET_ANGLE) -> np.ndarray:
    """Rotation making the vector ``start -> end`` (pixels, (..., 2)) point up in the crop. Returns (...,)."""
    d = end - start
    return normalize_radians(target - np.arctan2(-d[..., 1], d[..., 0]))


def transform_rects(
    rects: np.ndarray, scale: float, shift_y: float = 0.0, shift_x: float = 0.0, square_long: bool = True
) -> np.ndarray:
    """MediaPipe's ``RectTransformationCalculator`` in pixels.

    Shifts each rect along its own rotated axes (in units of its width/height), squares it on its long side
    and scales it. rects: (K, 5) -> (K, 5).
    """
    cx, cy, w, h, r = np.moveaxis(np.asarray(rects, np.float64), -1, 0)
    cos, sin = np.cos(r), np.sin(r)
    dx, dy = w * shift_x, h * shift_y
    cx = cx + dx * cos - dy * sin
    cy = cy + dx * sin + dy * cos
    if square_long:
        w = h = np.maximum(w, h)
    return np.stack([cx, cy, w * scale, h * scale, r], axis=-1)


def detection_to_roi(
    boxes: np.ndarray,
    keypoints: np.ndarray,
    scale: float = DETECTION_SCALE,
    shift_y: float = DETECTION_SHIFT_Y,
) -> np.ndarray:
    """Regions for the landmark model from palm detections.

    Args:
        boxes: (K, 4) ``x_min, y_min, x_max, y_max`` pixels. keypoints: (K, 7, 2) palm keypoints, pixels.

    Returns:
        (K, 5) float64 regions: the box, rotated so wrist (0) -> middle MCP (2) points up, shifted half a box
        towards the fingers, squared and scaled to hold the whole hand.
    """
    boxes = np.asarray(boxes, np.float64)
    keypoints = np.asarray(keypoints, np.float64)
    rotation = rotation_from_points(keypoints[:, 0], keypoints[:, 2])
    rects = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
                      boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1], rotation], axis=-1)
    return transform_rects(rects, scale, shift_y)


def landmarks_to_rect(landmarks: np.ndarray) -> np.ndarray:
    """Tight rotated rectangle around a stable subset of the 21 landmarks (``HandLandmarksToRectCalculator``).

    Args:
        landmarks: (K, 21, 2+) pixels (only x, y are used).

    Returns:
        (K, 5) float64 rects, rotated so wrist -> mean of (mean of index and ring MCP, middle MCP) points up.
    """
    pts = np.asarray(landmarks, np.float64)[:, ROI_LANDMARKS, :2]
    target = ((pts[:, 4] + pts[:, 8]) / 2 + pts[:, 6]) / 2  # subset indices 4, 6, 8 = landmarks 5, 9, 13
    rotation = rotation_from_points(pts[:, 0], target)
    # Bounds in the rotated frame, measured from the axis-aligned box centre (as MediaPipe does).
    centre = (pts.min(axis=1) + pts.max(axis=1)) / 2
    cos, sin = np.cos(rotation)[:, None], np.sin(rotation)[:, None]
    rel = pts - centre[:, None]
    # Rotate by -rotation: crop-frame coordinates.
    u = rel[..., 0] * cos + rel[..., 1] * sin
    v = -rel[..., 0] * sin + rel[..., 1] * cos
    u_mid, v_mid = (u.min(1) + u.max(1)) / 2, (v.min(1) + v.max(1)) / 2
    cx = centre[:, 0] + u_mid * cos[:, 0] - v_mid * sin[:, 0]
    cy = centre[:, 1] + u_mid * sin[:, 0] + v_mid * cos[:, 0]
    return np.stack([cx, cy, u.max(1) - u.min(1), v.max(1) - v.min(1), rotation], axis=-1)


def landmarks_to_roi(
    landmarks: np.ndarray, scale: float = LANDMARK_SCALE, shift_y: float = LANDMARK_SHIFT_Y
) -> np.ndarray:
    """Tracking region (the next crop) from 21 landmarks (K, 21, 2+) in pixels. Returns (K, 5) float64."""
    return transform_rects(landmarks_to_rect(landmarks), scale, shift_y)


def crop_to_image_matrices(rois: np.ndarray, size: int) -> np.ndarray:
    """(K, 2, 3) affine matrices taking crop pixels of a (size x size) crop of each region to image pixels.

    Crop corners (0, 0) and (size, size) are the region's corners (edge-to-edge, as MediaPipe's
    ``cv::getPerspectiveTransform`` of the rect corners).
    """
    cx, cy, w, h, r = np.moveaxis(np.asarray(rois, np.float64), -1, 0)
    cos, sin = np.cos(r), np.sin(r)
    sx, sy = w / size, h / size
    m = np.empty((len(cx), 2, 3))
    m[:, 0, 0], m[:, 0, 1] = cos * sx, -sin * sy
    m[:, 1, 0], m[:, 1, 1] = sin * sx, cos * sy
    # The crop centre (size/2, size/2) lands on the region centre.
    m[:, 0, 2] = cx - (m[:, 0, 0] + m[:, 0, 1]) * size / 2
    m[:, 1, 2] = cy - (m[:, 1, 0] + m[:, 1, 1]) * size / 2
    return m


def invert_affine(matrices: np.ndarray) -> np.ndarray:
    """Invert (K, 2, 3) affine matrices. Returns (K, 2, 3)."""
    a, b, c, d = matrices[:, 0, 0], matrices[:, 0, 1], matrices[:, 1, 0], matrices[:, 1, 1]
    det = a * d - b * c  # closed form: np.linalg.inv costs more than the whole 2x2 arithmetic
    inv = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], 1) / det[:, None, None]
    t = -np.einsum("kij,kj->ki", inv, matrices[:, :, 2])
    return np.concatenate([inv, t[:, :, None]], axis=2)


def image_to_crop_matrices(rois: np.ndarray, size: int) -> np.ndarray:
    """(K, 2, 3) affine matrices taking image pixels to crop pixels (what ``cv2.warpAffine`` wants)."""
    return invert_affine(crop_to_image_matrices(rois, size))


def apply_affine(matrices: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply (K, 2, 3) matrices to points (K, P, 2). Returns (K, P, 2)."""
    return np.einsum("kij,kpj->kpi", matrices[:, :, :2], points) + matrices[:, None, :, 2]
