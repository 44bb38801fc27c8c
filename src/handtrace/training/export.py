"""Weights in and out of the runtime's ONNX form.

:func:`load_landmark_net` starts training from MediaPipe's weights as handtrace packages them (the ONNX files
in ``handtrace/assets``, whose initializers carry the PyTorch parameter names), so neither the ``.tflite``
originals nor the ``tflite`` package are needed. :func:`export_model` writes trained weights through
:func:`handtrace.models.convert.export_onnx`, the very export that made the packaged files (8-bit input, fast
PReLU form, float16 weights, dynamic batch, symbolic palm input size), to a temporary name renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from handtrace.models.convert import MODELS, export_onnx
from handtrace.models.hand_landmark import HandLandmarkNet
from handtrace.runtime import model_path

VARIANTS = ("full", "lite")
FP16_SUFFIX = "_fp16"  # convert._store_float16 stores float16 initializers under the parameter name + this


def packaged_weights(name: str) -> dict[str, np.ndarray]:
    """Initializers of packaged model ``name`` by name (float16 ones as float32, under the parameter name)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(model_path(name)))
    return {i.name.removesuffix(FP16_SUFFIX): numpy_helper.to_array(i).astype(np.float32)
            for i in model.graph.initializer}


def load_landmark_net(variant: str = "full", pretrained: bool = True) -> HandLandmarkNet:
    """The landmark network (``variant`` "full" or "lite"), with MediaPipe's weights from the packaged ONNX
    model when ``pretrained`` (every parameter found and its shape checked), else freshly initialised."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    net = HandLandmarkNet.full() if variant == "full" else HandLandmarkNet.lite()
    if pretrained:
        weights = packaged_weights(f"hand_landmark_{variant}")
        state = net.state_dict()
        for key, param in state.items():
            if key not in weights or weights[key].shape != tuple(param.shape):
                found = weights[key].shape if key in weights else "missing"
                raise ValueError(f"hand_landmark_{variant}.onnx: {key} {tuple(param.shape)}: {found}")
            state[key] = torch.from_numpy(weights[key])
        net.load_state_dict(state)
    return net


def landmark_variant(net: nn.Module) -> str:
    """"full" or "lite" from the network's head width."""
    return "full" if net.landmarks.in_features == 1152 else "lite"


def export_model(name: str, net: nn.Module, path: str | Path) -> Path:
    """Export ``net`` as packaged model ``name`` (e.g. "hand_landmark_full") to ``path``, atomically: a crash
    leaves any earlier file at ``path`` intact. Refuses to overwrite the packaged models themselves."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    path = Path(path)
    packaged = {model_path(n).resolve() for n in MODELS}
    if path.resolve() in packaged:
        raise ValueError(f"{path} is a packaged model: write trained models elsewhere")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".onnx", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the model is an ordinary file
    was_training = net.training
    try:
        export_onnx(name, net.eval().cpu(), tmp)
        os.replace(tmp, path)
    finally:
        net.train(was_training)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def export_landmark_net(net: HandLandmarkNet, path: str | Path) -> Path:
    """:func:`export_model` for a landmark network (its variant from its size)."""
    return export_model(f"hand_landmark_{landmark_variant(net)}", net, path)
