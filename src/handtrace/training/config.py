"""Training settings, importable without PyTorch (the CLI builds its options from them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from handtrace.training.landmark_data import Augment, Jitter

INITS = ("mediapipe", "scratch")


#: Defaults that depend on whether the encoder trains: (epochs, peak learning rate). With the encoder frozen
#: only the heads learn, on pooled features computed once per augmented crop (cheap epochs, a high rate).
FROZEN_DEFAULTS = (40, 1e-2)
FULL_DEFAULTS = (12, 2e-3)


@dataclass
class LandmarkTrainConfig:
    """Settings of :func:`~handtrace.training.landmark_train.train_landmarks` (the CLI's options). Defaults
    were chosen by cross-validation on the 150 hand-graph-cnn photos (docs/training.md). ``None`` means:
    decided by the others (``freeze_encoder``: True from MediaPipe's weights, False from scratch;
    ``epochs`` and ``lr``: :data:`FROZEN_DEFAULTS` or :data:`FULL_DEFAULTS`)."""

    epochs: int | None = None
    lr: float | None = None
    batch_size: int = 16
    weight_decay: float = 1e-4
    init: str = "mediapipe"  # or "scratch"
    variant: str = "full"
    freeze_encoder: bool | None = None  # train the heads only
    frozen_stages: int = 0  # else keep this many leading encoder stages fixed (stem, 14 blocks, feature head)
    cache_variants: int = 4  # frozen encoder: augmented crops per hand whose features are computed (cycled)
    seed: int = 0
    device: str = "auto"  # "auto": CUDA when torch sees one, else the CPU
    negatives: float = 0.25  # negatives per labelled hand
    warmup: float = 0.5  # epochs of linear warm-up
    weights: dict[str, float] = field(default_factory=lambda: {
        "landmarks": 1.0, "depth": 0.1, "presence": 0.1, "handedness": 0.1, "world": 1.0, "distill": 0.5})
    jitter: Jitter = field(default_factory=Jitter)
    augment: Augment = field(default_factory=Augment)

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if self.freeze_encoder is None:
            self.freeze_encoder = self.init == "mediapipe"
        epochs, lr = FROZEN_DEFAULTS if self.freeze_encoder else FULL_DEFAULTS
        self.epochs = epochs if self.epochs is None else self.epochs
        self.lr = lr if self.lr is None else self.lr

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LandmarkTrainConfig:
        d = dict(d)
        d["jitter"] = Jitter(**{**d["jitter"], "scale": tuple(d["jitter"]["scale"])})
        d["augment"] = Augment(**d["augment"])
        return cls(**d)
