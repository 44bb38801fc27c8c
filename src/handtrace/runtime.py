"""Model runners: the two networks behind one small numpy interface, run by onnxruntime.

Both runners take NHWC float32 batches with values in [0, 1] and return numpy arrays with the batch
axis first. ``backend="litert"`` runs MediaPipe's original ``.tflite`` files instead (through
``ai-edge-litert``); it exists to check our exported models against the originals.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

PALM_INPUT_SIZE = 192
LANDMARK_INPUT_SIZE = 224
NUM_ANCHORS = 2016
VARIANTS = ("full", "lite")


class LandmarkOutput(NamedTuple):
    """Raw landmark-model outputs for a batch of N crops."""

    landmarks: np.ndarray  # (N, 21, 3) in crop pixels (224 scale)
    presence: np.ndarray  # (N,) in [0, 1]
    handedness: np.ndarray  # (N,) probability of a right hand in a mirrored (selfie) image
    world_landmarks: np.ndarray  # (N, 21, 3) metres


def model_path(name: str) -> Path:
    """Path of a packaged ONNX model, e.g. ``model_path("palm_detection_full")``."""
    path = Path(str(resources.files("handtrace") / "assets" / f"{name}.onnx"))
    if not path.is_file():
        raise FileNotFoundError(f"packaged model {path.name} is missing from {path.parent}")
    return path


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"model variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def _check_batch(images: np.ndarray, size: int) -> np.ndarray:
    if images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise ValueError(f"expected a float32 batch of shape (N, {size}, {size}, 3), got {images.shape}")
    return np.ascontiguousarray(images, dtype=np.float32)


def default_threads() -> int:
    """Intra-op threads: every core up to 4 (more does not pay for models this small)."""
    return max(1, min(4, os.cpu_count() or 1))


def create_session(path: Path, threads: int | None = None, providers: list[str] | None = None):
    """An onnxruntime session with options chosen for small convolutional models."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or default_threads()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=providers or ["CPUExecutionProvider"])


class _LiteRTModel:
    """One ``.tflite`` model run through ai-edge-litert, one image at a time."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads or default_threads())
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        # tflite output tensors are named Identity, Identity_1, ...; sort so index i is output i.
        details = sorted(self.interpreter.get_output_details(), key=lambda d: d["name"])
        self.output_indices = [d["index"] for d in details]

    def __call__(self, images: np.ndarray) -> list[np.ndarray]:
        outs: list[list[np.ndarray]] = [[] for _ in self.output_indices]
        for image in images:
            self.interpreter.set_tensor(self.input_index, image[None])
            self.interpreter.invoke()
            for k, idx in enumerate(self.output_indices):
                outs[k].append(self.interpreter.get_tensor(idx)[0].copy())
        return [np.stack(o) for o in outs]


def tflite_path(name: str, models_dir: Path | None = None) -> Path:
    """Path of MediaPipe's original model ``name`` (``$HANDTRACE_MODELS`` or ``../shared/models/...``)."""
    if models_dir is None:
        env = os.environ.get("HANDTRACE_MODELS")
        if env:
            models_dir = Path(env)
        else:
            from handtrace.datasets import data_root

            models_dir = data_root().parent / "models" / "mediapipe-0.10.21"
    return Path(models_dir) / f"{name}.tflite"


class PalmDetectorModel:
    """BlazePalm: (N, 192, 192, 3) -> regressors (N, 2016, 18) and score logits (N, 2016)."""

    def __init__(self, variant: str = "full", threads: int | None = None, backend: str = "onnx",
                 providers: list[str] | None = None) -> None:
        self.variant = _check_variant(variant)
        name = f"palm_detection_{variant}"
        self.backend = backend
        if backend == "onnx":
            self.session = create_session(model_path(name), threads, providers)
            self.input_name = self.session.get_inputs()[0].name
        elif backend == "litert":
            self._litert = _LiteRTModel(tflite_path(name), threads)
        else:
            raise ValueError(f"backend must be 'onnx' or 'litert', got {backend!r}")

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = _check_batch(images, PALM_INPUT_SIZE)
        if self.backend == "onnx":
            regressors, logits = self.session.run(None, {self.input_name: images})
        else:
            regressors, logits = self._litert(images)
        return regressors, logits.reshape(len(images), NUM_ANCHORS)


class HandLandmarkModel:
    """Hand landmarks: (N, 224, 224, 3) -> :class:`LandmarkOutput`."""

    def __init__(self, variant: str = "full", threads: int | None = None, backend: str = "onnx",
                 providers: list[str] | None = None) -> None:
        self.variant = _check_variant(variant)
        name = f"hand_landmark_{variant}"
        self.backend = backend
        if backend == "onnx":
            self.session = create_session(model_path(name), threads, providers)
            self.input_name = self.session.get_inputs()[0].name
        elif backend == "litert":
            self._litert = _LiteRTModel(tflite_path(name), threads)
        else:
            raise ValueError(f"backend must be 'onnx' or 'litert', got {backend!r}")

    def __call__(self, crops: np.ndarray) -> LandmarkOutput:
        crops = _check_batch(crops, LANDMARK_INPUT_SIZE)
        n = len(crops)
        if n == 0:
            z = np.zeros((0, 21, 3), np.float32)
            return LandmarkOutput(z, np.zeros(0, np.float32), np.zeros(0, np.float32), z.copy())
        if self.backend == "onnx":
            lm, presence, handedness, world = self.session.run(None, {self.input_name: crops})
        else:
            lm, presence, handedness, world = self._litert(crops)
        return LandmarkOutput(
            lm.reshape(n, 21, 3), presence.reshape(n), handedness.reshape(n), world.reshape(n, 21, 3)
        )
