"""Palm detector fine-tuning where MediaPipe's weights fail: hands filling the frame, and far, small hands.

    python benchmarks/palm_finetune.py label -o results/palm_finetune   # pseudo-label the gesture photos
    python benchmarks/palm_finetune.py train -o results/palm_finetune   # fine-tune from MediaPipe's weights
    python benchmarks/palm_finetune.py report -o results/palm_finetune  # before / after (last epoch)

Data (held-out splits; nothing of the test sets is trained on):

* hand-graph-cnn: the ablation's split (benchmarks/palm_ablation.py): 120 photos train, 30 held out;
* the model-maker gesture photos (people 1-3 m away, small hands) have no keypoints: ``label`` pseudo-labels
  them with handtrace itself on 2x zoomed overlapping tiles (where the palms are large enough for the
  detector) and writes ``gestures.json`` (handtrace layout); the first 3 photos of each gesture folder train,
  the other 2 are held out (8 photos).

Test sets, all from held-out photos: the 30 photos as they are and padded by 128 px (ordinary photos); the 30
zoomed in (centre crops of 1/1.25 to 1/2 of the side: the hand fills and leaves the frame); the 30 shrunk onto
held-out backgrounds so the palm spans 6-15% of the frame (far hands); the 8 gesture photos; mmpose's 22
images (other datasets, as they are). Each is scored by the runtime (ONNX, letterbox, decoder, weighted NMS at
192): AP@0.5 and the recall at the runtime's default threshold 0.5.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from palm_ablation import last_epoch_model, split_photos

GESTURES = "mediapipe-model-maker-gestures"
TRAIN_PER_GESTURE = 3
ZOOMS = (1.25, 1.5, 1.75, 2.0)
FAR_PALM = (0.06, 0.15)
EPOCHS, STEPS, BATCH, LR = 4, 15, 8, 1e-5


def _tiles(height: int, width: int, n: int = 2, overlap: float = 0.35) -> list[tuple[int, int, int, int]]:
    th, tw = int(height / (n - (n - 1) * overlap)), int(width / (n - (n - 1) * overlap))
    ys = np.linspace(0, height - th, n).astype(int)
    xs = np.linspace(0, width - tw, n).astype(int)
    return [(y, x, th, tw) for y in ys for x in xs]


def pseudo_label(image: np.ndarray, tracker) -> list[np.ndarray]:
    """Hands found on the whole image and on 2x2 overlapping tiles (each zoomed ~1.5x by the detector's
    letterbox), de-duplicated by palm-box overlap: (21, 2) pixel landmarks."""
    from handtrace.detection import box_iou_matrix
    from handtrace.evaluation import palm_box

    found: list[tuple[float, np.ndarray]] = []
    for y, x, h, w in [(0, 0, *image.shape[:2]), *_tiles(*image.shape[:2])]:
        for hand in tracker.process(np.ascontiguousarray(image[y: y + h, x: x + w])):
            found.append((float(hand.presence), hand.landmarks[:, :2] + [x, y]))
    found.sort(key=lambda t: -t[0])
    kept: list[np.ndarray] = []
    for _, lm in found:
        if not kept or box_iou_matrix(palm_box(lm)[None], palm_box(np.stack(kept))).max() < 0.3:
            kept.append(lm)
    return kept


def label(out: Path) -> int:
    from handtrace.datasets import data_root
    from handtrace.io import read_image
    from handtrace.tracker import HandTracker

    folder = data_root() / GESTURES
    records = []
    with HandTracker(static_image_mode=True, max_num_hands=4) as tracker:
        for path in sorted(folder.glob("*/*.jpg")):
            image = read_image(path)
            hands = pseudo_label(image, tracker)
            size = np.array(image.shape[1::-1]) - 1
            records.append({"image": str(path.resolve()), "hands": [
                {"landmarks": np.round(np.clip(h, 0, size), 2).tolist(),  # points off the image: not labelled
                 "visible": ((h >= 0) & (h <= size)).all(axis=1).tolist()} for h in hands]})
            print(path.relative_to(folder), len(hands), "hands")
    (out / "gestures.json").write_text(json.dumps(records) + "\n")
    return 0


def gesture_split(out: Path):
    """(train, held-out) :class:`HandPhoto` s of the pseudo-labelled gesture photos."""
    from handtrace.training.data import load_annotations
    from handtrace.training.palm_data import photos_from_samples

    photos = photos_from_samples(load_annotations(out / "gestures.json"))  # in the file's order
    folders = [Path(r["image"]).parent.name for r in json.loads((out / "gestures.json").read_text())]
    train, held = [], []
    for i, p in enumerate(photos):
        (train if folders[:i].count(folders[i]) < TRAIN_PER_GESTURE else held).append(p)
    return train, held


def train(out: Path, threads: int, lr: float = LR) -> int:
    from handtrace.training.palm_train import PalmTrainConfig, train_palm

    train_photos, held, train_bgs, val_bgs = split_photos()
    g_train, g_held = gesture_split(out)
    config = PalmTrainConfig(epochs=EPOCHS, steps_per_epoch=STEPS, batch_size=BATCH, lr=lr, init="mediapipe",
                             threads=threads, seed=0, val_frames=16)
    ckpt = out / "finetuned.ckpt.pt"
    result = train_palm(train_photos + g_train, held + g_held, train_bgs, out / "finetuned.onnx", config,
                        val_backgrounds=val_bgs, resume=ckpt if ckpt.exists() else None)
    print(json.dumps(result.history[-1]))
    return 0


def _zoomed(sample, zoom: float):
    from handtrace.evaluation import Sample

    h, w = sample.image.shape[:2]
    ch, cw = round(h / zoom), round(w / zoom)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return Sample(np.ascontiguousarray(sample.image[y0: y0 + ch, x0: x0 + cw]),
                  [hand - [x0, y0] for hand in sample.hands], f"{sample.name}@{zoom:g}x")


def test_sets(out: Path) -> dict[str, list]:
    from handtrace.evaluation import Sample, load_mmpose, pad_sample
    from handtrace.training.palm_data import ComposeConfig, compose

    _, held, _, val_bgs = split_photos()
    _, g_held = gesture_split(out)
    plain = [Sample(p.image, list(p.hands), p.name) for p in held]
    rng = np.random.default_rng(7)
    far_config = ComposeConfig(paste=1.0, empty=0.0, two_hands=0.0, min_palm=FAR_PALM[0],
                               max_palm=FAR_PALM[1], full_rotation=0.0)
    far = []
    for i, p in enumerate(held):
        f = compose(rng, [p], val_bgs, 320, far_config)
        far.append(Sample(f.image, [lm * 320 for lm in f.landmarks], f"far/{i}"))
    return {
        "held-out photos, as is": plain,
        "held-out photos, padded 128 px": [pad_sample(s, 128) for s in plain],
        "held-out photos, zoomed in 1.25-2x": [_zoomed(s, z) for s in plain for z in ZOOMS],
        "held-out photos, far (palm 6-15% of frame)": far,
        "held-out gesture photos (pseudo-labels)": [Sample(p.image, list(p.hands), p.name) for p in g_held],
        "mmpose (22 images, other datasets)": list(load_mmpose()),
    }


def report(out: Path) -> int:
    """Before / after. The run exports its best-validation epoch, but validation holds the held-out photos:
    the last epoch's weights are reported (they have not been chosen on the test photos)."""
    from handtrace import evaluation as ev
    from handtrace.training.palm_cli import palm_detector

    last = last_epoch_model(out / "finetuned.ckpt.pt")
    models = {"MediaPipe full (packaged)": None, f"fine-tuned ({EPOCHS} epochs)": str(last)}
    head = " | ".join(f"{m}: AP@0.5 / recall@0.5" for m in models)
    rows, table = {}, [f"| test set | palms | {head} |", "|---|---|" + "---|" * len(models)]
    for name, samples in test_sets(out).items():
        cells = []
        for label_, path in models.items():
            s = ev.summarize_palms(ev.evaluate_palms(palm_detector(path), samples))
            rows.setdefault(name, {})[label_] = s.to_dict()
            cells.append(f"{100 * s.ap:.1f}% / {100 * s.recall:.1f}%")
        table.append(f"| {name} | {s.gt_hands} | " + " | ".join(cells) + " |")
        print(table[-1], flush=True)
    (out / "report.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "report.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["label", "train", "report"])
    p.add_argument("-o", "--output", type=Path, default=Path("results/palm_finetune"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--lr", type=float, default=LR, help=f"train: peak learning rate (default {LR:g})")
    args = p.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    return {"label": lambda: label(args.output), "train": lambda: train(args.output, args.threads, args.lr),
            "report": lambda: report(args.output)}[args.what]()


if __name__ == "__main__":
    sys.exit(main())
