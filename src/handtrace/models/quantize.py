"""Int8 variants of the packaged models with onnxruntime's static quantization.

    python -m handtrace.models.quantize --output src/handtrace/assets

Each float model ``<name>.onnx`` becomes ``<name>_int8.onnx`` (QDQ format): weights int8 per output
channel, activations uint8, the output heads (last Conv / Gemm and what follows) kept float. Ranges are
calibrated (min/max) on real inputs recorded from the float tracker on the shared data
(``$HANDTRACE_DATA``): letterboxed 192x192 images for the palm detector and the 224x224 hand crops fed to
the landmark model, from mmpose's hand images, the gesture photos, mediapipe-rs, mediapipe-samples,
tfjs-models and frames of their videos. hand-graph-cnn-realworld is left out: it is the evaluation set.
The data is read here only; nothing of it is stored.

Only the landmark models are quantized by default: with onnxruntime on x86 (AVX512-VNNI) the int8 landmark
models run in about 0.6x (full) and 0.8x (lite) of the float time at one thread with PCK unchanged on
hand-graph-cnn-realworld, while the int8 palm detectors are no faster (1.0x: the PReLU layers stay
elementwise float work between quantized convolutions) and lose hands. Dynamic quantization (ConvInteger)
is ten times slower and inaccurate; per-tensor weight scales break the depthwise convolutions.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from onnx import numpy_helper

from handtrace.datasets import data_root
from handtrace.io import read_image
from handtrace.models.image_input import to_float_input, to_uint8_input

MODELS = ("palm_detection_full", "palm_detection_lite", "hand_landmark_full", "hand_landmark_lite")
#: Models quantized by default (those worth it, see the module docstring).
DEFAULT_MODELS = ("hand_landmark_full", "hand_landmark_lite")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
VIDEO_FRAMES = 8  # frames taken from each sample video


def float32_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with each ``Cast(float16 initializer)`` folded into a float32 initializer (in place)."""
    inits = {i.name: i for i in model.graph.initializer}
    keep = []
    for node in model.graph.node:
        src = inits.get(node.input[0]) if node.op_type == "Cast" and node.input else None
        if src is not None and src.data_type == onnx.TensorProto.FLOAT16:
            value = numpy_helper.to_array(src).astype(np.float32)
            model.graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    used = {name for node in model.graph.node for name in node.input}
    kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model


def fold_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model after onnxruntime's basic (constant-folding) graph optimizations."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        onnx.save(model, str(src))
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(dst)
        ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
        return onnx.load(str(dst))


