"""The palm detector networks training starts from: BlazePalm as the runtime has it, or without its decoder.

:class:`PalmDetectorNoDecoder` is the ablation of the BlazePalm paper ("no decoder"): the same BlazeNet
encoder, with the detection heads straight on the encoder's 24x24 and 12x12 feature maps instead of on the
feature-pyramid decoder's (so the coarse 6x6 stage, which only feeds the decoder, goes too). Its outputs
have the runtime model's layout (2016 anchors at 192x192, same order), so it trains, exports and runs
exactly like the full model. The runtime's :class:`~handtrace.models.palm_detector.PalmDetector` is not
touched.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from handtrace.models.layers import FastPReLU, SamePadConv2d
from handtrace.models.palm_detector import BlazeStage, DetectionHead, PalmDetector

VARIANT_DEPTH = {"full": 4, "lite": 3}
#: Score prior of a freshly initialised classifier (RetinaNet): starts every anchor near "no palm", so
#: the first steps are not spent unlearning 2000 false positives per image.
PRIOR_PROBABILITY = 0.01


class PalmDetectorNoDecoder(nn.Module):
    """BlazePalm without the feature-pyramid decoder: heads on the encoder's 24x24 and 12x12 maps."""

    def __init__(self, depth: int = 4) -> None:
        super().__init__()
        self.stem = SamePadConv2d(3, 32, 5, stride=2)
        self.stem_act = FastPReLU(32)
        self.stage96 = BlazeStage(32, 32, depth, downsample=False)
        self.stage48 = BlazeStage(32, 64, depth)
        self.stage24 = BlazeStage(64, 128, depth)
        self.stage12 = BlazeStage(128, 256, depth)
        self.head12 = DetectionHead(256, 6)
        self.head24 = DetectionHead(128, 2)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = image.permute(0, 3, 1, 2)
        x = self.stage48(self.stage96(self.stem_act(self.stem(x))))
        c24 = self.stage24(x)
        c12 = self.stage12(c24)
        boxes24, scores24 = self.head24(c24)
        boxes12, scores12 = self.head12(c12)
        return torch.cat([boxes24, boxes12], dim=1), torch.cat([scores24, scores12], dim=1)


def mediapipe_tflite(variant: str = "full", models_dir: str | Path | None = None) -> Path:
    """MediaPipe's original ``palm_detection_<variant>.tflite`` (default: beside the shared data)."""
    from handtrace.datasets import data_root

    folder = Path(models_dir) if models_dir else data_root().parent / "models" / "mediapipe-0.10.21"
    return folder / f"palm_detection_{variant}.tflite"


def _init_scratch(model: nn.Module) -> None:
    for head in (model.head24, model.head12):
        nn.init.constant_(head.classifier.bias, -math.log((1 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY))
        nn.init.normal_(head.classifier.weight, std=0.01)
        nn.init.normal_(head.regressor.weight, std=0.01)
        nn.init.zeros_(head.regressor.bias)


def build_palm_detector(variant: str = "full", decoder: bool = True, init: str = "mediapipe",
                        models_dir: str | Path | None = None) -> nn.Module:
    """A trainable palm detector.

    Args:
        variant: "full" or "lite" (4 or 3 blocks per stage).
        decoder: False builds :class:`PalmDetectorNoDecoder`.
        init: "mediapipe" loads MediaPipe's weights (from the original ``.tflite``, read with the ``tflite``
            package; without the decoder only the encoder's weights carry over) or "scratch".
        models_dir: folder of MediaPipe's ``.tflite`` files (see :func:`mediapipe_tflite`).
    """
    if variant not in VARIANT_DEPTH:
        raise ValueError(f"variant must be one of {sorted(VARIANT_DEPTH)}, got {variant!r}")
    if init not in ("mediapipe", "scratch"):
        raise ValueError(f"init must be 'mediapipe' or 'scratch', got {init!r}")
    depth = VARIANT_DEPTH[variant]
    model: nn.Module = PalmDetector(depth) if decoder else PalmDetectorNoDecoder(depth)
    if init == "scratch":
        _init_scratch(model)
        return model
    path = mediapipe_tflite(variant, models_dir)
    if not path.is_file():
        raise FileNotFoundError(f"MediaPipe's palm weights not found: {path} (pass the models folder, or "
                                "start from scratch)")
    from handtrace.models.convert import load_tflite

    pretrained = load_tflite(f"palm_detection_{variant}", path)
    if decoder:
        return pretrained.train()
    own = model.state_dict()
    own.update({k: v for k, v in pretrained.state_dict().items() if k in own and not k.startswith("head")})
    model.load_state_dict(own)
    _init_scratch(model)
    return model
