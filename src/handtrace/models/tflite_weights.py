"""Read the weights of a TFLite model, in graph order, with the ``tflite`` flatbuffer package."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

# tflite.TensorType values we meet in MediaPipe's models.
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32}
PARAMETRIC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "PRELU", "FULLY_CONNECTED")


class TFLiteLayer(NamedTuple):
    op: str
    # TFLite layouts: conv (O, kh, kw, I), depthwise (1, kh, kw, C), prelu (1, 1, C), fc (O, I).
    weight: np.ndarray
    bias: np.ndarray | None


def _op_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


def read_layers(path: str | Path) -> list[TFLiteLayer]:
    """Parametric layers (conv, depthwise conv, PReLU, fully connected) in execution order, as float32.

    Weights stored as float16 behind DEQUANTIZE ops are followed back to their float16 buffers.
    """
    import tflite

    buf = Path(path).read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    names = _op_names()

    def op_name(op) -> str:
        code = model.OperatorCodes(op.OpcodeIndex())
        return names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]

    def raw(tensor_index: int) -> np.ndarray | None:
        t = graph.Tensors(tensor_index)
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, int) or data.size == 0:
            return None
        return np.frombuffer(data.tobytes(), _DTYPES[t.Type()]).reshape(t.ShapeAsNumpy())

    dequantized: dict[int, int] = {}
    ops = [graph.Operators(i) for i in range(graph.OperatorsLength())]
    for op in ops:
        if op_name(op) == "DEQUANTIZE":
            dequantized[op.Outputs(0)] = op.Inputs(0)

    def value(tensor_index: int) -> np.ndarray:
        data = raw(dequantized.get(tensor_index, tensor_index))
        if data is None:
            raise ValueError(f"{path}: tensor {tensor_index} has no constant data")
        return data.astype(np.float32)

    layers = []
    for op in ops:
        name = op_name(op)
        if name not in PARAMETRIC_OPS:
            continue
        weight = value(op.Inputs(1))
        bias = value(op.Inputs(2)) if op.InputsLength() > 2 and op.Inputs(2) >= 0 else None
        layers.append(TFLiteLayer(name, weight, bias))
    return layers
