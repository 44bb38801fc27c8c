"""Landmark-model training: losses, the epoch loop, checkpoints, curves and the final ONNX export.

Stages of :func:`train_landmarks`: build the network (MediaPipe's weights or fresh), optionally freeze the
encoder; per epoch, one jittered and augmented crop per labelled hand plus negatives
(:class:`~handtrace.training.landmark_data.LandmarkExamples`), AdamW with a warm-up and cosine decay; after
each epoch the validation figures, a row of the curves CSV, the PNG plot and a checkpoint (each written to a
temporary name and renamed); at the end the ONNX model in the packaged form.

Losses (:func:`landmark_losses`), each over the examples that have its target:

* ``landmarks``: L1 of x, y in crop pixels / 224 over labelled points of hand crops;
* ``depth``: L1 of z relative to the wrist, same units, where 3D is known;
* ``presence``: binary cross-entropy, negatives 0 and hand crops 1 (from MediaPipe's weights: the untouched
  model's score, so that presence stays calibrated as the runtime expects);
* ``handedness``: binary cross-entropy where handedness is labelled;
* ``world``: L1 in metres of the world landmarks, both centred (the origin is a convention), where 3D is
  known;
* ``distill``: starting from MediaPipe's weights, the outputs a hand crop has no label for (handedness,
  world landmarks) are pulled towards the untouched model's (a frozen copy), so fine-tuning 2D points on a
  dataset without them does not unlearn them.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import logging
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handtrace.models.hand_landmark import HandLandmarkNet
from handtrace.training.config import LandmarkTrainConfig
from handtrace.training.data import Sample
from handtrace.training.export import export_landmark_net, load_landmark_net
from handtrace.training.landmark_data import NO_AUGMENT, NO_JITTER, SIZE, LandmarkExamples, collate


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA when torch sees a GPU, else the CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def encoder_stages(net: HandLandmarkNet) -> list[nn.Module]:
    """The encoder in order: stem, the inverted-residual blocks, the feature head (17 stages, both sizes)."""
    return [net.stem, *net.blocks, net.features]


def run_stages(net: HandLandmarkNet, x: torch.Tensor, start: int = 0, stop: int | None = None
               ) -> torch.Tensor:
    """Encoder stages ``start:stop`` on ``x`` (the images, NHWC uint8, when ``start`` is 0)."""
    if start == 0:
        x = (x.float() * (1 / 255)).permute(0, 3, 1, 2)  # exactly as the exported model scales its input
    for stage in encoder_stages(net)[start:stop]:
        x = stage(x)
    return x


def run_heads(net: HandLandmarkNet, f: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The heads before their sigmoids on pooled features ``f``: landmarks (N, 21, 3), presence and
    handedness logits (N,), world (N, 21, 3)."""
    n = len(f)
    return (net.landmarks(f).view(n, 21, 3), net.presence(f).view(n), net.handedness(f).view(n),
            net.world_landmarks(f).view(n, 21, 3))


