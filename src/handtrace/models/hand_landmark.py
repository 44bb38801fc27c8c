"""MediaPipe's hand landmark network: a MobileNetV2-style encoder with four fully connected heads.

Input (N, 224, 224, 3) RGB in [0, 1], NHWC like the TFLite original (the exported ONNX takes
8-bit pixels and scales them itself, see :mod:`image_input`). Outputs:
    landmarks (N, 63): 21 x (x, y, z) in input pixels;
    presence (N, 1): hand presence probability;
    handedness (N, 1): probability that the hand is a right hand in a mirrored (selfie) image;
    world_landmarks (N, 63): 21 x (x, y, z) in metres, origin near the hand's centre.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from handtrace.models.layers import SamePadConv2d, depthwise, pointwise


class BlockSpec(NamedTuple):
    expanded: int
    out: int
    kernel: int
    stride: int
    pooled_shortcut: bool = False  # lite model: a stride-2 block with a max-pool residual


class InvertedResidual(nn.Module):
    """1x1 expand (ReLU6), depthwise (ReLU6), 1x1 linear projection; residual when shapes allow."""

    def __init__(self, in_channels: int, spec: BlockSpec) -> None:
        super().__init__()
        self.expand = pointwise(in_channels, spec.expanded)
        self.depthwise = depthwise(spec.expanded, spec.kernel, spec.stride)
        self.project = pointwise(spec.expanded, spec.out)
        self.pooled_shortcut = spec.pooled_shortcut
        self.residual = spec.stride == 1 and in_channels == spec.out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(F.relu6(self.depthwise(F.relu6(self.expand(x)))))
        if self.residual:
            return y + x
        if self.pooled_shortcut:
            return y + F.max_pool2d(x, 2)
        return y

    def tflite_layers(self) -> list[nn.Module]:
        return [self.expand, self.depthwise, self.project]


class Stem(nn.Module):
    """3x3 stride-2 conv, then a depthwise-separable block without expansion."""

    def __init__(self, width: int = 24, out_channels: int = 16) -> None:
        super().__init__()
        self.conv = SamePadConv2d(3, width, 3, stride=2)
        self.depthwise = depthwise(width, 3)
        self.project = pointwise(width, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(F.relu6(self.depthwise(F.relu6(self.conv(x)))))

    def tflite_layers(self) -> list[nn.Module]:
        return [self.conv, self.depthwise, self.project]


class FeatureHead(nn.Module):
    """Last expansion and depthwise conv (both ReLU6), then global average pooling."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.expand = pointwise(in_channels, width)
        self.depthwise = depthwise(width, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self.depthwise(F.relu6(self.expand(x)))).mean(dim=(2, 3))

    def tflite_layers(self) -> list[nn.Module]:
        return [self.expand, self.depthwise]


FULL_BLOCKS: tuple[BlockSpec, ...] = (
    BlockSpec(64, 24, 3, 2), BlockSpec(144, 24, 3, 1),
    BlockSpec(144, 40, 5, 2), BlockSpec(240, 40, 5, 1),
    BlockSpec(240, 80, 3, 2), BlockSpec(480, 80, 3, 1), BlockSpec(480, 80, 3, 1),
    BlockSpec(480, 112, 5, 1), BlockSpec(672, 112, 5, 1), BlockSpec(672, 112, 5, 1),
    BlockSpec(672, 192, 5, 2), BlockSpec(1152, 192, 5, 1), BlockSpec(1152, 192, 5, 1),
    BlockSpec(1152, 192, 5, 1),
)  # fmt: skip

LITE_BLOCKS: tuple[BlockSpec, ...] = (
    BlockSpec(64, 16, 3, 2, pooled_shortcut=True), BlockSpec(96, 16, 3, 1),
    BlockSpec(96, 24, 5, 2), BlockSpec(144, 24, 5, 1),
    BlockSpec(144, 48, 3, 2), BlockSpec(288, 48, 3, 1), BlockSpec(288, 48, 3, 1),
    BlockSpec(288, 64, 5, 1), BlockSpec(384, 64, 5, 1), BlockSpec(384, 64, 5, 1),
    BlockSpec(384, 112, 5, 2), BlockSpec(672, 112, 5, 1), BlockSpec(672, 112, 5, 1),
    BlockSpec(672, 112, 5, 1),
)  # fmt: skip


class HandLandmarkNet(nn.Module):
    """The landmark network; ``HandLandmarkNet.full()`` and ``HandLandmarkNet.lite()`` build the two sizes."""

    def __init__(self, blocks: tuple[BlockSpec, ...], head_width: int) -> None:
        super().__init__()
        self.stem = Stem()
        layers, channels = [], 16
        for spec in blocks:
            layers.append(InvertedResidual(channels, spec))
            channels = spec.out
        self.blocks = nn.Sequential(*layers)
        self.features = FeatureHead(channels, head_width)
        self.handedness = nn.Linear(head_width, 1)
        self.presence = nn.Linear(head_width, 1)
        self.landmarks = nn.Linear(head_width, 63)
        self.world_landmarks = nn.Linear(head_width, 63)

    @classmethod
    def full(cls) -> HandLandmarkNet:
        return cls(FULL_BLOCKS, 1152)

    @classmethod
    def lite(cls) -> HandLandmarkNet:
        return cls(LITE_BLOCKS, 672)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.features(self.blocks(self.stem(image.permute(0, 3, 1, 2))))
        return (
            self.landmarks(x),
            torch.sigmoid(self.presence(x)),
            torch.sigmoid(self.handedness(x)),
            self.world_landmarks(x),
        )

    def tflite_layers(self) -> list[nn.Module]:
        """Parametric layers in the order the TFLite graph runs them (for weight loading)."""
        layers = self.stem.tflite_layers()
        for block in self.blocks:
            layers += block.tflite_layers()
        layers += self.features.tflite_layers()
        return [*layers, self.handedness, self.presence, self.landmarks, self.world_landmarks]
