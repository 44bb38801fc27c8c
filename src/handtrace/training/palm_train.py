"""Palm detector training loop: compose frames, assign anchors, optimise, validate, checkpoint, export.

Stages of one run (:func:`train_palm`):

1. data: :func:`handtrace.training.palm_data.compose` draws each training frame from the training photos and
   backgrounds; validation frames are drawn once, with a fixed seed, from the validation photos (each
   validation photo letterboxed as it is, plus ``val_frames`` composed frames);
2. model: :func:`handtrace.training.palm_model.build_palm_detector` (MediaPipe's weights or scratch, with or
   without the decoder);
3. each epoch: ``steps_per_epoch`` AdamW steps (cosine learning rate after a short warm-up) on
   :func:`handtrace.training.losses.palm_loss`, then validation: loss, and average precision at IoU 0.5 and
   recall at score 0.5 of the boxes the runtime's own decoder and weighted NMS make
   (:func:`handtrace.detection.postprocess`, :mod:`handtrace.evaluation`);
4. after each epoch: the curves as ``MODEL.curves.csv`` and ``MODEL.curves.png`` and a checkpoint
   ``MODEL.ckpt.pt`` (model, optimiser, schedule, history, best weights), each written to a temporary name
   and renamed, so a kill leaves the last complete epoch; ``resume`` continues from it;
5. at the end: the weights of the epoch with the best validation AP (the last one on ties) exported to
   ``MODEL.onnx`` in the packaged form (:func:`handtrace.models.convert.export_onnx`).

Epoch ``e`` draws its frames from ``numpy.random.default_rng([seed, e])``, so a resumed run sees the same
data as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from handtrace.detection import Letterbox, postprocess
from handtrace.evaluation import average_precision, match_palms
from handtrace.training.export import export_model
from handtrace.training.landmark_train import _atomic, artifact_paths, pick_device
from handtrace.training.losses import LossConfig, palm_loss
from handtrace.training.palm_data import ComposeConfig, Frame, HandPhoto, compose, frame_targets, letterboxed
from handtrace.training.palm_model import build_palm_detector

CURVE_FIELDS = ("epoch", "lr", "loss", "cls", "box", "keypoints", "val_loss", "val_ap", "val_recall",
                "seconds")
#: Default peak learning rates. From MediaPipe's weights (no batch norm): 3e-4 diverged within 15 steps, 3e-5
#: cost ordinary photos recall, 1e-5 did not (docs/training.md, benchmarks/palm_finetune.py).
MEDIAPIPE_LR, SCRATCH_LR = 1e-5, 1e-3
#: Detections scored down to this for the precision-recall curve in validation.
VAL_MIN_SCORE = 0.05


@dataclass
class PalmTrainConfig:
    epochs: int = 10
    steps_per_epoch: int = 40
    batch_size: int = 16
    lr: float | None = None  # default: MEDIAPIPE_LR or SCRATCH_LR
    weight_decay: float = 1e-4
    init: str = "mediapipe"  # or "scratch"
    decoder: bool = True
    variant: str = "full"
    loss: str = "focal"  # or "ce"
    alpha: float = 0.25
    gamma: float = 2.0
    size: int = 192  # square training input
    seed: int = 0
    device: str = "auto"  # "auto": CUDA when torch sees one, else the CPU
    val_frames: int = 64
    threads: int | None = None
    models_dir: str | None = None  # MediaPipe's .tflite files
    compose: ComposeConfig = field(default_factory=ComposeConfig)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (MEDIAPIPE_LR if self.init == "mediapipe" else SCRATCH_LR)


def _batch(frames: Sequence[Frame], size: int, device: torch.device
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    targets = [frame_targets(f, size) for f in frames]
    images = torch.from_numpy(np.stack([f.image for f in frames])).to(device).float().div_(255.0)
    labels = torch.from_numpy(np.stack([t[0] for t in targets]).astype(np.int64)).to(device)
    regressors = torch.from_numpy(np.stack([t[1] for t in targets])).to(device)
    return images, labels, regressors


def validation_frames(photos: Sequence[HandPhoto], backgrounds: Sequence[np.ndarray], count: int, size: int,
                      seed: int, compose_config: ComposeConfig | None = None) -> list[Frame]:
    """Fixed validation inputs: every photo letterboxed as it is, then ``count`` composed frames."""
    rng = np.random.default_rng([seed, 1_000_003])
    compose_config = compose_config or ComposeConfig()
    frames = [letterboxed(p, size) for p in photos]
    return frames + [compose(rng, photos, backgrounds, size, compose_config) for _ in range(count)]


@torch.no_grad()
def validate(model: torch.nn.Module, frames: Sequence[Frame], size: int, device: torch.device,
             loss_config: LossConfig, batch_size: int = 32) -> dict[str, float]:
    """Validation loss, AP@0.5 and recall at score 0.5 of the runtime's decoded, NMS'd boxes."""
    model.eval()
    box = Letterbox.fit(size, size, size)  # frames are inputs already: the identity letterbox
    losses, scores, tps, num_gt = [], [], [], 0
    for i in range(0, len(frames), batch_size):
        chunk = frames[i: i + batch_size]
        images, labels, target = _batch(chunk, size, device)
        regressors, logits = model(images)
        logits = logits.squeeze(-1)
        losses.append(float(palm_loss(logits, regressors, labels, target, loss_config)["loss"]) * len(chunk))
        for r, s, f in zip(regressors.cpu().numpy(), logits.cpu().numpy(), chunk, strict=True):
            det = postprocess(r, s, box, VAL_MIN_SCORE, input_size=size)
            scores.append(det.scores)
            tps.append(match_palms(det.boxes, det.scores, f.boxes * size))
            num_gt += len(f.boxes)
    model.train()
    s, tp = np.concatenate(scores), np.concatenate(tps)
    return {"val_loss": sum(losses) / len(frames), "val_ap": average_precision(s, tp, num_gt),
            "val_recall": float(tp[s >= 0.5].sum() / num_gt) if num_gt else float("nan")}


def write_curves(history: Sequence[dict], csv_path: Path, png_path: Path | None) -> None:
    """The curves as CSV (one row per epoch) and, with matplotlib, a PNG plot; both written atomically."""

    with _atomic(csv_path) as tmp, tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CURVE_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(history)
    if png_path is None or not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("loss", "val_loss", "cls", "box", "keypoints"):
        ax1.plot(epochs, [h[key] for h in history], marker=".", label=key)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.set_yscale("log")
    ax1.legend()
    for key in ("val_ap", "val_recall"):
        ax2.plot(epochs, [h[key] for h in history], marker=".", label=key)
    ax2.set_xlabel("epoch")
    ax2.set_ylim(0, 1)
    ax2.legend()
    ax2.set_title("validation: AP@0.5, recall at score 0.5")
    fig.tight_layout()
    with _atomic(png_path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


@dataclass
class TrainResult:
    model: torch.nn.Module  # the best epoch's weights, on the CPU, in eval mode
    history: list[dict]
    best_epoch: int
    paths: dict[str, Path]


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def train_palm(train_photos: Sequence[HandPhoto], val_photos: Sequence[HandPhoto],
               backgrounds: Sequence[np.ndarray], output: str | Path, config: PalmTrainConfig | None = None,
               val_backgrounds: Sequence[np.ndarray] | None = None, resume: str | Path | None = None,
               progress: bool = True, export: bool = True) -> TrainResult:
    """Train a palm detector and export it to ``output`` (``.onnx``), curves and checkpoint beside it.

    Args:
        train_photos, val_photos: annotated photos (disjoint). backgrounds: hand-free RGB images.
        val_backgrounds: backgrounds of the validation frames (default ``backgrounds``).
        resume: a checkpoint of an earlier run of the same configuration to continue.
        export: write the ONNX model (tests may skip it).
    """
    from tqdm import tqdm

    config = config or PalmTrainConfig()
    if not train_photos:
        raise ValueError("no training photos")
    paths = artifact_paths(output)
    paths["model"].parent.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    loss_config = LossConfig(config.loss, config.alpha, config.gamma)
    model = build_palm_detector(config.variant, config.decoder, config.init, config.models_dir).to(device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    total = config.epochs * config.steps_per_epoch
    warmup = min(100, max(5, total // 10))  # pretrained weights blow up under a full-size first step
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _schedule(s, total, warmup))
    history: list[dict] = []
    best_ap, best_epoch, best_state = -1.0, 0, None
    start = 0
    if resume is not None:
        ckpt = torch.load(resume, map_location=device, weights_only=False)
        free = ("epochs", "device", "threads", "models_dir")  # may change between runs
        if {k: v for k, v in ckpt["config"].items() if k not in free} != {
                k: v for k, v in asdict(config).items() if k not in free}:
            raise ValueError(f"{resume}: checkpoint of a different configuration")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        history, start = ckpt["history"], ckpt["epoch"]
        best_ap, best_epoch, best_state = ckpt["best_ap"], ckpt["best_epoch"], ckpt["best_state"]
    val = validation_frames(val_photos, val_backgrounds if val_backgrounds is not None else backgrounds,
                            config.val_frames, config.size, config.seed, config.compose) if val_photos else []
    for epoch in range(start + 1, config.epochs + 1):
        t0 = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 1000 + epoch)
        sums = {"loss": 0.0, "cls": 0.0, "box": 0.0, "keypoints": 0.0}
        bar = tqdm(range(config.steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", disable=not progress,
                   leave=False, dynamic_ncols=True)
        for _ in bar:
            frames = [compose(rng, train_photos, backgrounds, config.size, config.compose)
                      for _ in range(config.batch_size)]
            images, labels, target = _batch(frames, config.size, device)
            regressors, logits = model(images)
            parts = palm_loss(logits.squeeze(-1), regressors, labels, target, loss_config)
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            scheduler.step()
            for k in sums:
                sums[k] += float(parts[k].detach())
            bar.set_postfix(loss=f"{float(parts['loss'].detach()):.3f}")
        bar.close()
        row: dict = {"epoch": epoch, "lr": scheduler.get_last_lr()[0]}
        row |= {k: v / config.steps_per_epoch for k, v in sums.items()}
        row |= validate(model, val, config.size, device, loss_config) if val else {
            "val_loss": float("nan"), "val_ap": float("nan"), "val_recall": float("nan")}
        row["seconds"] = round(time.perf_counter() - t0, 1)
        history.append(row)
        ap = row["val_ap"] if not math.isnan(row["val_ap"]) else 0.0
        if ap >= best_ap:
            best_ap, best_epoch = ap, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if progress:
            tqdm.write(f"epoch {epoch}/{config.epochs}: loss {row['loss']:.4f} (cls {row['cls']:.4f}, "
                       f"box {row['box']:.4f}, keypoints {row['keypoints']:.4f}); val loss "
                       f"{row['val_loss']:.4f}, AP@0.5 {row['val_ap']:.3f}, recall {row['val_recall']:.3f} "
                       f"({row['seconds']:.0f} s)")
        write_curves(history, paths["csv"], paths["png"])
        state = {"config": asdict(config), "epoch": epoch, "model": model.state_dict(),
                 "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "history": history,
                 "best_ap": best_ap, "best_epoch": best_epoch, "best_state": best_state}
        with _atomic(paths["checkpoint"]) as tmp:
            torch.save(state, tmp)
    final = build_palm_detector(config.variant, config.decoder, "scratch")
    final.load_state_dict(best_state if best_state is not None else model.state_dict())
    final.eval()
    if export:
        export_palm_onnx(final, paths["model"], config.variant)
    return TrainResult(final, history, best_epoch, paths)


def export_palm_onnx(model: torch.nn.Module, path: str | Path, variant: str = "full") -> Path:
    """Export a trained palm detector in the packaged form (uint8 input, dynamic batch, symbolic height and
    width, the fast PReLU) atomically (:func:`handtrace.training.export.export_model`), without the
    exporter's progress lines."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return export_model(f"palm_detection_{variant}", model, path)
