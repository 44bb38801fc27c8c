"""BlazePalm's ablation at laptop scale: focal loss with the decoder against cross entropy without it.

The paper (Bazarevsky et al. 2020, BlazePalm): 95.7% average precision with focal loss and the
feature-pyramid decoder, 86.22% with plain cross entropy and no decoder. Here both are trained from scratch on
the same data with the same budget, then scored on held-out photos by the runtime (exported ONNX, the
runtime's letterbox, decoder and weighted NMS) as average precision of palm boxes at IoU 0.5.

    python benchmarks/palm_ablation.py train focal-decoder -o results/palm_ablation   # one run (~15-20 min)
    python benchmarks/palm_ablation.py train ce-no-decoder -o results/palm_ablation
    python benchmarks/palm_ablation.py report -o results/palm_ablation                # the table

Data: the 150 hand-graph-cnn photos, split by a seeded permutation into 120 for training and 30 held out;
the 6 shared no-hand photos as backgrounds (4 for training frames, 2 for held-out frames) plus synthetic
textures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

RUNS = {
    "focal-decoder": {"loss": "focal", "decoder": True},
    "ce-no-decoder": {"loss": "ce", "decoder": False},
}
SPLIT_SEED = 0
NUM_TRAIN = 120
SIZE = 64  # training and evaluation input (192 in the paper): 9x less compute per image
MIN_PALM = 0.08  # smallest palm, share of the frame (0.03 at 192): a palm of 5 px at 64
EPOCHS = 12
STEPS = 40
BATCH = 16
HELD_OUT_FRAMES = 200
PAPER = {"focal-decoder": 95.7, "ce-no-decoder": 86.22}


def split_photos(data_dir: Path | None = None):
    """(train, held-out) :class:`HandPhoto` lists and (train, held-out) backgrounds."""
    from handtrace.evaluation import load_hand_graph_cnn
    from handtrace.training.palm_data import default_backgrounds, photos_from_eval_samples

    photos = photos_from_eval_samples(load_hand_graph_cnn(data_dir))
    order = np.random.default_rng(SPLIT_SEED).permutation(len(photos))
    train = [photos[i] for i in order[:NUM_TRAIN]]
    held = [photos[i] for i in order[NUM_TRAIN:]]
    bgs = default_backgrounds(data_dir)
    val_bgs = bgs[::3]
    train_bgs = [b for i, b in enumerate(bgs) if i % 3]
    return train, held, train_bgs, val_bgs


def train(name: str, out: Path, threads: int) -> int:
    from handtrace.training.palm_train import PalmTrainConfig, train_palm

    train_photos, held, train_bgs, val_bgs = split_photos()
    from handtrace.training.palm_data import ComposeConfig

    config = PalmTrainConfig(epochs=EPOCHS, steps_per_epoch=STEPS, batch_size=BATCH, init="scratch",
                             size=SIZE, threads=threads, seed=0, compose=ComposeConfig(min_palm=MIN_PALM),
                             **RUNS[name])
    ckpt = out / f"{name}.ckpt.pt"
    result = train_palm(train_photos, held, train_bgs, out / f"{name}.onnx", config, val_backgrounds=val_bgs,
                        resume=ckpt if ckpt.exists() else None)
    print(json.dumps(result.history[-1]))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["train", "report"])
    p.add_argument("run", nargs="?", choices=sorted(RUNS))
    p.add_argument("-o", "--output", type=Path, default=Path("results/palm_ablation"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--last", action="store_true", help="report: the last epoch's weights, not the best's")
    args = p.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    if args.what == "train":
        if not args.run:
            p.error("train needs a run name")
        return train(args.run, args.output, args.threads)
    return report(args.output, args.last)


def held_out_sets() -> dict[str, list]:
    """The test sets, all from the 30 held-out photos (and the 2 held-out backgrounds)."""
    from handtrace.evaluation import Sample, pad_sample
    from handtrace.training.palm_data import ComposeConfig, compose

    _, held, _, val_bgs = split_photos()
    plain = [Sample(p.image, list(p.hands), p.name) for p in held]
    rng = np.random.default_rng(11)
    config = ComposeConfig(min_palm=MIN_PALM)
    frames = [compose(rng, held, val_bgs, SIZE, config) for _ in range(HELD_OUT_FRAMES)]
    return {
        "held-out photos, as is": plain,
        "held-out photos, padded 128 px": [pad_sample(s, 128) for s in plain],
        f"{HELD_OUT_FRAMES} held-out composites": [
            Sample(f.image, [lm * SIZE for lm in f.landmarks], f"frame/{i}") for i, f in enumerate(frames)],
    }


def last_epoch_model(checkpoint: Path, decoder: bool = True, variant: str = "full") -> Path:
    """The checkpoint's last-epoch weights exported beside it as ``*.last.onnx`` (once). The training run
    exports the epoch with the best validation AP; its validation set holds the held-out photos, so the last
    epoch is the choice that has not seen them."""
    path = checkpoint.with_name(checkpoint.name.split(".")[0] + ".last.onnx")
    if not path.exists():
        import torch

        from handtrace.training.palm_model import build_palm_detector
        from handtrace.training.palm_train import export_palm_onnx

        net = build_palm_detector(variant, decoder, "scratch")
        net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=False)["model"])
        export_palm_onnx(net, path, variant)
    return path


def report(out: Path, last: bool = False) -> int:
    import csv

    from handtrace import evaluation as ev
    from handtrace.training.palm_cli import palm_detector

    sets = held_out_sets()
    rows: dict[str, dict] = {}
    for name in RUNS:
        model = out / f"{name}.onnx"
        if last:
            model = last_epoch_model(out / f"{name}.ckpt.pt", RUNS[name]["decoder"])
        with (out / f"{name}.curves.csv").open() as f:
            curves = list(csv.DictReader(f))
        detector = palm_detector(str(model), input_size=SIZE)
        best = max(range(len(curves)), key=lambda i: (float(curves[i]["val_ap"]), i)) + 1
        rows[name] = {"minutes": round(sum(float(r["seconds"]) for r in curves) / 60, 1), "best_epoch": best,
                      "sets": {}}
        for label, samples in sets.items():
            s = ev.summarize_palms(ev.evaluate_palms(detector, samples))
            rows[name]["sets"][label] = s.to_dict()
    head = ["run", "paper AP", *[f"{k}: AP@0.5" for k in sets], "training minutes"]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in rows.items():
        cells = [name, f"{PAPER[name]}%", *[f"{100 * row['sets'][k]['ap@0.5']:.1f}%" for k in sets],
                 f"{row['minutes']}"]
        table.append("| " + " | ".join(cells) + " |")
    suffix = ".last" if last else ""
    (out / f"report{suffix}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / f"report{suffix}.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
