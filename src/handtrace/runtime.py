"""Model runners: the two networks behind one small numpy interface, run by onnxruntime.

Both runners take NHWC batches of 8-bit RGB or RGBA pixels (alpha unused) and return numpy arrays with the
batch axis first; the packaged models scale the pixels to [0, 1] themselves (see
:mod:`handtrace.models.image_input`). float32 RGB batches in [0, 1] are accepted too and rounded to 8 bits,
which is exact for images that came from 8-bit pixels. ``backend="litert"`` runs MediaPipe's original
``.tflite`` files instead (through ``ai-edge-litert``); it exists to check our exported models against the
originals.
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from collections import deque
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from handtrace.anchors import PALM_INPUT_SIZE, PALM_SIZE_MULTIPLE

#: The packaged palm models take any input height and width that are multiples of ``PALM_SIZE_MULTIPLE``
#: (the network is fully convolutional); these are the symbolic dimensions' names.
PALM_SIZE_DIMS = ("height", "width")
LANDMARK_INPUT_SIZE = 224
VARIANTS = ("full", "lite")
#: Model precisions: "float" (the converted models) or "int8" (``<name>_int8.onnx``, made by
#: ``python -m handtrace.models.quantize``).
PRECISIONS = ("float", "int8")


class LandmarkOutput(NamedTuple):
    """Raw landmark-model outputs for a batch of N crops."""

    landmarks: np.ndarray  # (N, 21, 3) in crop pixels (224 scale)
    presence: np.ndarray  # (N,) in [0, 1]
    handedness: np.ndarray  # (N,) probability of a right hand in a non-mirrored photo (MediaPipe: "Left")
    world_landmarks: np.ndarray  # (N, 21, 3) metres


def model_path(name: str) -> Path:
    """Path of a packaged ONNX model, e.g. ``model_path("palm_detection_full")``."""
    path = Path(str(resources.files("handtrace") / "assets" / f"{name}.onnx"))
    if not path.is_file():
        raise FileNotFoundError(f"packaged model {path.name} is missing from {path.parent}")
    return path


#: Output names of each model family's ONNX files (what a model file must provide to replace one).
FAMILY_OUTPUTS = {"palm_detection": ("regressors", "scores"),
                  "hand_landmark": ("landmarks", "presence", "handedness", "world_landmarks")}


def check_model_file(path: str | os.PathLike[str], family: str, session) -> None:
    """Raise a ValueError unless ``session`` (opened on ``path``) has the outputs of ``family``
    ("palm_detection" or "hand_landmark"), i.e. is that model in the packaged form (``handtrace train``)."""
    outputs = tuple(o.name for o in session.get_outputs())
    if outputs != FAMILY_OUTPUTS[family]:
        raise ValueError(f"{path}: not a {family.replace('_', ' ')} model (outputs {outputs}, expected "
                         f"{FAMILY_OUTPUTS[family]})")


#: onnxruntime execution providers of each device, in order of preference (CPU last: an operator a GPU
#: provider lacks runs there).
DEVICE_PROVIDERS: dict[str, tuple[str, ...]] = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
}


def device_providers(device: str) -> list[str]:
    """The onnxruntime providers for ``device`` ("cpu" or "cuda").

    Raises:
        ValueError: an unknown device.
        RuntimeError: this onnxruntime lacks the device's provider (the CPU-only ``onnxruntime`` package
            has no CUDA provider: ``onnxruntime-gpu``, the ``[gpu]`` extra, has), naming what to install.
    """
    if device not in DEVICE_PROVIDERS:
        raise ValueError(f"device must be one of {tuple(DEVICE_PROVIDERS)}, got {device!r}")
    import onnxruntime as ort

    available = ort.get_available_providers()
    missing = [p for p in DEVICE_PROVIDERS[device] if p not in available]
    if missing:
        raise RuntimeError(
            f"device {device!r} needs onnxruntime's {missing[0]}, which this onnxruntime {ort.__version__} "
            f"lacks (it has {', '.join(available)}): on a machine with an NVIDIA GPU and CUDA, replace the "
            "onnxruntime package by onnxruntime-gpu "
            "(pip uninstall onnxruntime; pip install 'handtrace[gpu]')")
    return list(DEVICE_PROVIDERS[device])


def check_providers(session, providers: list[str] | None, path: Path) -> None:
    """Raise a RuntimeError when ``session`` left out a requested GPU provider: onnxruntime falls back to
    the CPU with only a log line when, say, the CUDA libraries cannot be loaded."""
    wanted = [p for p in providers or () if p != "CPUExecutionProvider"]
    if not wanted:
        return
    used = session.get_providers()
    missing = [p for p in wanted if p not in used]
    if missing:
        raise RuntimeError(f"{path.name}: onnxruntime could not start {missing[0]} (running on {used}); "
                           "check the CUDA and cuDNN libraries onnxruntime-gpu needs")


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"model variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def _model_name(name: str, precision: str, backend: str) -> str:
    """Packaged model name for ``precision`` ("float": ``name``; "int8": ``name_int8``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "float":
        return name
    if backend != "onnx":
        raise ValueError(f"precision {precision!r} needs backend 'onnx', got {backend!r}")
    return f"{name}_{precision}"


def _check_batch(images: np.ndarray, size: int | None, multiple: int = 1) -> np.ndarray:
    """``images`` as a contiguous uint8 (N, size, size, 3|4) batch; with ``size`` None, (N, H, W, 3|4) with
    H and W multiples of ``multiple``.

    uint8 RGB(A) passes as is; float RGB in [0, 1] is rounded to 8-bit pixels.
    """
    images = np.asarray(images)
    floating = np.issubdtype(images.dtype, np.floating)
    channels = (3,) if floating else (3, 4)
    hw = images.shape[1:3] if images.ndim == 4 else ()
    if size is None:
        sized = len(hw) == 2 and all(d > 0 and d % multiple == 0 for d in hw)
        s = f"H, W (multiples of {multiple})"
    else:
        sized, s = hw == (size, size), f"{size}, {size}"
    if not sized or images.shape[3] not in channels:
        raise ValueError(f"expected a batch of shape (N, {s}, 3|4) uint8 RGB(A) or (N, {s}, 3) float in "
                         f"[0, 1], got {images.shape} {images.dtype}")
    if floating:
        return np.rint(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {images.dtype}")
    return np.ascontiguousarray(images)


def default_threads() -> int:
    """Intra-op threads: every core up to 4 (more does not pay for models this small)."""
    return max(1, min(4, os.cpu_count() or 1))


#: Config entries for every session. ``force_spinning_stop``: worker threads stop spin-waiting as soon as a
#: run returns instead of burning a core while Python prepares the next input (or the other model runs).
SESSION_CONFIG = {"session.force_spinning_stop": "1"}


def create_session(path: Path, threads: int | None = None, providers: list[str] | None = None,
                   sizes: dict[str, int] | None = None):
    """An onnxruntime session with options chosen for small convolutional models; ``sizes`` fixes symbolic
    input dimensions by name (a graph planned for fixed sizes runs faster)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    for name, value in (sizes or {}).items():
        opts.add_free_dimension_override_by_name(name, value)
    opts.intra_op_num_threads = threads or default_threads()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    for key, value in SESSION_CONFIG.items():
        opts.add_session_config_entry(key, value)
    return ort.InferenceSession(str(path), sess_options=opts, providers=providers or ["CPUExecutionProvider"])


class ThreadChooser:
    """Which of two sessions (0: one thread, 1: several) to run next, from measured seconds per image.

    Several intra-op threads only pay while a core is free: on a busy machine (another process, a decoding
    thread) a run on two threads can be two or three times slower than on one. So the chooser uses
    whichever session has been faster lately (median of the last ``WINDOW`` timings of the session in use:
    a single slow call, say while another process finishes its work, does not move it, a lasting load does
    within three calls) and now and then *probes* the other one for ``PROBE_CALLS`` calls (the first of them
    untimed: cold caches and sleeping threads). It switches when the other session is faster by
    ``1 - SWITCH_GAIN`` or more.

    Probing is asymmetric. On the multi-thread session, load shows up in its own timings, which rise past the
    one-thread figure and trigger a probe at once (the switch follows if the probe confirms it: the figure may
    be old, and a machine that slowed down as a whole should not go to one thread); otherwise the one-thread
    figure is only refreshed every ``REFRESH_INTERVAL`` calls. On the one-thread session, only a probe can
    tell that the machine is quiet again: after ``MIN_INTERVAL`` calls, an interval that doubles (up to
    ``MAX_INTERVAL``) with each probe that loses (a close loss too: probing every few calls where two threads
    barely help would spend a third of the calls on them) and starts again from ``MIN_INTERVAL`` after a
    switch. Start-up times each session on its second to fourth calls (the first is untimed) and picks several
    threads only when they are faster by ``1 - PREFER_ONE`` or more: three timings each, not one, so that a
    moment of noise at start-up does not decide a whole run differently from the next, and one thread where
    two barely help (two hyper-threads of one core), which leaves the other core to the rest of the work.
    """

    CALIBRATION_CALLS = 3  # timed start-up runs of each session (after an untimed first one)
    #: Calls before the chooser has measured both sessions at start-up.
    STARTUP_CALLS = 2 * (CALIBRATION_CALLS + 1)
    PREFER_ONE = 0.85  # at start-up several threads are chosen only when this much faster than one
    PROBE_CALLS = 4
    MIN_INTERVAL = 8
    MAX_INTERVAL = 128
    REFRESH_INTERVAL = 512
    SWITCH_GAIN = 0.9  # a session must be this much faster than the one in use to take over
    WINDOW = 5  # timings of the session in use its figure is the median of

    def __init__(self) -> None:
        self.seconds_per_image: list[float | None] = [None, None]
        self._recent: list[deque[float]] = [deque(maxlen=self.WINDOW), deque(maxlen=self.WINDOW)]
        self.best = 0
        self._interval = self.MIN_INTERVAL
        self._since_probe = 0
        self._probe_left = 0
        self._probe_times: list[float] = []
        self._last = -1  # session of the previous run
        self._calibrating = True

    def pick(self) -> int:
        """The session to run next."""
        if self._calibrating:
            return 0 if len(self._recent[0]) < self.CALIBRATION_CALLS else 1
        if self._probe_left:
            return 1 - self.best
        self._since_probe += 1
        interval = self._interval if self.best == 0 else self.REFRESH_INTERVAL
        if self._since_probe > interval:
            self._start_probe()
            return 1 - self.best
        return self.best

    def record(self, k: int, seconds_per_image: float) -> None:
        """Account for a run of session ``k`` (as :meth:`pick` chose) that took this long per image."""
        fast = self.seconds_per_image
        if self._last == k:  # the first run of a session, or after a switch, pays for cold caches: not timed
            if self._probe_left:
                self._probe_times.append(seconds_per_image)
            else:
                self._recent[k].append(seconds_per_image)
                fast[k] = statistics.median(self._recent[k])
        self._last = k
        if self._calibrating:
            if len(self._recent[1]) >= self.CALIBRATION_CALLS:
                self._calibrating = False
                self.best = int(fast[1] < self.PREFER_ONE * fast[0])  # type: ignore[operator]
            return
        if self._probe_left:
            self._probe_left -= 1
            if not self._probe_left:
                self._end_probe()
        elif (fast[0] is not None and fast[1] is not None
              and fast[self.best] * self._gain() > fast[1 - self.best]):  # the session in use got slow
            # Look at the other one again before switching: its figure may be old, and the whole machine
            # slowing down for a while (a VM's neighbours) would otherwise send a run to one thread.
            self._start_probe()

    def _start_probe(self) -> None:
        """Time the other session for the next ``PROBE_CALLS`` calls."""
        self._since_probe = 0
        self._probe_left = self.PROBE_CALLS
        self._probe_times = []

    def _gain(self) -> float:
        """How much faster the other session must be to take over: more for going to several threads."""
        return self.PREFER_ONE if self.best == 0 else self.SWITCH_GAIN

    def _switch(self) -> None:
        self.best = 1 - self.best
        self._interval = self.MIN_INTERVAL
        self._since_probe = 0

    def _end_probe(self) -> None:
        fast = self.seconds_per_image
        if self._probe_times:
            other = 1 - self.best
            fast[other] = statistics.median(self._probe_times)
            self._recent[other].clear()
            self._recent[other].extend(self._probe_times)
        probed, best = fast[1 - self.best], fast[self.best]
        if probed is None or best is None:
            return
        if probed < self._gain() * best:
            self._switch()
        elif self.best == 0:  # probing the multi-thread session: back off while it keeps losing
            self._interval = min(2 * self._interval, self.MAX_INTERVAL)


class AutoThreadsSession:
    """One model in two onnxruntime sessions, 1 thread and ``threads`` threads, picked by measured speed.

    :class:`ThreadChooser` decides which session runs each call. Both sessions compute bit-identical outputs
    (onnxruntime splits a kernel's work by output elements, not across a sum), so the choice changes speed
    only. The multi-thread session is created on its first use; other attributes are those of the
    1-thread session.
    """

    def __init__(self, path: Path, threads: int, providers: list[str] | None = None,
                 sizes: dict[str, int] | None = None) -> None:
        self.path = path
        self.threads = threads
        self.providers = providers
        self.sizes = sizes
        self.sessions: list = [create_session(path, 1, providers, sizes), None]
        self.chooser = ThreadChooser()
        self.calls = 0
        self.last_threads = 0  #: intra-op threads of the latest run (0: none yet)

    def run(self, output_names, input_feed, run_options=None):
        """``InferenceSession.run`` on the session picked by measurement."""
        k = self.chooser.pick()
        session = self.sessions[k]
        if session is None:
            session = self.sessions[k] = create_session(self.path, self.threads, self.providers, self.sizes)
        t0 = time.perf_counter()
        outputs = session.run(output_names, input_feed, run_options)
        elapsed = time.perf_counter() - t0
        self.chooser.record(k, elapsed / max(1, len(next(iter(input_feed.values())))))
        self.calls += 1
        self.last_threads = 1 if k == 0 else self.threads
        return outputs

    @property
    def seconds_per_image(self) -> list[float | None]:
        return self.chooser.seconds_per_image

    @property
    def current_threads(self) -> int:
        """Intra-op threads of the session in use now."""
        return 1 if self.chooser.best == 0 else self.threads

    @property
    def single_thread(self):
        """The 1-thread session, for callers that run several calls side by side on different cores."""
        return self.sessions[0]

    def __getattr__(self, name: str):
        return getattr(self.sessions[0], name)


def make_session(path: Path, threads: int | None = None, providers: list[str] | None = None,
                 sizes: dict[str, int] | None = None):
    """The session a model runs on (``sizes``: see :func:`create_session`).

    Exactly ``threads`` threads when given; else an :class:`AutoThreadsSession` choosing between 1 thread and
    :func:`default_threads` (a plain session on a single core or with other providers).
    """
    cpu_only = providers is None or list(providers) == ["CPUExecutionProvider"]
    if threads is None and cpu_only and default_threads() > 1:
        return AutoThreadsSession(path, default_threads(), providers, sizes)
    return create_session(path, threads, providers, sizes)


class SessionPerSize:
    """A model with symbolic input height and width, run by one session per input size, each planned for
    its size (:func:`make_session` with ``sizes``); sessions open on first use, and the least recently used
    closes when more than ``MAX_SIZES`` are open. Other attributes are those of the last session run.
    """

    MAX_SIZES = 6  # photos come in a handful of aspect ratios; each session holds ~10 MB

    def __init__(self, path: Path, threads: int | None, providers: list[str] | None,
                 first: tuple[int, int]) -> None:
        self.path, self.threads, self.providers = path, threads, providers
        self.sessions: dict[tuple[int, int], object] = {}
        self._last = self._session(first)

    def for_size(self, size: tuple[int, int]):
        """The session for inputs of ``size`` ``(height, width)``, opened if needed."""
        self._last = self._session(tuple(size))
        return self._last

    def _session(self, size: tuple[int, int]):
        session = self.sessions.pop(size, None)
        if session is None:
            sizes = dict(zip(PALM_SIZE_DIMS, size, strict=True))
            session = make_session(self.path, self.threads, self.providers, sizes)
            if len(self.sessions) >= self.MAX_SIZES:
                del self.sessions[next(iter(self.sessions))]
        self.sessions[size] = session  # (re)inserted last: the dict is in order of use
        return session

    def run(self, output_names, input_feed, run_options=None):
        """``InferenceSession.run`` on the session for the input's (N, H, W, C) height and width."""
        images = next(iter(input_feed.values()))
        self._last = self._session(tuple(images.shape[1:3]))
        return self._last.run(output_names, input_feed, run_options)

    def __getattr__(self, name: str):
        if name.startswith("_"):  # not set yet (during __init__): no recursion through self._last
            raise AttributeError(name)
        return getattr(self._last, name)


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
        """Outputs for a uint8 RGB(A) batch, fed to the original model as float32 RGB in [0, 1]."""
        outs: list[list[np.ndarray]] = [[] for _ in self.output_indices]
        for image in images:
            pixels = image[None, ..., :3].astype(np.float32) * np.float32(1 / 255)  # as our models' prologue
            self.interpreter.set_tensor(self.input_index, pixels)
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


class _Network:
    """One of the two networks, run by onnxruntime (or LiteRT, to check against the originals).

    Subclasses name their model files (``family``), check their input and decode the raw outputs.
    """

    family: str

    def __init__(self, variant: str = "full", threads: int | None = None, backend: str = "onnx",
                 providers: list[str] | None = None, precision: str = "float",
                 path: str | os.PathLike[str] | None = None) -> None:
        self.variant = _check_variant(variant)
        name = f"{self.family}_{variant}"
        onnx_name = _model_name(name, precision, backend)
        self.backend = backend
        self.precision = precision
        #: The ONNX file run: ``path`` (a trained model, ``handtrace train``) or None for the packaged model.
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            if backend != "onnx" or precision != "float":
                raise ValueError(f"a model file ({path}) runs on backend 'onnx' at precision 'float' only")
            if not self.path.is_file():
                raise FileNotFoundError(f"model file not found: {path}")
        if backend == "onnx":
            try:
                self.session = self._open(self.path or model_path(onnx_name), threads, providers)
            except Exception as exc:  # onnxruntime's errors for a file that is no model (InvalidProtobuf...)
                if self.path is None:
                    raise
                raise ValueError(f"{path}: cannot load as an ONNX model: {exc}") from None
            if self.path is not None:
                check_model_file(self.path, self.family, self.session)
            check_providers(self.session, providers, self.path or model_path(onnx_name))
            self.input_name = self.session.get_inputs()[0].name
        elif backend == "litert":
            self._litert = _LiteRTModel(tflite_path(name), threads)
        else:
            raise ValueError(f"backend must be 'onnx' or 'litert', got {backend!r}")

    def _open(self, path: Path, threads: int | None, providers: list[str] | None):
        return make_session(path, threads, providers)

    def _run(self, images: np.ndarray) -> list[np.ndarray]:
        """Raw outputs, in the models' output order, for a batch already checked by ``_check_batch``."""
        if self.backend == "onnx":
            return self.session.run(None, {self.input_name: images})
        return self._litert(images)


class PalmDetectorModel(_Network):
    """BlazePalm: (N, H, W, 3|4) uint8 RGB(A) -> regressors (N, A, 18) and score logits (N, A).

    The network is fully convolutional: on onnxruntime H and W may be any multiples of 32, and A is
    ``len(palm_anchors(H, W))`` (2016 at MediaPipe's 192x192, 1344 at 128x192). Each size runs on its own
    session, opened on first use. MediaPipe's ``.tflite`` (``backend="litert"``) takes 192x192 only
    (``any_size`` False). ``precision``: "float" (default) or "int8" (not packaged: no faster for this model
    on x86). ``path``: an ONNX file in the packaged form to run instead (e.g. from ``handtrace train``).
    """

    family = "palm_detection"
    input_size = PALM_INPUT_SIZE

    def __init__(self, variant: str = "full", threads: int | None = None, backend: str = "onnx",
                 providers: list[str] | None = None, precision: str = "float",
                 path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(variant, threads, backend, providers, precision, path)
        #: Whether inputs other than 192x192 are accepted.
        self.any_size = backend == "onnx"

    def _open(self, path: Path, threads: int | None, providers: list[str] | None):
        return SessionPerSize(path, threads, providers, first=(PALM_INPUT_SIZE, PALM_INPUT_SIZE))

    def single_threaded(self, size: tuple[int, int]) -> PalmDetectorModel | None:
        """This model for inputs of ``size`` ``(height, width)`` on a session of one intra-op thread when it
        has one (else its own for that size), bound now so another thread can run it while this one goes
        on; None for LiteRT. Outputs are bit-identical to the model's own."""
        if not self.any_size:
            return None
        session = self.session.for_size(size)
        model = copy.copy(self)
        model.session = getattr(session, "single_thread", session)
        return model

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = (_check_batch(images, None, PALM_SIZE_MULTIPLE) if self.any_size
                  else _check_batch(images, PALM_INPUT_SIZE))
        regressors, logits = self._run(images)
        return regressors, logits.reshape(len(images), -1)


class HandLandmarkModel(_Network):
    """Hand landmarks: (N, 224, 224, 3|4) uint8 RGB(A) -> :class:`LandmarkOutput`.

    ``precision``: "float" (default) or "int8" (the quantized model: faster on CPUs with int8 dot products).
    ``path``: an ONNX file in the packaged form to run instead (e.g. from ``handtrace train``).
    """

    family = "hand_landmark"

    def single_threaded(self) -> HandLandmarkModel | None:
        """This model on its 1-thread session, safe to call from several threads at once (one core each),
        or None when it has none of its own (a fixed ``threads``, one core, LiteRT). Outputs are
        bit-identical to the model's own."""
        single = getattr(getattr(self, "session", None), "single_thread", None)
        if single is None:
            return None
        model = copy.copy(self)
        model.session = single
        return model

    def __call__(self, crops: np.ndarray) -> LandmarkOutput:
        crops = _check_batch(crops, LANDMARK_INPUT_SIZE)
        n = len(crops)
        if n == 0:
            z = np.zeros((0, 21, 3), np.float32)
            return LandmarkOutput(z, np.zeros(0, np.float32), np.zeros(0, np.float32), z.copy())
        lm, presence, handedness, world = self._run(crops)
        return LandmarkOutput(
            lm.reshape(n, 21, 3), presence.reshape(n), handedness.reshape(n), world.reshape(n, 21, 3)
        )
