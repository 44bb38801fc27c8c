"""Reference outputs from MediaPipe 0.10.21 itself (legacy ``mp.solutions.hands``).

Run with the separate environment made by ``benchmarks/setup_mediapipe_env.sh`` (MediaPipe needs
numpy<2)::

    .venv-mediapipe/bin/python benchmarks/mediapipe_reference.py still [--model-complexity 0|1] [--out F]
    .venv-mediapipe/bin/python benchmarks/mediapipe_reference.py video VIDEO OUT.json [--max-num-hands 1|2]
    .venv-mediapipe/bin/python benchmarks/mediapipe_reference.py time IMAGE [IMAGE ...] [--repeat N]
    .venv-mediapipe/bin/python benchmarks/mediapipe_reference.py dropin [--out F] [--task F]
    .venv-mediapipe/bin/python benchmarks/mediapipe_reference.py drawing   # drawing_utils parity fixture
    .venv-mediapipe/bin/python benchmarks/mediapipe_reference.py bundle OUT.task [--model-complexity 0|1]
    python benchmarks/mediapipe_reference.py metrics [--still F]   # no MediaPipe needed

Shared images are found under ``$HANDTRACE_DATA`` (default ``<repo>/../shared/data``). Images are read
with ``cv2.imread`` and converted BGR->RGB before ``Hands.process``. Settings: ``static_image_mode``
True for ``still``/``time`` (False for ``video``), ``max_num_hands=2``, ``model_complexity=1`` (0 with
``--model-complexity 0``), ``min_detection_confidence=0.5``, ``min_tracking_confidence=0.5``.

Hand record (one per detected hand, in MediaPipe's output order)::

    {"landmarks_px": 21 x [x, y, z],   # pixels of the processed image, 2 decimals; z = normalized z * width
                                       # (MediaPipe's z is relative to the wrist, at the scale of x;
                                       # smaller = nearer the camera)
     "world_m": 21 x [x, y, z],        # world landmarks, metres, 5 decimals, origin near the hand centre
     "handedness_mediapipe": "Left",   # the label as MediaPipe reports it (it assumes a mirrored selfie)
     "handedness": "Right",            # that label flipped: the hand's true side in a non-mirrored photo
     "score": 0.9731}                  # MediaPipe's handedness score, 4 decimals

``still`` fixture (``tests/fixtures/mediapipe_0.10.21_still.json``, compact JSON)::

    {"mediapipe_version": "0.10.21",
     "settings": {"static_image_mode": true, "max_num_hands": 2, "model_complexity": 1,
                  "min_detection_confidence": 0.5},
     "images": {"<path relative to the data root>": {"size": [width, height], "hands": [hand, ...]}},
     "padded": {"pad": 128,              # hand-graph-cnn photos with 128 px of black on every side
                "images": {"hand-graph-cnn-realworld/images/00003.jpg":
                           {"size": [512, 512], "hands": [hand, ...]}}}}

Padded landmarks are in padded-image pixels (subtract ``pad`` for the original photo's). Images with no
hand have ``"hands": []``.

``video`` output: ``{"mediapipe_version", "settings", "video", "size": [w, h], "fps", "frames",
"frames_with_hand", "per_frame": [[hand, ...], ...]}`` (one list of hand records per frame).

``time`` output (stdout, or ``--out``): ``{"mediapipe_version", "settings", "median_ms",
"per_image_median_ms": {path: ms}}``; ``median_ms`` is the median over all timed ``process`` calls.

``dropin`` fixture (``tests/fixtures/mediapipe_0.10.21_dropin.json``) for ``handtrace.mediapipe``: the shared
still images through MediaPipe's two hand APIs with their default options except ``max_num_hands`` /
``num_hands`` = 2, in MediaPipe's own units (normalised landmarks, as user code sees them)::

    {"mediapipe_version": "0.10.21",
     "images": {"<path>": {"size": [width, height],
                           "legacy": [{"landmarks": 21 x [x, y, z] normalised, 5 decimals,
                                       "world": 21 x [x, y, z] m, 4 decimals,
                                       "index": 0|1, "label": "Left"|"Right", "score": s}, ...],
                           "tasks": [{"landmarks": ..., "label_own_bundle": "Left"|"Right",
                                      "score": s}, ...]}}}

``legacy``: ``mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2)`` on the image read with
``cv2.imread`` (BGR -> RGB). ``tasks``: ``vision.HandLandmarker`` (IMAGE mode, ``num_hands=2``) on
``mp.Image.create_from_file``. MediaPipe's ``hand_landmarker.task`` cannot be downloaded here, so ``--task``
defaults to a bundle assembled from the original ``.tflite`` files (``../shared/models/mediapipe-0.10.21``,
full models, image-input metadata added with MediaPipe's metadata writer: [0, 1] input scaling, as the
legacy graphs use). With those weights the Tasks graph labels handedness the other way round from the legacy
graph (and from the released bundle, whose own tests expect "Left" on ``handlandmarker_test_image.jpg`` and
``handlandmarker_test_video.mp4``, as the legacy graph gives): the label is kept as ``label_own_bundle`` for
the record, and the parity test takes MediaPipe's labels from ``legacy``.

``bundle`` writes such an assembled ``hand_landmarker.task`` (``--model-complexity 1``: full models, 0:
palm_detection_lite + hand_landmark_lite); ``benchmarks/speed.py`` times the Tasks API with these.

``drawing`` fixture (``tests/fixtures/mediapipe_0.10.21_drawing.json`` + ``.png``): MediaPipe's
``drawing_utils.draw_landmarks`` on synthetic hands (no shared data): the JSON lists the cases (normalised
landmarks, optional visibility, which styles), the PNG holds the drawn BGR canvases side by side.

``metrics`` compares the ``still`` fixture with ``hand-graph-cnn-realworld/annotations_21kp.json``: hands
found, PCK@0.1/0.2 (normalised by the largest side of the ground-truth keypoint box; a photo with no
hand found counts all its keypoints as misses) and mean pixel error over found hands, as-is and padded.
The first hand MediaPipe reports is scored.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HANDTRACE_DATA", REPO.parent / "shared" / "data"))
STILL_OUT = REPO / "tests" / "fixtures" / "mediapipe_0.10.21_still.json"
DRAWING_OUT = REPO / "tests" / "fixtures" / "mediapipe_0.10.21_drawing.json"
DROPIN_OUT = REPO / "tests" / "fixtures" / "mediapipe_0.10.21_dropin.json"
MODELS = Path(os.environ.get("HANDTRACE_MODELS", DATA.parent / "models" / "mediapipe-0.10.21"))
PAD = 128
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}
HGC_DIR = "hand-graph-cnn-realworld"
FLIP = {"Left": "Right", "Right": "Left"}


def still_images(root: Path) -> list[Path]:
    """The shared still images, in a stable order."""
    patterns = [
        "tfjs-models/hands.jpg",
        "mediapipe-samples/*",
        "mediapipe-rs/*",
        "mediapipe-model-maker-gestures/*/*",
        "mmpose/**/*",
        f"{HGC_DIR}/images/*",
    ]
    found: list[Path] = []
    for pattern in patterns:
        found += sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    return found


def make_hands(static: bool, max_num_hands: int, complexity: int) -> Any:
    """A legacy ``mp.solutions.hands.Hands`` with the reference settings."""
    import mediapipe as mp

    return mp.solutions.hands.Hands(
        static_image_mode=static,
        max_num_hands=max_num_hands,
        model_complexity=complexity,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )


def settings(static: bool, max_num_hands: int, complexity: int) -> dict[str, Any]:
    return {
        "static_image_mode": static,
        "max_num_hands": max_num_hands,
        "model_complexity": complexity,
        "min_detection_confidence": 0.5,
    }


def mp_version() -> str:
    import mediapipe as mp

    return str(mp.__version__)


def read_rgb(path: Path, pad: int = 0) -> Any:
    """Read an image with cv2 as RGB, optionally padded with black on every side."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read {path}")
    if pad:
        bgr = cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def hand_records(results: Any, width: int, height: int, world: bool = True) -> list[dict[str, Any]]:
    """Convert a legacy ``process`` result to hand records (see the module docstring)."""
    hands: list[dict[str, Any]] = []
    if not results.multi_hand_landmarks:
        return hands
    worlds = results.multi_hand_world_landmarks or [None] * len(results.multi_hand_landmarks)
    for lms, wlms, handed in zip(results.multi_hand_landmarks, worlds, results.multi_handedness, strict=True):
        cls = handed.classification[0]
        rec: dict[str, Any] = {
            "landmarks_px": [
                [round(p.x * width, 2), round(p.y * height, 2), round(p.z * width, 2)] for p in lms.landmark
            ]
        }
        if world and wlms is not None:
            rec["world_m"] = [[round(p.x, 5), round(p.y, 5), round(p.z, 5)] for p in wlms.landmark]
        rec["handedness_mediapipe"] = cls.label
        rec["handedness"] = FLIP.get(cls.label, cls.label)
        rec["score"] = round(float(cls.score), 4)
        hands.append(rec)
    return hands