def forward_logits(net: HandLandmarkNet, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """:func:`run_heads` of the whole network on (N, 224, 224, 3) uint8 ``images``."""
    return run_heads(net, run_stages(net, images))


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    while mask.dim() < values.dim():
        mask = mask.unsqueeze(-1)
    mask = mask.expand_as(values)
    return (values * mask).sum() / mask.sum().clamp(min=1)


def _centred(world: torch.Tensor) -> torch.Tensor:
    return world - world.mean(dim=1, keepdim=True)


def landmark_losses(out: Sequence[torch.Tensor], batch: dict[str, torch.Tensor],
                    teacher: Sequence[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The loss terms (see the module docstring) of one batch; ``out`` and ``teacher`` from
    :func:`forward_logits`, ``batch`` the tensors of :func:`~handtrace.training.landmark_data.collate`."""
    lm, presence, handed, world = out
    pos = batch["presence"] > 0.5
    t = batch["keypoints"]
    # With a teacher, a hand crop's presence target is the teacher's score rather than 1: presence stays
    # calibrated as MediaPipe's, which the runtime compares between its two landmark passes.
    presence_target = batch["presence"]
    if teacher is not None:
        presence_target = torch.where(pos, torch.sigmoid(teacher[1]), presence_target)
    losses = {
        "landmarks": _masked_mean((lm[..., :2] - t[..., :2]).abs() / SIZE, batch["visible"] & pos[:, None]),
        "presence": F.binary_cross_entropy_with_logits(presence, presence_target),
    }
    rel_z = lm[..., 2] - lm[:, :1, 2]
    losses["depth"] = _masked_mean((rel_z - t[..., 2]).abs() / SIZE, batch["has_depth"] & pos)
    hand_mask = batch["has_handedness"] & pos
    losses["handedness"] = _masked_mean(
        F.binary_cross_entropy_with_logits(handed, batch["right"], reduction="none"), hand_mask)
    world_mask = batch["has_world"] & pos
    losses["world"] = _masked_mean((_centred(world) - _centred(batch["world"])).abs(), world_mask)
    if teacher is not None:
        _, _, t_handed, t_world = teacher
        distill = _masked_mean(F.binary_cross_entropy_with_logits(
            handed, torch.sigmoid(t_handed), reduction="none"), pos & ~hand_mask)
        distill = distill + _masked_mean((_centred(world) - _centred(t_world)).abs(), pos & ~world_mask)
        losses["distill"] = distill
    return losses


def _tensors(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in batch.items()}


# ------------------------------------------------------------------------------------------- validation


class CropSet:
    """A fixed set of crops (one epoch's work list of a :class:`LandmarkExamples`) as batches: the images, or,
    with the first ``stages`` encoder stages frozen, their output computed once (``features``: what the
    trained stages start from), and the targets."""

    def __init__(self, examples: LandmarkExamples, items: list, net: HandLandmarkNet | None,
                 device: torch.device, batch_size: int = 32, bar: Callable[..., Any] | None = None,
                 stages: int = 0) -> None:
        self.examples, self.items, self.device, self.stages = examples, items, device, stages
        self.features: torch.Tensor | None = None
        self.targets: dict[str, torch.Tensor] | None = None
        if net is not None and stages > 0:
            feats, targets = [], []
            steps = range(0, len(items), batch_size)
            for i in (bar(steps) if bar is not None else steps):
                b = collate([examples.make(it) for it in items[i:i + batch_size]])
                with torch.no_grad():
                    feats.append(run_stages(net, torch.from_numpy(b.pop("image")).to(device), 0, stages))
                targets.append(b)
            self.features = torch.cat(feats)
            self.targets = _tensors({k: np.concatenate([t[k] for t in targets]) for k in targets[0]}, device)

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, keep: np.ndarray) -> CropSet:
        """The crops where ``keep`` (a boolean mask over :attr:`items`) is true, features and all."""
        out = copy.copy(self)
        idx = np.flatnonzero(keep)
        out.items = [self.items[i] for i in idx]
        if self.features is not None and self.targets is not None:
            t = torch.from_numpy(idx).to(self.device)
            out.features = self.features[t]
            out.targets = {k: v[t] for k, v in self.targets.items()}
        return out

    def batches(self, batch_size: int, order: np.ndarray | None = None):
        """``(images or features, targets)`` per batch, in ``order`` (default: as listed)."""
        order = np.arange(len(self.items)) if order is None else order
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            if self.features is not None and self.targets is not None:
                t = torch.from_numpy(idx).to(self.device)
                yield self.features[t], {k: v[t] for k, v in self.targets.items()}
            else:
                b = _tensors(collate([self.examples.make(self.items[j]) for j in idx]), self.device)
                yield b.pop("image"), b


@torch.no_grad()
def validate(net: HandLandmarkNet, crops: CropSet, device: torch.device, batch_size: int = 32
             ) -> dict[str, float]:
    """Figures on crops at the keypoints' own region (no jitter, no augmentation): mean keypoint error in
    image pixels, PCK@0.1 of the keypoint box's largest side, mean presence on hands."""
    net.eval()
    errors, pck, presence = [], [], []
    for x, b in crops.batches(batch_size):
        lm, pres, _, _ = run_heads(net, run_stages(net, x, crops.stages if crops.features is not None else 0))
        kp, vis, scale = (b[k].cpu().numpy() for k in ("keypoints", "visible", "scale"))
        err = np.linalg.norm(lm[..., :2].cpu().numpy() - kp[..., :2], axis=-1) * scale[:, None]
        for e, v, k, sc in zip(err, vis, kp, scale, strict=True):
            xy = k[v, :2] * sc
            errors.extend(e[v])
            pck.extend(e[v] <= 0.1 * float((xy.max(0) - xy.min(0)).max()))
        presence.extend(torch.sigmoid(pres).cpu().numpy())
    return {"val_error_px": float(np.mean(errors)) if errors else float("nan"),
            "val_pck@0.1": float(np.mean(pck)) if pck else float("nan"),
            "val_presence": float(np.mean(presence)) if presence else float("nan")}


# ------------------------------------------------------------------------------------ files next to model


def artifact_paths(output: str | Path) -> dict[str, Path]:
    """Files written next to the model ``MODEL.onnx``: ``MODEL.ckpt.pt``, ``MODEL.curves.csv``,
    ``MODEL.curves.png``."""
    output = Path(output)
    stem = output.with_suffix("") if output.suffix.lower() == ".onnx" else output
    return {"model": output, "checkpoint": stem.with_name(stem.name + ".ckpt.pt"),
            "csv": stem.with_name(stem.name + ".curves.csv"),
            "png": stem.with_name(stem.name + ".curves.png")}


@contextlib.contextmanager
def _atomic(path: Path):
    """A temporary file in ``path``'s folder, renamed to ``path`` when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the result is an ordinary file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_curves(history: list[dict[str, float]], csv_path: Path, png_path: Path | None) -> None:
    """The per-epoch figures as CSV and (with matplotlib) a PNG plot: losses left, validation right."""
    if not history:
        return
    keys = list(dict.fromkeys(k for row in history for k in row))
    with _atomic(csv_path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
    if png_path is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    val_keys = [k for k in keys if k.startswith("val_")]
    fig, axes = plt.subplots(1, 2 if val_keys else 1, figsize=(10 if val_keys else 5, 3.5), squeeze=False)
    for k in [k for k in keys if k.startswith("loss")]:
        axes[0, 0].plot(epochs, [row.get(k, np.nan) for row in history], label=k)
    axes[0, 0].set_xlabel("epoch")
    axes[0, 0].set_yscale("log")
    axes[0, 0].legend(fontsize=7)
    axes[0, 0].set_title("training losses")
    if val_keys:
        ax = axes[0, 1]
        ax.plot(epochs, [row.get("val_error_px", np.nan) for row in history], "o-", label="val error (px)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean error (px)")
        ax2 = ax.twinx()
        ax2.plot(epochs, [row.get("val_pck@0.1", np.nan) for row in history], "s--", color="C1",
                 label="val PCK@0.1")
        ax2.set_ylabel("PCK@0.1")
        ax.set_title("validation")
        fig.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    with _atomic(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    model: Path
    history: list[dict[str, float]]
    checkpoint: Path


def frozen_stages(config: LandmarkTrainConfig, net: HandLandmarkNet) -> int:
    """How many leading :func:`encoder_stages` stay fixed: all with ``freeze_encoder``, else
    ``config.frozen_stages``."""
    total = len(encoder_stages(net))
    return total if config.freeze_encoder else max(0, min(config.frozen_stages, total))


#: Learning-rate factor of each head: Adam's steps are in parameter units, so a head's rate is scaled to the
#: range of what it outputs (crop pixels up to 224; logits of a few units; world landmarks within 0.1 m).
HEAD_LR_SCALE = {"landmarks": 1.0, "presence": 0.05, "handedness": 0.05, "world_landmarks": 5e-4}
#: The encoder's convolutions learn at this share of the rate (pretrained features move slowly).
ENCODER_LR_SCALE = 0.1


def param_groups(net: HandLandmarkNet, lr: float) -> list[dict[str, Any]]:
    """The trainable parameters in optimizer groups: the encoder at :data:`ENCODER_LR_SCALE` times ``lr``,
    each head at its :data:`HEAD_LR_SCALE` share (empty groups left out)."""
    encoder = [p for stage in encoder_stages(net) for p in stage.parameters() if p.requires_grad]
    groups = [{"params": encoder, "lr": lr * ENCODER_LR_SCALE}]
    for name, scale in HEAD_LR_SCALE.items():
        groups.append({"params": [p for p in getattr(net, name).parameters() if p.requires_grad],
                       "lr": lr * scale})
    return [g for g in groups if g["params"]]


def _schedule(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return factor


def quiet_export(net: HandLandmarkNet, path: Path) -> Path:
    """:func:`export_landmark_net` without the exporter's progress lines and warnings."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        level = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            return export_landmark_net(net, path)
        finally:
            logging.disable(level)


def train_landmarks(train: Sequence[Sample], output: str | Path, config: LandmarkTrainConfig | None = None,
                    val: Sequence[Sample] | None = None, resume: str | Path | None = None,
                    epochs: int | None = None, progress: bool = True, log: Callable[[str], None] = print,
                    crop_sets: dict[int, CropSet] | None = None) -> TrainResult:
    """Train (or fine-tune) the landmark model on ``train`` and write ``output`` (ONNX, packaged form) with
    its checkpoint, curves CSV and plot beside it (:func:`artifact_paths`). ``resume``: a checkpoint to go on
    from, with its settings (``config`` is not used); ``epochs``: then the run's new total. ``crop_sets``:
    with frozen stages, precomputed :class:`CropSet` s by variant (cross-validation folds share them)."""
    from tqdm import tqdm

    config = config or LandmarkTrainConfig()
    paths = artifact_paths(output)
    state = None
    if resume is not None:
        state = torch.load(resume, map_location="cpu", weights_only=False)
        config = LandmarkTrainConfig.from_dict(state["config"])
        config.epochs = epochs or config.epochs
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    net = load_landmark_net(config.variant, pretrained=config.init == "mediapipe")
    teacher = None
    if config.init == "mediapipe" and config.weights.get("distill", 0) > 0:
        teacher = copy.deepcopy(net).to(device).eval()
        for p in teacher.parameters():
            p.requires_grad = False
    frozen = frozen_stages(config, net)
    for stage in encoder_stages(net)[:frozen]:
        for p in stage.parameters():
            p.requires_grad = False
    net.to(device)
    examples = LandmarkExamples(train, jitter=config.jitter, aug=config.augment, negatives=config.negatives,
                                seed=config.seed)
    if not examples.hands:
        raise ValueError("no labelled hands in the training data")
    val_examples = (LandmarkExamples(val, jitter=NO_JITTER, aug=NO_AUGMENT, negatives=0, seed=config.seed)
                    if val else None)
    bar_for = (lambda desc: (lambda it: tqdm(it, desc=desc, unit="batch", leave=False, dynamic_ncols=True))
               ) if progress else (lambda desc: None)
    val_crops = None
    if val_examples is not None:
        items = [("hand", i, k, 0) for i, k in val_examples.hands]
        val_crops = CropSet(val_examples, items, net, device, bar=bar_for("val features"), stages=frozen)
    caches: dict[int, CropSet] = dict(crop_sets or {})

    def epoch_crops(epoch: int) -> CropSet:
        """The epoch's crops: fresh each epoch, or with frozen encoder stages one of ``cache_variants`` sets
        whose frozen stages run once."""
        if not frozen:
            return CropSet(examples, examples.epoch(epoch), None, device)
        key = epoch % max(1, config.cache_variants)
        if key not in caches:
            caches[key] = CropSet(examples, examples.epoch(key), net, device, config.batch_size,
                                  bar_for(f"features {key + 1}/{config.cache_variants}"), frozen)
        return caches[key]

    optimizer = torch.optim.AdamW(param_groups(net, config.lr), lr=config.lr,
                                  weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(examples.epoch(0)) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(config.epochs * steps_per_epoch, max(1, int(config.warmup * steps_per_epoch))))
    history: list[dict[str, float]] = []
    start = 0
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, start = state["history"], state["epoch"] + 1
        log(f"resuming from {resume} after epoch {start}")

    every = max(1, config.epochs // 10)  # lines and plots: about ten per run, and the last epoch
    bar = tqdm(total=config.epochs, initial=start, desc="train landmarks", unit="epoch", disable=not progress,
               dynamic_ncols=True)
    for epoch in range(start, config.epochs):
        t0 = time.perf_counter()
        net.train()
        crops = epoch_crops(epoch)
        order = np.random.default_rng([config.seed, epoch, 1]).permutation(len(crops))
        sums: dict[str, float] = {}
        steps = 0
        for x, batch in crops.batches(config.batch_size, order):
            steps += 1
            # x: the frozen stages' output (cached), shared by the network and its teacher, or the images
            with torch.no_grad():
                t_out = None if teacher is None else run_heads(teacher, run_stages(teacher, x, frozen))
            out = run_heads(net, run_stages(net, x, frozen))
            terms = landmark_losses(out, batch, t_out)
            loss = sum(config.weights.get(k, 0.0) * v for k, v in terms.items())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            for k, v in [("loss", loss), *((f"loss_{k}", v) for k, v in terms.items())]:
                sums[k] = sums.get(k, 0.0) + float(v.detach())
        row: dict[str, float] = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
        row.update({k: v / max(1, steps) for k, v in sums.items()})
        if val_crops is not None:
            row.update(validate(net, val_crops, device))
        row["seconds"] = round(time.perf_counter() - t0, 2)
        history.append(row)
        figures = {"loss": f"{row['loss']:.4f}", "px": f"{row['loss_landmarks'] * SIZE:.2f}"}
        if val_crops is not None:
            figures.update(val_px=f"{row['val_error_px']:.2f}", val_pck=f"{row['val_pck@0.1']:.3f}")
        bar.set_postfix(figures)
        bar.update(1)
        last = epoch + 1 == config.epochs
        if (epoch + 1) % every == 0 or last:
            shown = f"epoch {epoch + 1}/{config.epochs}: loss {row['loss']:.4f}"
            if val_crops is not None:
                shown += (f", val error {row['val_error_px']:.2f} px, PCK@0.1 {row['val_pck@0.1']:.3f}, "
                          f"presence {row['val_presence']:.3f}")
            (bar.write if progress else log)(shown)
        write_curves(history, paths["csv"], paths["png"] if (epoch + 1) % every == 0 or last else None)
        with _atomic(paths["checkpoint"]) as tmp:
            torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "epoch": epoch, "history": history,
                        "config": config.to_dict()}, tmp)
    bar.close()
    net.cpu().eval()
    quiet_export(net, paths["model"])
    return TrainResult(paths["model"], history, paths["checkpoint"])
