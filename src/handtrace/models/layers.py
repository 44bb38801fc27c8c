"""Building blocks shared by the palm and landmark networks, matching TensorFlow Lite semantics."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def same_padding(kernel: int, stride: int) -> tuple[int, int]:
    """TF "SAME" padding (before, after) along one axis for even input sizes.

    With stride 2 TensorFlow puts the odd pixel after, which PyTorch's symmetric padding can't express.
    """
    if stride == 1:
        return kernel // 2, kernel // 2
    total = max(kernel - stride, 0)
    return total // 2, total - total // 2


class SamePadConv2d(nn.Conv2d):
    """Conv2d with TF "SAME" padding, applied explicitly so stride-2 layers match TFLite exactly."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=0, groups=groups)
        before, after = same_padding(kernel_size, stride)
        self.pad = (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pad):
            x = F.pad(x, self.pad)
        return super().forward(x)


def depthwise(channels: int, kernel: int, stride: int = 1) -> SamePadConv2d:
    return SamePadConv2d(channels, channels, kernel, stride, groups=channels)


def pointwise(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1)


class FastPReLU(nn.Module):
    """PReLU written as ``x + (1 - a) * relu(-x)``, both steps as depthwise 1x1 convolutions.

    Same function as ``nn.PReLU``, laid out for onnxruntime: its PRelu kernel, and elementwise ops with a
    per-channel operand, leave the blocked (NCHWc) layout its convolutions run in, so every activation paid
    two layout conversions. Here ``relu(-x)`` is a depthwise convolution with weight -1 and a fused Relu, and
    the second convolution (weight ``1 - a``) adds ``x`` as its fused sum: two passes over the tensor, all
    in the blocked layout. BlazePalm (full) runs in 3.5 ms on two threads, against 4.1 for
    ``a * x + (1 - a) * relu(x)`` (an extra Relu pass), 5.6 for ``relu(x) + a * min(x, 0)`` and 8.1 for PRelu.
    Positive inputs come out exactly (``x + 0``), as in TFLite's kernel. (``max(x, a*x)`` would be wrong:
    the learned slopes are not all in [0, 1].)
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slope = self.weight.view(-1, 1, 1, 1)
        groups = slope.shape[0]
        negative_part = F.relu(F.conv2d(x, -torch.ones_like(slope), groups=groups))
        return x + F.conv2d(negative_part, 1 - slope, groups=groups)