def run_still(root: Path, out: Path, complexity: int) -> None:
    """Run on every shared still image (and the padded hand-graph-cnn photos) and write the fixture."""
    images: dict[str, Any] = {}
    padded: dict[str, Any] = {}
    paths = still_images(root)
    with make_hands(True, 2, complexity) as hands:
        for i, path in enumerate(paths):
            rel = path.relative_to(root).as_posix()
            passes = [(0, images)] + ([(PAD, padded)] if rel.startswith(f"{HGC_DIR}/") else [])
            for pad, table in passes:
                rgb = read_rgb(path, pad)
                h, w = rgb.shape[:2]
                table[rel] = {"size": [w, h], "hands": hand_records(hands.process(rgb), w, h)}
            if (i + 1) % 25 == 0:
                print(f"{i + 1}/{len(paths)}", file=sys.stderr)
    doc = {
        "mediapipe_version": mp_version(),
        "settings": settings(True, 2, complexity),
        "images": images,
        "padded": {"pad": PAD, "images": padded},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    n_hands = sum(len(v["hands"]) for v in images.values())
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {len(images)} images, {n_hands} hands, "
        f"{len(padded)} padded",
        file=sys.stderr,
    )


#: The original ``.tflite`` files of each model variant: (palm detector, hand landmarks).
TASK_MODELS = {
    "full": ("palm_detection_full.tflite", "hand_landmark_full.tflite"),
    "lite": ("palm_detection_lite.tflite", "hand_landmark_lite.tflite"),
}


