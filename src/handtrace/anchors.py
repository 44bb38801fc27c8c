"""SSD anchors of the palm detector (MediaPipe's ``SsdAnchorsCalculator``, palm_detection_cpu.pbtxt options).

Anchors are ``(x_center, y_center, width, height)`` in coordinates normalised to the model input (x by its
width, y by its height). Consecutive layers that share a stride share one feature map; each layer adds one
anchor per aspect ratio plus one "interpolated" anchor between its scale and the next layer's, so the palm
model gets 24x24x2 + 12x12x6 = 2016 anchors at MediaPipe's 192x192 input. The network is fully
convolutional and :mod:`handtrace.detection` feeds it inputs that fit the image, e.g. 128 high and 192
wide for a 3:2 photo: 16x24x2 + 8x12x6 = 1344 anchors.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: Palm detector anchor options (mediapipe/modules/palm_detection/palm_detection_cpu.pbtxt).
PALM_INPUT_SIZE = 192
PALM_STRIDES = (8, 16, 16, 16)
#: The palm network takes input sides that are multiples of this (its coarsest feature map is 1/32 scale).
PALM_SIZE_MULTIPLE = 32
PALM_MIN_SCALE = 0.1484375
PALM_MAX_SCALE = 0.75


def input_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` of a model input given as a side or as ``(height, width)``."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _layer_scale(min_scale: float, max_scale: float, index: int, num_layers: int) -> float:
    # Linear interpolation over layers; a single layer takes the midpoint.
    if num_layers == 1:
        return (min_scale + max_scale) / 2
    return min_scale + (max_scale - min_scale) * index / (num_layers - 1)


def ssd_anchors(
    input_size: int | tuple[int, int] = PALM_INPUT_SIZE,
    strides: tuple[int, ...] = PALM_STRIDES,
    min_scale: float = PALM_MIN_SCALE,
    max_scale: float = PALM_MAX_SCALE,
    aspect_ratios: tuple[float, ...] = (1.0,),
    interpolated_scale_aspect_ratio: float = 1.0,
    offset: float = 0.5,
    fixed_anchor_size: bool = True,
) -> np.ndarray:
    """Generate SSD anchors for an input of ``input_size`` pixels: a side, or ``(height, width)``.

    Returns:
        (A, 4) float32 ``x_center, y_center, width, height`` (normalised), ordered feature map by feature map,
        then row, column, anchor - the order of the model's output rows.
    """
    height, width = input_hw(input_size)
    num_layers = len(strides)
    blocks: list[np.ndarray] = []
    layer = 0
    while layer < num_layers:
        stride = strides[layer]
        sizes: list[tuple[float, float]] = []  # (width, height) of each anchor at one cell
        while layer < num_layers and strides[layer] == stride:
            scale = _layer_scale(min_scale, max_scale, layer, num_layers)
            for ratio in aspect_ratios:
                sizes.append((scale * math.sqrt(ratio), scale / math.sqrt(ratio)))
            if interpolated_scale_aspect_ratio > 0:
                last = layer == num_layers - 1
                nxt = 1.0 if last else _layer_scale(min_scale, max_scale, layer + 1, num_layers)
                s = math.sqrt(scale * nxt)
                r = math.sqrt(interpolated_scale_aspect_ratio)
                sizes.append((s * r, s / r))
            layer += 1
        rows, columns = math.ceil(height / stride), math.ceil(width / stride)
        cy, cx = np.meshgrid((np.arange(rows, dtype=np.float64) + offset) / rows,
                             (np.arange(columns, dtype=np.float64) + offset) / columns,
                             indexing="ij")  # row-major: y outer, x inner
        wh = np.ones((len(sizes), 2)) if fixed_anchor_size else np.asarray(sizes)
        block = np.empty((rows, columns, len(sizes), 4))
        block[..., 0] = cx[..., None]
        block[..., 1] = cy[..., None]
        block[..., 2:] = wh
        blocks.append(block.reshape(-1, 4))
    return np.concatenate(blocks).astype(np.float32)


@lru_cache(maxsize=16)
def palm_anchors(height: int = PALM_INPUT_SIZE, width: int | None = None) -> np.ndarray:
    """The palm detector's anchors for an input ``height`` x ``width`` pixels (square when ``width`` is
    None), computed once per size (read-only array): (2016, 4) float32 at 192x192, (1344, 4) at 128x192.
    """
    anchors = ssd_anchors((height, height if width is None else width))
    anchors.setflags(write=False)
    return anchors
