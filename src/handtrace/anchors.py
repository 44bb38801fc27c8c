"""SSD anchors of the palm detector (MediaPipe's ``SsdAnchorsCalculator``, palm_detection_cpu.pbtxt options).

Anchors are ``(x_center, y_center, width, height)`` in coordinates normalised to the 192x192 model input.
Consecutive layers that share a stride share one feature map; each layer adds one anchor per aspect ratio
plus one "interpolated" anchor between its scale and the next layer's, so the palm model gets
24x24x2 + 12x12x6 = 2016 anchors. The network is fully convolutional: at the 128x128 input of the
full-frame fallback (:mod:`handtrace.tracker`) it has 16x16x2 + 8x8x6 = 896.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: Palm detector anchor options (mediapipe/modules/palm_detection/palm_detection_cpu.pbtxt).
PALM_INPUT_SIZE = 192
PALM_STRIDES = (8, 16, 16, 16)
PALM_MIN_SCALE = 0.1484375
PALM_MAX_SCALE = 0.75


def _layer_scale(min_scale: float, max_scale: float, index: int, num_layers: int) -> float:
    # Linear interpolation over layers; a single layer takes the midpoint.
    if num_layers == 1:
        return (min_scale + max_scale) / 2
    return min_scale + (max_scale - min_scale) * index / (num_layers - 1)


def ssd_anchors(
    input_size: int = PALM_INPUT_SIZE,
    strides: tuple[int, ...] = PALM_STRIDES,
    min_scale: float = PALM_MIN_SCALE,
    max_scale: float = PALM_MAX_SCALE,
    aspect_ratios: tuple[float, ...] = (1.0,),
    interpolated_scale_aspect_ratio: float = 1.0,
    offset: float = 0.5,
    fixed_anchor_size: bool = True,
) -> np.ndarray:
    """Generate SSD anchors for a square input.

    Returns:
        (A, 4) float32 ``x_center, y_center, width, height`` (normalised), ordered feature map by feature map,
        then row, column, anchor - the order of the model's output rows.
    """
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
        cells = math.ceil(input_size / stride)
        centers = (np.arange(cells, dtype=np.float64) + offset) / cells
        cy, cx = np.meshgrid(centers, centers, indexing="ij")  # row-major: y outer, x inner
        wh = np.ones((len(sizes), 2)) if fixed_anchor_size else np.asarray(sizes)
        block = np.empty((cells, cells, len(sizes), 4))
        block[..., 0] = cx[..., None]
        block[..., 1] = cy[..., None]
        block[..., 2:] = wh
        blocks.append(block.reshape(-1, 4))
    return np.concatenate(blocks).astype(np.float32)


@lru_cache(maxsize=4)
def palm_anchors(input_size: int = PALM_INPUT_SIZE) -> np.ndarray:
    """The palm detector's anchors for a square input of ``input_size`` pixels, computed once per size
    (read-only array): (2016, 4) float32 for the model's 192x192 input, (896, 4) for the 128x128 one.
    """
    anchors = ssd_anchors(input_size)
    anchors.setflags(write=False)
    return anchors