def task_bundle_members(models: Path, variant: str = "full") -> dict[str, Path]:
    """Member name in a ``hand_landmarker.task`` -> the original ``.tflite`` it is made from."""
    if variant not in TASK_MODELS:
        raise ValueError(f"unknown model variant {variant!r}; choose from {list(TASK_MODELS)}")
    palm, landmarks = TASK_MODELS[variant]
    return {"hand_detector.tflite": models / palm, "hand_landmarks_detector.tflite": models / landmarks}


def build_task_bundle(models: Path, out: Path, variant: str = "full") -> Path:
    """A ``hand_landmarker.task`` (zip of ``hand_detector.tflite`` + ``hand_landmarks_detector.tflite``) from
    the original ``variant`` models (full or lite), with the image-input metadata the Tasks graphs read
    ([0, 1] scaling). Needs MediaPipe (its metadata writer)."""
    import zipfile

    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    def with_metadata(path: Path, name: str) -> bytes:
        writer = metadata_writer.MetadataWriter.create(bytearray(path.read_bytes()))
        writer.add_general_info(name, "MediaPipe 0.10.21 hand model, image-input metadata added")
        writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
        model, _ = writer.populate()
        return bytes(model)

    names = {"hand_detector.tflite": "palm", "hand_landmarks_detector.tflite": "hand landmarks"}
    members = task_bundle_members(models, variant)
    tmp = out.with_name(out.name + ".tmp")  # written aside, then renamed: a bundle that exists is complete
    with zipfile.ZipFile(tmp, "w") as bundle:
        for member, path in members.items():
            bundle.writestr(member, with_metadata(path, names[member]))
    tmp.replace(out)
    return out


def normalized_records(landmark_lists: Any, world_lists: Any | None = None) -> list[dict[str, Any]]:
    """Landmark lists (protobuf or Tasks lists) -> records of normalised landmarks (and world)."""
    records = []
    for i, lms in enumerate(landmark_lists):
        points = lms.landmark if hasattr(lms, "landmark") else lms
        rec: dict[str, Any] = {"landmarks": [[round(p.x, 5), round(p.y, 5), round(p.z, 5)] for p in points]}
        if world_lists is not None:
            wpoints = world_lists[i].landmark if hasattr(world_lists[i], "landmark") else world_lists[i]
            rec["world"] = [[round(p.x, 4), round(p.y, 4), round(p.z, 4)] for p in wpoints]
        records.append(rec)
    return records


