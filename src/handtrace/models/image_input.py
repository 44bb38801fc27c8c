"""The models' image input: 8-bit RGB(A) pixels, converted to float inside the graph.

Exported from PyTorch, a network takes NHWC float32 in [0, 1] and starts with a Transpose to NCHW. Our
pipeline has 8-bit pixels (the warps that letterbox and crop work on uint8), and onnxruntime transposes and
converts them faster than numpy, on a quarter of the bytes. :func:`to_uint8_input` replaces that first
Transpose by ``Transpose (uint8) -> Slice (first 3 channels) -> Cast -> Mul (1/255)``: the input becomes
uint8 (N, H, W, C) with C = 3 (RGB) or 4 (RGBA, alpha unused), and the network sees exactly the values
``pixels.astype(float32) * float32(1 / 255)`` it saw before. :func:`to_float_input` undoes it (the
quantizer calibrates the float network). Only ``onnx`` is needed here.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PREFIX = "uint8_input/"


def _reads_leading_dims(node: onnx.NodeProto) -> bool:
    """Whether ``node`` is a Shape reading only batch, height and width (the same for uint8 RGBA input)."""
    ends = [a.i for a in node.attribute if a.name == "end"]
    return node.op_type == "Shape" and bool(ends) and 0 < ends[0] <= 3


def _first_transpose(model: onnx.ModelProto, input_name: str) -> onnx.NodeProto:
    # Exports with symbolic sizes also read the batch size off the input (a Shape node): it may stay.
    users = [n for n in model.graph.node if input_name in n.input and not _reads_leading_dims(n)]
    transpose = users[0] if len(users) == 1 and users[0].op_type == "Transpose" else None
    perm = [list(a.ints) for a in transpose.attribute if a.name == "perm"] if transpose is not None else []
    if perm != [[0, 3, 1, 2]]:
        raise ValueError(f"{input_name!r} does not feed a single NHWC -> NCHW Transpose")
    return users[0]


def _image_dims(value: onnx.ValueInfoProto) -> list[onnx.TensorShapeProto.Dimension]:
    dims = list(value.type.tensor_type.shape.dim)
    if len(dims) != 4:
        raise ValueError(f"input {value.name!r} is not a 4-D image batch")
    return dims


def _replace_input(graph: onnx.GraphProto, image: onnx.ValueInfoProto, elem_type: int,
                   channels: int | str) -> None:
    """Put a new first input in place of ``image``: same name, batch, height and width (fixed or symbolic),
    element type ``elem_type`` and ``channels``."""
    batch, height, width, _ = _image_dims(image)
    sizes = [d.dim_param or d.dim_value for d in (batch, height, width)]
    graph.input.remove(image)
    graph.input.insert(0, helper.make_tensor_value_info(image.name, elem_type, [*sizes, channels]))


def is_uint8_input(model: onnx.ModelProto) -> bool:
    """Whether the model's first input is the uint8 image of :func:`to_uint8_input`."""
    return model.graph.input[0].type.tensor_type.elem_type == TensorProto.UINT8


def to_uint8_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its NHWC float32 [0, 1] image input turned into uint8 (N, H, W, 3|4) pixels (in
    place)."""
    graph = model.graph
    image = graph.input[0]
    if is_uint8_input(model):
        return model
    transpose = _first_transpose(model, image.name)
    _image_dims(image)  # a 4-D image batch, checked before the graph changes
    constants = {
        "start": np.array([0], np.int64), "end": np.array([3], np.int64), "axis": np.array([1], np.int64),
        "scale": np.array(1 / 255, np.float32),
    }
    graph.initializer.extend(numpy_helper.from_array(v, PREFIX + k) for k, v in constants.items())
    p = PREFIX
    prologue = [
        helper.make_node("Transpose", [image.name], [p + "nchw"], name=p + "transpose", perm=[0, 3, 1, 2]),
        helper.make_node("Slice", [p + "nchw", p + "start", p + "end", p + "axis"], [p + "rgb"],
                         name=p + "rgb"),
        helper.make_node("Cast", [p + "rgb"], [p + "float"], name=p + "cast", to=TensorProto.FLOAT),
        helper.make_node("Mul", [p + "float", p + "scale"], [transpose.output[0]], name=p + "scale"),
    ]
    nodes = prologue + [n for n in graph.node if n is not transpose]
    del graph.node[:]
    graph.node.extend(nodes)
    _replace_input(graph, image, TensorProto.UINT8, "channels")
    return model


def to_float_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """Undo :func:`to_uint8_input`: the NHWC float32 [0, 1] RGB input and its Transpose again (in place)."""
    graph = model.graph
    if not is_uint8_input(model):
        return model
    image = graph.input[0]
    _image_dims(image)  # a 4-D image batch, checked before the graph changes
    scale = next(n for n in graph.node if n.name == PREFIX + "scale")
    nodes = [helper.make_node("Transpose", [image.name], [scale.output[0]], name=PREFIX + "float_transpose",
                              perm=[0, 3, 1, 2])]
    nodes += [n for n in graph.node if not n.name.startswith(PREFIX)]
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [i for i in graph.initializer if not i.name.startswith(PREFIX)]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    _replace_input(graph, image, TensorProto.FLOAT, 3)
    return model
