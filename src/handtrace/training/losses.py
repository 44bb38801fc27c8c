"""Palm detector losses: focal loss (or plain cross entropy) on anchor scores, Huber on box and keypoints.

Shapes: B images, A anchors. Labels are :mod:`palm_targets`' 1 / 0 / -1 (positive, negative, ignored).
Both terms are normalised by the number of positive anchors in the batch (at least 1), as in RetinaNet, so
the classification term is the *sum* over anchors: with plain cross entropy the ~2000 easy negatives per
image dominate it, which is what focal loss (Lin et al. 2017; BlazePalm) down-weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
#: Huber transition, in units of the palm box's side (regression errors are divided by it).
HUBER_DELTA = 0.1


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float | None = FOCAL_ALPHA,
               gamma: float = FOCAL_GAMMA) -> torch.Tensor:
    """Per-element sigmoid focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)``.

    Args:
        logits: (...) raw scores. targets: (...) 0 / 1 floats.
        alpha: weight of the positives (negatives get ``1 - alpha``); None for no weighting.
        gamma: focusing exponent; ``gamma=0, alpha=None`` is plain binary cross entropy.
    """
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    loss = ce
    if gamma:
        p = torch.sigmoid(logits)
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = loss * (1 - p_t) ** gamma
    if alpha is not None:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss


def regression_loss(pred: torch.Tensor, target: torch.Tensor, positive: torch.Tensor,
                    delta: float = HUBER_DELTA) -> tuple[torch.Tensor, torch.Tensor]:
    """Huber loss of box (4 values) and keypoints (14 values) on positive anchors, summed over anchors.

    Errors are divided by the target box's width (``target[..., 2]``, input pixels, as the anchors are
    squares of size 1) so a small palm weighs as much as a large one. NaN targets (keypoints that were not
    annotated) carry no loss.

    Args:
        pred, target: (B, A, 18) raw regressors. positive: (B, A) bool.

    Returns:
        (box loss, keypoint loss), each summed over positives and averaged over its values.
    """
    p, t = pred[positive], target[positive]  # (P, 18)
    if not len(t):
        zero = pred.sum() * 0.0
        return zero, zero
    valid = ~torch.isnan(t)  # keypoints that were not annotated are NaN: no loss on them
    t = torch.nan_to_num(t)
    size = t[:, 2:3].clamp(min=1e-3)
    err = F.huber_loss(p / size, t / size, reduction="none", delta=delta) * valid
    box = err[:, :4].sum(dim=1) / valid[:, :4].sum(dim=1).clamp(min=1)
    kps = err[:, 4:].sum(dim=1) / valid[:, 4:].sum(dim=1).clamp(min=1)
    return box.sum(), kps.sum()


@dataclass(frozen=True)
class LossConfig:
    """``kind``: "focal" or "ce" (plain binary cross entropy)."""

    kind: str = "focal"
    alpha: float = FOCAL_ALPHA
    gamma: float = FOCAL_GAMMA
    box_weight: float = 1.0
    keypoint_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("focal", "ce"):
            raise ValueError(f"loss must be 'focal' or 'ce', got {self.kind!r}")


def palm_loss(logits: torch.Tensor, regressors: torch.Tensor, labels: torch.Tensor,
              target_regressors: torch.Tensor, config: LossConfig = LossConfig()) -> dict[str, torch.Tensor]:
    """The detector's training loss.

    Args:
        logits: (B, A) raw scores. regressors: (B, A, 18). labels: (B, A) int (1 / 0 / -1).
        target_regressors: (B, A, 18).

    Returns:
        ``{"loss", "cls", "box", "keypoints"}``, each normalised by the number of positives.
    """
    positive = labels == 1
    used = labels >= 0
    num_pos = positive.sum().clamp(min=1).to(logits.dtype)
    if config.kind == "focal":
        cls = focal_loss(logits[used], positive[used].to(logits.dtype), config.alpha, config.gamma)
    else:
        cls = focal_loss(logits[used], positive[used].to(logits.dtype), None, 0.0)
    cls = cls.sum() / num_pos
    box, kps = regression_loss(regressors, target_regressors, positive)
    box, kps = box / num_pos, kps / num_pos
    return {"loss": cls + config.box_weight * box + config.keypoint_weight * kps, "cls": cls, "box": box,
            "keypoints": kps}