def run_dropin(root: Path, out: Path, task: Path | None) -> None:
    """Both hand APIs of MediaPipe on every shared still image, in MediaPipe's units (module docstring)."""
    import tempfile

    import mediapipe as mp
    from mediapipe.tasks import python as mp_python
    from mediapipe.tasks.python import vision

    images: dict[str, Any] = {}
    paths = still_images(root)
    with tempfile.TemporaryDirectory() as tmp:
        task = task or build_task_bundle(MODELS, Path(tmp) / "hand_landmarker.task")
        options = vision.HandLandmarkerOptions(
            base_options=mp_python.BaseOptions(model_asset_path=str(task)), num_hands=2)
        with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2) as hands, \
                vision.HandLandmarker.create_from_options(options) as landmarker:
            for i, path in enumerate(paths):
                rel = path.relative_to(root).as_posix()
                rgb = read_rgb(path)
                h, w = rgb.shape[:2]
                legacy = hands.process(rgb)
                legacy_hands = normalized_records(legacy.multi_hand_landmarks or [],
                                                  legacy.multi_hand_world_landmarks or [])
                for rec, handed in zip(legacy_hands, legacy.multi_handedness or [], strict=True):
                    c = handed.classification[0]
                    rec.update(index=int(c.index), label=c.label, score=round(float(c.score), 4))
                result = landmarker.detect(mp.Image.create_from_file(str(path)))
                tasks_hands = normalized_records(result.hand_landmarks)
                for rec, cats in zip(tasks_hands, result.handedness, strict=True):
                    rec.update(label_own_bundle=cats[0].category_name, score=round(float(cats[0].score), 4))
                images[rel] = {"size": [w, h], "legacy": legacy_hands, "tasks": tasks_hands}
                if (i + 1) % 25 == 0:
                    print(f"{i + 1}/{len(paths)}", file=sys.stderr)
    doc = {"mediapipe_version": mp_version(), "images": images}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    tmp_out.replace(out)
    n = [sum(len(v[k]) for v in images.values()) for k in ("legacy", "tasks")]
    print(f"wrote {out}: {len(images)} images, {n[0]} legacy hands, {n[1]} tasks hands", file=sys.stderr)


DRAWING_CANVAS = (120, 160)  # height, width


def drawing_cases() -> list[dict[str, Any]]:
    """Synthetic hands for the drawing fixture: a seeded hand-like fan of points per case."""
    import numpy as np

    rng = np.random.default_rng(7)
    cases = []
    styles = ["defaults", "hand_styles", "connections_only", "hand_styles"]
    for k, style in enumerate(styles):
        centre = np.array([0.5, 0.6]) + rng.uniform(-0.1, 0.1, 2)
        angles = np.repeat(np.linspace(-2.4, -0.7, 5), 4) + rng.normal(0, 0.05, 20)
        radii = np.tile([0.12, 0.22, 0.3, 0.36], 5) * (0.8 + 0.1 * k)
        pts = np.vstack([centre, centre + radii[:, None] * np.c_[np.cos(angles), np.sin(angles)]])
        z = rng.normal(0, 0.02, 21)
        case: dict[str, Any] = {"style": style,
                                "landmarks": np.round(np.c_[pts, z], 5).tolist()}
        if k == 3:  # hidden points (visibility set below 0.5) and points off the image
            case["visibility"] = [0.2 if i in (4, 8) else 0.9 for i in range(21)]
            case["landmarks"][12][0] = 1.2
            case["landmarks"][16][1] = -0.1
        cases.append(case)
    return cases