def fuse_prelu(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace each ``Relu(x) + a * Clip(x, max=0)`` (our PReLU export) by one ``PRelu(x, a)`` (in place)."""
    inits = {i.name: i for i in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    drop: set[int] = set()
    for add in model.graph.node:
        if add.op_type != "Add":
            continue
        a, b = (producer.get(name) for name in add.input)
        relu, mul = (a, b) if a is not None and a.op_type == "Relu" else (b, a)
        if relu is None or mul is None or relu.op_type != "Relu" or mul.op_type != "Mul":
            continue
        k = 0 if mul.input[0] in inits else 1
        slope_name, clip = mul.input[k], producer.get(mul.input[1 - k])
        if clip is None or clip.op_type != "Clip" or clip.input[0] != relu.input[0]:
            continue
        if slope_name not in inits:
            continue
        drop.update(id(n) for n in (relu, mul, clip))
        add.op_type, add.domain = "PRelu", ""
        del add.input[:]
        add.input.extend([relu.input[0], slope_name])
    keep = [n for n in model.graph.node if id(n) not in drop]
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return model


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the output heads (the last Conv / Gemm before each output) and every node after them."""
    producer = {out: node for node in model.graph.node for out in node.output}
    heads: set[str] = set()
    stack = [o.name for o in model.graph.output]
    while stack:  # walk back from each output to the Conv / Gemm computing it
        node = producer.get(stack.pop())
        if node is None or node.name in heads:
            continue
        heads.add(node.name)
        if node.op_type not in ("Conv", "Gemm"):
            stack.extend(node.input)
    return sorted(heads)


def calibration_images(root: Path) -> Iterator[np.ndarray]:
    """RGB uint8 images with hands from the shared data (not hand-graph-cnn-realworld)."""
    folders = [root / "mmpose", root / "mediapipe-model-maker-gestures", root / "mediapipe-rs",
               root / "mediapipe-samples", root / "tfjs-models"]
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                yield read_image(path)
            elif path.suffix.lower() == ".mp4":
                yield from _video_frames(path, VIDEO_FRAMES)


def _video_frames(path: Path, count: int) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or count
    for index in np.linspace(0, total - 1, count).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = cap.read()
        if ok:
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    cap.release()


def pipeline_inputs(images: Sequence[np.ndarray], variant: str) -> tuple[np.ndarray, np.ndarray]:
    """The palm-detector inputs (N, 192, 192, 3) and landmark crops (M, 224, 224, 3) of the float tracker,
    float32 RGB in [0, 1] as the float network sees them after its input scaling."""
    from handtrace.tracker import HandTracker

    palm: list[np.ndarray] = []
    crops: list[np.ndarray] = []

    def recorder(model: Callable[[np.ndarray], Any], store: list[np.ndarray]) -> Callable[[np.ndarray], Any]:
        def run(batch: np.ndarray) -> Any:
            store.extend(batch[..., :3].astype(np.float32) * np.float32(1 / 255))
            return model(batch)
        return run

    complexity = 1 if variant == "full" else 0
    with HandTracker(model_complexity=complexity, num_threads=1, gestures=False) as tracker:
        assert tracker._detector is not None and tracker._landmarker is not None
        tracker._detector.model = recorder(tracker._detector.model, palm)
        tracker._landmarker.model = recorder(tracker._landmarker.model, crops)
        for image in images:
            tracker.process(image)
    return np.stack(palm), np.stack(crops)


class _Reader:
    """``CalibrationDataReader`` over a batch, one image at a time."""

    def __init__(self, input_name: str, data: np.ndarray) -> None:
        self.input_name = input_name
        self.data = data
        self.index = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.index >= len(self.data):
            return None
        self.index += 1
        return {self.input_name: self.data[self.index - 1 : self.index]}

    def rewind(self) -> None:
        self.index = 0


def quantize(source: Path, target: Path, data: np.ndarray, *, per_channel: bool = True,
             keep_float: Sequence[str] | None = None, method: str = "minmax", fmt: str = "qdq",
             op_types: Sequence[str] | None = None, prelu: bool = False) -> Path:
    """Write an int8 version of float model ``source`` to ``target``, calibrated on ``data`` (NHWC float32
    RGB in [0, 1]). The network is quantized with its float input; ``target`` takes uint8 pixels like
    ``source`` (:mod:`handtrace.models.image_input`).

    ``keep_float``: node names left float (default :func:`head_nodes`); ``method``: calibration;
    ``fmt``: "qdq", "qoperator" or "dynamic"; ``op_types``: op types to quantize (default all);
    ``prelu``: first fuse our PReLU pattern into ``PRelu`` nodes (:func:`fuse_prelu`).
    """
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_dynamic,
        quantize_static,
    )

    model = fold_constants(float32_model(to_float_input(onnx.load(str(source)))))
    if prelu:
        model = fuse_prelu(model)
    if keep_float is None:
        keep_float = head_nodes(model)
    with tempfile.TemporaryDirectory() as tmp:
        plain, prepared = Path(tmp) / "float32.onnx", Path(tmp) / "prepared.onnx"
        onnx.save(model, str(plain))
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
        if fmt == "dynamic":
            quantize_dynamic(str(prepared), str(target), per_channel=per_channel, weight_type=QuantType.QInt8,
                             nodes_to_exclude=list(keep_float))
        else:
            calib = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                     "percentile": CalibrationMethod.Percentile}[method]
            quantize_static(
                str(prepared), str(target), _Reader(model.graph.input[0].name, data),
                quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                per_channel=per_channel, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                calibrate_method=calib, nodes_to_exclude=list(keep_float),
                op_types_to_quantize=list(op_types) if op_types else None,
                extra_options={"CalibMovingAverage": method == "minmax", "CalibPercentile": 99.99,
                               "CalibTensorRangeSymmetric": False},
            )
    onnx.save(to_uint8_input(onnx.load(str(target))), str(target))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    from handtrace.runtime import model_path

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output", type=Path, required=True, help="folder for the *_int8.onnx files")
    p.add_argument("--data-dir", type=Path, default=None, help="shared data folder (default $HANDTRACE_DATA)")
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(DEFAULT_MODELS))
    p.add_argument("--format", choices=("qdq", "qoperator", "dynamic"), default="qdq")
    p.add_argument("--calibration", choices=("minmax", "entropy", "percentile"), default="minmax")
    p.add_argument("--per-tensor", action="store_true", help="per-tensor weight scales (default per channel)")
    p.add_argument("--quantize-heads", action="store_true", help="quantize the output heads too")
    p.add_argument("--fuse-prelu", action="store_true", help="PReLU as PRelu nodes (left float) first")
    args = p.parse_args(argv)

    images = list(calibration_images(args.data_dir or data_root()))
    if not images:
        p.error("no calibration images found")
    args.output.mkdir(parents=True, exist_ok=True)
    inputs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in args.models:
        variant = name.rsplit("_", 1)[1]
        if variant not in inputs:
            inputs[variant] = pipeline_inputs(images, variant)
        palm, crops = inputs[variant]
        data = palm if name.startswith("palm") else crops
        target = args.output / f"{name}_int8.onnx"
        quantize(model_path(name), target, data, per_channel=not args.per_tensor,
                 keep_float=[] if args.quantize_heads else None, method=args.calibration, fmt=args.format,
                 prelu=args.fuse_prelu)
        print(f"{target}: {target.stat().st_size / 1e6:.2f} MB, calibrated on {len(data)} inputs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
