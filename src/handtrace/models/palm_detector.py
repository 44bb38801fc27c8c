"""BlazePalm, MediaPipe's palm detector: a BlazeNet backbone with a two-level feature-pyramid decoder.

Input (N, 192, 192, 3) RGB in [0, 1], NHWC like the TFLite original (the exported ONNX takes
8-bit pixels and scales them itself, see :mod:`image_input`). Outputs, in anchor order
(24x24 cells x 2 anchors, then 12x12 cells x 6 anchors = 2016):
    regressors (N, 2016, 18): box centre offset, size, and 7 keypoint offsets, in input pixels;
    scores (N, 2016, 1): classification logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from handtrace.models.layers import FastPReLU, SamePadConv2d, depthwise, pointwise


class BlazeBlock(nn.Module):
    """5x5 depthwise + 1x1 conv with a residual, then PReLU.

    A stride-2 block halves the resolution; its shortcut is a 2x2 max-pool, zero-padded in channels
    when the block widens.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = out_channels - in_channels
        self.depthwise = depthwise(in_channels, 5, stride)
        self.pointwise = pointwise(in_channels, out_channels)
        self.act = FastPReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.stride == 2:
            shortcut = F.max_pool2d(shortcut, 2)
        features = self.depthwise(x)
        if not self.extra_channels:
            return self.act(shortcut + self.pointwise(features))
        # Adding the shortcut to the first output channels only is the zero padding without a Pad op: a
        # channel Pad takes onnxruntime out of its blocked layout (two conversions and a slow add).
        c = shortcut.shape[1]
        weight, bias = self.pointwise.weight, self.pointwise.bias
        widened = F.conv2d(features, weight[:c], bias[:c]) + shortcut
        added = F.conv2d(features, weight[c:], bias[c:])
        return self.act(torch.cat([widened, added], dim=1))

    def tflite_layers(self) -> list[nn.Module]:
        return [self.depthwise, self.pointwise, self.act]


class BlazeStage(nn.Sequential):
    """A stride-2 BlazeBlock (unless ``downsample`` is False) followed by ``depth`` stride-1 blocks."""

    def __init__(self, in_channels: int, out_channels: int, depth: int, downsample: bool = True) -> None:
        blocks = [BlazeBlock(in_channels, out_channels, 2)] if downsample else []
        blocks += [BlazeBlock(out_channels, out_channels) for _ in range(depth)]
        super().__init__(*blocks)

    def tflite_layers(self) -> list[nn.Module]:
        return [m for block in self for m in block.tflite_layers()]


class UpsampleMerge(nn.Module):
    """Decoder step: 2x bilinear upsample, 1x1 conv + PReLU, add the encoder's skip feature."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = pointwise(in_channels, out_channels)
        self.act = FastPReLU(out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # align_corners=False is TF's half_pixel_centers=True, as in the original graph.
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return skip + self.act(self.conv(x))

    def tflite_layers(self) -> list[nn.Module]:
        return [self.conv, self.act]


class DetectionHead(nn.Module):
    """Per-cell anchor scores and regressors, flattened to (N, cells * anchors, ...) in NHWC order."""

    def __init__(self, channels: int, anchors_per_cell: int, values_per_anchor: int = 18) -> None:
        super().__init__()
        self.values = values_per_anchor
        self.classifier = pointwise(channels, anchors_per_cell)
        self.regressor = pointwise(channels, anchors_per_cell * values_per_anchor)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[0]
        scores = self.classifier(x).permute(0, 2, 3, 1).reshape(n, -1, 1)
        boxes = self.regressor(x).permute(0, 2, 3, 1).reshape(n, -1, self.values)
        return boxes, scores

    def tflite_layers(self) -> list[nn.Module]:
        return [self.classifier, self.regressor]


class PalmDetector(nn.Module):
    """BlazePalm. ``depth`` is the number of stride-1 blocks per stage: 4 (full) or 3 (lite)."""

    def __init__(self, depth: int = 4) -> None:
        super().__init__()
        self.stem = SamePadConv2d(3, 32, 5, stride=2)
        self.stem_act = FastPReLU(32)
        self.stage96 = BlazeStage(32, 32, depth, downsample=False)  # 96x96
        self.stage48 = BlazeStage(32, 64, depth)  # 48x48
        self.stage24 = BlazeStage(64, 128, depth)  # 24x24, skip to the fine head
        self.stage12 = BlazeStage(128, 256, depth)  # 12x12, skip to the coarse head
        self.stage6 = BlazeStage(256, 256, depth)  # 6x6
        self.up12 = UpsampleMerge(256, 256)
        self.decoder12 = BlazeStage(256, 256, 2, downsample=False)
        self.head12 = DetectionHead(256, 6)
        self.up24 = UpsampleMerge(256, 128)
        self.decoder24 = BlazeStage(128, 128, 2, downsample=False)
        self.head24 = DetectionHead(128, 2)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = image.permute(0, 3, 1, 2)
        x = self.stem_act(self.stem(x))
        x = self.stage48(self.stage96(x))
        c24 = self.stage24(x)
        c12 = self.stage12(c24)
        c6 = self.stage6(c12)
        p12 = self.decoder12(self.up12(c6, c12))
        boxes12, scores12 = self.head12(p12)
        p24 = self.decoder24(self.up24(p12, c24))
        boxes24, scores24 = self.head24(p24)
        return torch.cat([boxes24, boxes12], dim=1), torch.cat([scores24, scores12], dim=1)

    def tflite_layers(self) -> list[nn.Module]:
        """Parametric layers in the order the TFLite graph runs them (for weight loading)."""
        layers: list[nn.Module] = [self.stem, self.stem_act]
        for part in (self.stage96, self.stage48, self.stage24, self.stage12, self.stage6,
                     self.up12, self.decoder12, self.head12, self.up24, self.decoder24, self.head24):
            layers += part.tflite_layers()
        return layers