def draw_cases(mp: Any, landmark_pb2: Any, cases: list[dict[str, Any]]) -> Any:
    """The cases drawn side by side (BGR) with ``mp.solutions.drawing_utils`` of the given module: MediaPipe
    here, ``handtrace.mediapipe`` in tests/test_mediapipe_dropin.py."""
    import numpy as np

    du, ds, hands = mp.solutions.drawing_utils, mp.solutions.drawing_styles, mp.solutions.hands
    canvases = []
    for case in cases:
        image = np.full((*DRAWING_CANVAS, 3), 40, np.uint8)
        lms = landmark_pb2.NormalizedLandmarkList()
        for i, (x, y, z) in enumerate(case["landmarks"]):
            lm = lms.landmark.add(x=x, y=y, z=z)
            if "visibility" in case:
                lm.visibility = case["visibility"][i]
        if case["style"] == "defaults":
            du.draw_landmarks(image, lms, hands.HAND_CONNECTIONS)
        elif case["style"] == "hand_styles":
            du.draw_landmarks(image, lms, hands.HAND_CONNECTIONS, ds.get_default_hand_landmarks_style(),
                              ds.get_default_hand_connections_style())
        else:
            du.draw_landmarks(image, lms, hands.HAND_CONNECTIONS, None,
                              du.DrawingSpec(color=(0, 255, 0), thickness=1))
        canvases.append(image)
    return np.hstack(canvases)


def run_drawing(out: Path) -> None:
    """Draw the cases with MediaPipe's drawing_utils; write the JSON and the PNG beside it."""
    import cv2
    import mediapipe as mp
    from mediapipe.framework.formats import landmark_pb2

    cases = drawing_cases()
    out.write_text(json.dumps({"mediapipe_version": mp_version(), "canvas": list(DRAWING_CANVAS),
                               "cases": cases}) + "\n")
    cv2.imwrite(str(out.with_suffix(".png")), draw_cases(mp, landmark_pb2, cases))
    print(f"wrote {out} and {out.with_suffix('.png')}", file=sys.stderr)


