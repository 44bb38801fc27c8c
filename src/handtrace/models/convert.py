"""Convert MediaPipe's hand models from ``.tflite`` to ONNX through our PyTorch definitions.

    python -m handtrace.models.convert --models-dir ../shared/models/mediapipe-0.10.21 \
        --output src/handtrace/assets

Weights are read with the ``tflite`` package, loaded into :mod:`palm_detector` / :mod:`hand_landmark`,
and exported with a dynamic batch axis. The originals store float16 weights; the ONNX files keep them
as float16 initializers cast to float32 at load time, so nothing is lost and the files stay small. The
exported input is 8-bit RGB(A) pixels, scaled to [0, 1] inside the graph (:mod:`image_input`).

The palm detector is fully convolutional, so its input height and width are symbolic (``height``,
``width``: multiples of 32): the detector feeds it the image fitted into 192 pixels on its long side and
as few rows or columns as hold the short side, not a 192x192 square that is partly black border. The
runtime fixes both sizes when it opens a session (onnxruntime's free-dimension overrides), which runs as
fast as a fixed-shape export and computes the same values; without them onnxruntime is 30% slower.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from handtrace.anchors import PALM_SIZE_MULTIPLE
from handtrace.models.hand_landmark import HandLandmarkNet
from handtrace.models.image_input import to_uint8_input
from handtrace.models.layers import FastPReLU
from handtrace.models.palm_detector import PalmDetector
from handtrace.models.tflite_weights import TFLiteLayer, read_layers
from handtrace.runtime import PALM_SIZE_DIMS

MODELS = {
    "palm_detection_full": (lambda: PalmDetector(depth=4), 192, ["image"], ["regressors", "scores"]),
    "palm_detection_lite": (lambda: PalmDetector(depth=3), 192, ["image"], ["regressors", "scores"]),
    "hand_landmark_full": (HandLandmarkNet.full, 224, ["image"],
                           ["landmarks", "presence", "handedness", "world_landmarks"]),
    "hand_landmark_lite": (HandLandmarkNet.lite, 224, ["image"],
                           ["landmarks", "presence", "handedness", "world_landmarks"]),
}
#: Models exported with symbolic input height and width (fully convolutional networks).
ANY_SIZE = ("palm_detection_full", "palm_detection_lite")


def _load_layer(module: nn.Module, layer: TFLiteLayer, where: str) -> None:
    w = layer.weight
    if isinstance(module, FastPReLU):
        expected, w = "PRELU", w.reshape(-1)
    elif isinstance(module, nn.Linear):
        expected = "FULLY_CONNECTED"
    elif isinstance(module, nn.Conv2d) and module.groups > 1:
        expected, w = "DEPTHWISE_CONV_2D", w.transpose(3, 0, 1, 2)
    elif isinstance(module, nn.Conv2d):
        expected, w = "CONV_2D", w.transpose(0, 3, 1, 2)
    else:
        raise TypeError(f"{where}: cannot load weights into {type(module).__name__}")
    if layer.op != expected or tuple(w.shape) != tuple(module.weight.shape):
        shape = tuple(module.weight.shape)
        raise ValueError(f"{where}: TFLite {layer.op} {w.shape} does not fit {module} {shape}")
    module.weight.data = torch.from_numpy(np.ascontiguousarray(w))
    if layer.bias is not None:
        module.bias.data = torch.from_numpy(layer.bias.copy())


def load_tflite(name: str, tflite_file: str | Path) -> nn.Module:
    """Build model ``name`` and load the weights of ``tflite_file`` into it, checking every shape."""
    model = MODELS[name][0]()
    modules = model.tflite_layers()
    layers = read_layers(tflite_file)
    if len(modules) != len(layers):
        raise ValueError(f"{name}: {len(layers)} TFLite layers but {len(modules)} in the PyTorch model")
    for i, (module, layer) in enumerate(zip(modules, layers, strict=True)):
        _load_layer(module, layer, f"{name} layer {i}")
    return model.eval()


def _store_float16(path: Path) -> None:
    """Store large float32 initializers as float16 followed by a Cast (exact: the originals are float16)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, keep = [], []
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= 16 and np.array_equal(arr.astype(np.float16), arr):
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "_fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
        else:
            keep.append(init)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _name_size_dims(path: Path) -> None:
    """Call the input's symbolic height and width ``height`` and ``width`` (what the runtime fixes) and drop
    the exporter's intermediate shape hints, which spell sizes in its own symbols."""
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, name in zip(dims[1:3], PALM_SIZE_DIMS, strict=True):
        dim.dim_param = name
    del model.graph.value_info[:]
    onnx.save(model, str(path))


def export_onnx(name: str, model: nn.Module, path: str | Path) -> Path:
    """Export with a dynamic batch axis (and dynamic height and width for :data:`ANY_SIZE` models); the
    PyTorch model's NHWC float32 [0, 1] input becomes uint8 (N, H, W, 3|4) pixels
    (:func:`~handtrace.models.image_input.to_uint8_input`)."""
    _, size, inputs, outputs = MODELS[name]
    path = Path(path)
    example = torch.rand(2, size, size, 3)
    dims: dict[int, object] = {0: torch.export.Dim("batch", min=1, max=64)}
    if name in ANY_SIZE:
        m = PALM_SIZE_MULTIPLE
        dims[1] = m * torch.export.Dim("rows", min=1, max=64)
        dims[2] = m * torch.export.Dim("columns", min=1, max=64)
    with torch.no_grad():
        torch.onnx.export(
            model, (example,), str(path), input_names=inputs, output_names=outputs,
            dynamic_shapes={"image": dims}, dynamo=True, opset_version=18, external_data=False,
        )
    if name in ANY_SIZE:
        _name_size_dims(path)
    _store_float16(path)
    exported = to_uint8_input(onnx.load(str(path)))
    onnx.checker.check_model(exported)
    onnx.save(exported, str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", type=Path, default=Path("../shared/models/mediapipe-0.10.21"))
    parser.add_argument("--output", type=Path, default=Path("src/handtrace/assets"))
    parser.add_argument("--only", choices=sorted(MODELS), action="append", help="convert just these models")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    for name in args.only or MODELS:
        model = load_tflite(name, args.models_dir / f"{name}.tflite")
        out = export_onnx(name, model, args.output / f"{name}.onnx")
        print(f"{name}: {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
