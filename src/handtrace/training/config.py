"""Training settings, importable without PyTorch (the CLI builds its options from them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from handtrace.training.landmark_data import Augment, Jitter

INITS = ("mediapipe", "scratch")


@dataclass
class LandmarkTrainConfig:
    """Settings of :func:`train_landmarks` (the CLI's options; defaults chosen by cross-validation on the
    150 hand-graph-cnn photos, see docs/training.md)."""

    epochs: int = 12
    lr: float = 2e-4
    batch_size: int = 16
    weight_decay: float = 1e-4
    init: str = "mediapipe"  # or "scratch"
    variant: str = "full"
    freeze_encoder: bool = False
    seed: int = 0
    device: str = "auto"  # "auto": CUDA when torch sees one, else the CPU
    negatives: float = 0.25  # negatives per labelled hand
    warmup: float = 0.5  # epochs of linear warm-up
    weights: dict[str, float] = field(default_factory=lambda: {
        "landmarks": 1.0, "depth": 0.1, "presence": 0.1, "handedness": 0.1, "world": 1.0, "distill": 0.5})
    jitter: Jitter = field(default_factory=Jitter)
    augment: Augment = field(default_factory=Augment)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LandmarkTrainConfig:
        d = dict(d)
        d["jitter"] = Jitter(**{**d["jitter"], "scale": tuple(d["jitter"]["scale"])})
        d["augment"] = Augment(**d["augment"])
        return cls(**d)