def read_frames(video: Path) -> Iterator[Any]:
    """Yield the RGB frames of a video."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def run_video(video: Path, out: Path, max_num_hands: int, complexity: int) -> None:
    """Run in video (tracking) mode over every frame and write per-frame hand records."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    cap.release()
    per_frame: list[list[dict[str, Any]]] = []
    size = [0, 0]
    with make_hands(False, max_num_hands, complexity) as hands:
        for rgb in read_frames(video):
            h, w = rgb.shape[:2]
            size = [w, h]
            per_frame.append(hand_records(hands.process(rgb), w, h))
    doc = {
        "mediapipe_version": mp_version(),
        "settings": settings(False, max_num_hands, complexity),
        "video": str(video),
        "size": size,
        "fps": fps,
        "frames": len(per_frame),
        "frames_with_hand": sum(1 for f in per_frame if f),
        "per_frame": per_frame,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {out}: {doc['frames_with_hand']}/{doc['frames']} frames with a hand", file=sys.stderr)


def run_time(paths: list[Path], repeat: int, complexity: int, pad: int, out: Path | None) -> None:
    """Median wall time of ``process`` per image (static mode; one untimed warm-up call first)."""
    frames = [(p, read_rgb(p, pad)) for p in paths]
    all_ms: list[float] = []
    per_image: dict[str, float] = {}
    with make_hands(True, 2, complexity) as hands:
        hands.process(frames[0][1])
        for path, rgb in frames:
            ms: list[float] = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                hands.process(rgb)
                ms.append((time.perf_counter() - t0) * 1e3)
            per_image[str(path)] = round(statistics.median(ms), 3)
            all_ms += ms
    doc = {
        "mediapipe_version": mp_version(),
        "settings": {**settings(True, 2, complexity), "pad": pad, "repeat": repeat},
        "median_ms": round(statistics.median(all_ms), 3),
        "per_image_median_ms": per_image,
    }
    text = json.dumps(doc, indent=1)
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n")
    print(f"median {doc['median_ms']:.2f} ms/image over {len(paths)} images x {repeat}", file=sys.stderr)


def score(table: dict[str, Any], truth: dict[str, list[list[float]]], offset: float) -> dict[str, float]:
    """Found share, PCK@0.1/0.2 (misses count as wrong) and mean px error of the first hand."""
    n_found = 0
    hits = {0.1: 0, 0.2: 0}
    errors: list[float] = []
    for rel, gt in truth.items():
        hands = table[rel]["hands"]
        if not hands:
            continue
        n_found += 1
        xs, ys = [p[0] for p in gt], [p[1] for p in gt]
        norm = max(max(xs) - min(xs), max(ys) - min(ys))
        for (px, py, _), (gx, gy) in zip(hands[0]["landmarks_px"], gt, strict=True):
            err = ((px - offset - gx) ** 2 + (py - offset - gy) ** 2) ** 0.5
            errors.append(err)
            for a in hits:
                hits[a] += err <= a * norm
    n_kp = 21 * len(truth)
    return {
        "images": len(truth),
        "found_pct": 100 * n_found / len(truth),
        "pck_0.1_pct": 100 * hits[0.1] / n_kp,
        "pck_0.2_pct": 100 * hits[0.2] / n_kp,
        "mean_err_px": sum(errors) / len(errors) if errors else float("nan"),
    }


def run_metrics(root: Path, still: Path) -> None:
    """Score the ``still`` fixture against the hand-graph-cnn ground truth, as-is and padded."""
    doc = json.loads(still.read_text())
    ann = json.loads((root / HGC_DIR / "annotations_21kp.json").read_text())
    truth = {f"{HGC_DIR}/{s['image']}": s["keypoints_2d"] for s in ann["samples"]}
    pad = doc["padded"]["pad"]
    rows = {
        "as-is": score(doc["images"], truth, 0),
        f"padded {pad} px": score(doc["padded"]["images"], truth, pad),
    }
    print(f"{'input':<14} {'found':>7} {'PCK@0.1':>8} {'PCK@0.2':>8} {'mean px':>8}")
    for name, m in rows.items():
        print(
            f"{name:<14} {m['found_pct']:6.1f}% {m['pck_0.1_pct']:7.1f}% {m['pck_0.2_pct']:7.1f}% "
            f"{m['mean_err_px']:8.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", type=Path, default=DATA, help="shared data root (default: %(default)s)")
    common.add_argument("--model-complexity", type=int, choices=(0, 1), default=1)
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("still", parents=[common], help="all shared still images -> JSON fixture")
    p.add_argument("--out", type=Path, default=None, help=f"default: {STILL_OUT} (complexity 1)")
    p = sub.add_parser("video", parents=[common], help="video (tracking) mode on one video -> JSON")
    p.add_argument("video", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--max-num-hands", type=int, choices=(1, 2), default=2)
    p = sub.add_parser("time", parents=[common], help="median ms per process() call on still images")
    p.add_argument("images", type=Path, nargs="+")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--pad", type=int, default=0, help="pad each image with this many black px")
    p.add_argument("--out", type=Path, default=None)
    p = sub.add_parser("dropin", parents=[common], help="legacy + Tasks API results for handtrace.mediapipe")
    p.add_argument("--out", type=Path, default=DROPIN_OUT)
    p.add_argument("--task", type=Path, default=None, help="a hand_landmarker.task (default: built from "
                   "the original .tflite files)")
    p = sub.add_parser("bundle", parents=[common], help="assemble a hand_landmarker.task (.tflite files)")
    p.add_argument("out", type=Path)
    p.add_argument("--models", type=Path, default=MODELS, help="folder of the original .tflite files")
    p = sub.add_parser("drawing", parents=[common], help="drawing_utils parity fixture (synthetic hands)")
    p.add_argument("--out", type=Path, default=DRAWING_OUT)
    p = sub.add_parser(
        "metrics", parents=[common], help="score the still fixture on hand-graph-cnn (no MediaPipe)"
    )
    p.add_argument("--still", type=Path, default=STILL_OUT)
    args = parser.parse_args(argv)

    if args.cmd == "still":
        out = args.out or (
            STILL_OUT
            if args.model_complexity == 1
            else STILL_OUT.with_name(f"mediapipe_0.10.21_still_c{args.model_complexity}.json")
        )
        run_still(args.data, out, args.model_complexity)
    elif args.cmd == "video":
        run_video(args.video, args.out, args.max_num_hands, args.model_complexity)
    elif args.cmd == "dropin":
        run_dropin(args.data, args.out, args.task)
    elif args.cmd == "bundle":
        variant = "full" if args.model_complexity == 1 else "lite"
        print(build_task_bundle(args.models, args.out, variant))
    elif args.cmd == "drawing":
        run_drawing(args.out)
    elif args.cmd == "time":
        run_time(args.images, args.repeat, args.model_complexity, args.pad, args.out)
    else:
        run_metrics(args.data, args.still)


if __name__ == "__main__":
    main()
