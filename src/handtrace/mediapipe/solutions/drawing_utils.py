"""``mp.solutions.drawing_utils``: draw landmark lists on BGR images, as MediaPipe's drawing utilities do.

Same arguments, defaults and pixels: a landmark is drawn at ``floor(x * width), floor(y * height)`` (clamped
to the last row / column) when x and y lie in [0, 1] and its visibility / presence, where set, reach 0.5;
connections first (``cv2.line``), then each landmark as a white ring (radius ``max(r + 1, int(1.2 r))``)
under a disc of its colour.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

WHITE_COLOR = (224, 224, 224)
BLACK_COLOR = (0, 0, 0)
RED_COLOR = (0, 0, 255)
GREEN_COLOR = (0, 128, 0)
BLUE_COLOR = (255, 0, 0)

_VISIBILITY_THRESHOLD = 0.5
_PRESENCE_THRESHOLD = 0.5


@dataclass
class DrawingSpec:
    """Colour (BGR), line thickness and circle radius of a drawing."""

    color: tuple[int, int, int] = WHITE_COLOR
    thickness: int = 2
    circle_radius: int = 2


def _in_unit_range(value: float) -> bool:
    return (value > 0 or math.isclose(0, value)) and (value < 1 or math.isclose(1, value))


def _normalized_to_pixel_coordinates(normalized_x: float, normalized_y: float, image_width: int,
                                     image_height: int) -> tuple[int, int] | None:
    """Pixel of a normalised point, or None when it lies outside the image."""
    if not (_in_unit_range(normalized_x) and _in_unit_range(normalized_y)):
        return None
    return (min(math.floor(normalized_x * image_width), image_width - 1),
            min(math.floor(normalized_y * image_height), image_height - 1))


def _hidden(landmark: Any) -> bool:
    """Whether a landmark's visibility or presence is given and below 0.5 (then it is not drawn).

    Protobuf landmarks say whether a field is given (``HasField``); Tasks dataclasses use None, and
    MediaPipe 0.10.21 fills 0.0 for "not given", so 0.0 counts as not given there.
    """
    has = getattr(landmark, "HasField", None)
    for name, threshold in (("visibility", _VISIBILITY_THRESHOLD), ("presence", _PRESENCE_THRESHOLD)):
        value = getattr(landmark, name, None)
        given = has(name) if has is not None else value is not None and value != 0.0
        if given and value < threshold:
            return True
    return False


def _edges(connections: Iterable[Any] | None, n: int) -> list[tuple[int, int]]:
    """(start, end) of each connection (pairs, or the Tasks API's ``Connection(start, end)``), checked
    against the ``n`` landmarks."""
    edges = []
    for c in connections or ():
        a, b = (int(c.start), int(c.end)) if hasattr(c, "start") else (int(c[0]), int(c[1]))
        if not (0 <= a < n and 0 <= b < n):
            raise ValueError(f"Landmark index is out of range. Invalid connection from landmark #{a} to "
                             f"landmark #{b}.")
        edges.append((a, b))
    return edges


def _points(landmark_list: Any) -> list[Any]:
    """The landmarks of a NormalizedLandmarkList (or a plain list of landmarks, as the Tasks API gives)."""
    return list(landmark_list.landmark if hasattr(landmark_list, "landmark") else landmark_list)


def _spec(spec: DrawingSpec | Mapping[Any, DrawingSpec], key: Any) -> DrawingSpec:
    return spec[key] if isinstance(spec, Mapping) else spec


def draw_landmarks(
    image: np.ndarray,
    landmark_list: Any,
    connections: Iterable[tuple[int, int]] | None = None,
    landmark_drawing_spec: DrawingSpec | Mapping[int, DrawingSpec] | None = DrawingSpec(color=RED_COLOR),  # noqa: B008
    connection_drawing_spec: DrawingSpec | Mapping[tuple[int, int], DrawingSpec] = DrawingSpec(),  # noqa: B008
    is_drawing_landmarks: bool = True,
) -> None:
    """Draw landmarks and their connections onto ``image`` (BGR uint8 (H, W, 3)) in place.

    ``landmark_list``: a ``NormalizedLandmarkList`` (legacy) or a list of landmarks (Tasks API);
    ``connections``: index pairs or the Tasks API's ``Connection`` objects; the drawing specs are one
    :class:`DrawingSpec` or a mapping from landmark index / ``(start, end)`` pair to one.

    Raises:
        ValueError: the image does not have three channels, or a connection names a landmark that does not
            exist.
    """
    if not landmark_list:
        return
    if image.shape[2] != 3:
        raise ValueError("Input image must contain three channel bgr data.")
    rows, cols = image.shape[:2]
    points = _points(landmark_list)
    pixels: dict[int, tuple[int, int]] = {}
    for i, lm in enumerate(points):
        if _hidden(lm):
            continue
        px = _normalized_to_pixel_coordinates(lm.x, lm.y, cols, rows)
        if px is not None:
            pixels[i] = px
    for a, b in _edges(connections, len(points)):
        if a in pixels and b in pixels:
            spec = _spec(connection_drawing_spec, (a, b))
            cv2.line(image, pixels[a], pixels[b], spec.color, spec.thickness)
    if not (is_drawing_landmarks and landmark_drawing_spec):
        return
    for i, px in pixels.items():
        spec = _spec(landmark_drawing_spec, i)
        ring = max(spec.circle_radius + 1, int(spec.circle_radius * 1.2))
        cv2.circle(image, px, ring, WHITE_COLOR, spec.thickness)
        cv2.circle(image, px, spec.circle_radius, spec.color, spec.thickness)


def plot_landmarks(
    landmark_list: Any,
    connections: Iterable[tuple[int, int]] | None = None,
    landmark_drawing_spec: DrawingSpec = DrawingSpec(color=RED_COLOR, thickness=5),  # noqa: B008
    connection_drawing_spec: DrawingSpec = DrawingSpec(color=BLACK_COLOR, thickness=5),  # noqa: B008
    elevation: int = 10,
    azimuth: int = 10,
) -> None:
    """Plot world landmarks in 3D with matplotlib (needs ``matplotlib``), axes as MediaPipe's: z, x, -y."""
    if not landmark_list:
        return
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plot_landmarks needs matplotlib: pip install matplotlib") from exc
    points = _points(landmark_list)
    plt.figure(figsize=(10, 10))
    ax = plt.axes(projection="3d")
    ax.view_init(elev=elevation, azim=azimuth)
    shown: dict[int, tuple[float, float, float]] = {}
    to_rgb = [c / 255.0 for c in landmark_drawing_spec.color[::-1]]
    for i, lm in enumerate(points):
        if _hidden(lm):
            continue
        ax.scatter3D(xs=[-lm.z], ys=[lm.x], zs=[-lm.y], color=to_rgb,
                     linewidth=landmark_drawing_spec.thickness)
        shown[i] = (-lm.z, lm.x, -lm.y)
    line_rgb = [c / 255.0 for c in connection_drawing_spec.color[::-1]]
    for a, b in _edges(connections, len(points)):
        if a in shown and b in shown:
            ax.plot3D(xs=[shown[a][0], shown[b][0]], ys=[shown[a][1], shown[b][1]],
                      zs=[shown[a][2], shown[b][2]], color=line_rgb,
                      linewidth=connection_drawing_spec.thickness)
    plt.show()
