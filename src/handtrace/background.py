"""Palm detection on a spare core, in the background of video tracking.

While hands are tracked, the palm detector only looks for hands that are not tracked yet, and nothing on
the frame waits for its answer. :class:`BackgroundDetector` runs it on a worker thread in the lowest
scheduling class (Linux ``SCHED_IDLE``): the thread gets a core only while no other thread of the machine
wants it. Inside ``HandTracker.process`` a core is idle whenever the pipeline's Python runs (crops,
geometry, smoothing, gestures: one thread) and between calls while the caller waits for its camera, so
the detector fills those gaps instead of adding its run to one frame; the landmark model keeps both cores.

The caller takes the result at the start of a later frame (:meth:`BackgroundDetector.poll`): as soon as it
is ready, or by a deadline frame after which it waits (so a machine with no idle time still finds new
hands). Which frame that is depends on timing; pass ``background_detection=False`` to ``HandTracker`` for
frame-exact, reproducible runs.

Only Linux lets one thread of a process drop its own priority; elsewhere :func:`available` is False and
the tracker detects inline.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from handtrace.detection import PalmDetections, PalmDetector, PalmInputs


def available() -> bool:
    """Whether this platform can run the detector at idle priority on a second core."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return cores >= 2


def lower_priority() -> bool:
    """Put the calling thread in the idle scheduling class (``nice 19`` where that is refused)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # 0: the calling thread on Linux
        return True
    except (AttributeError, OSError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        return True
    except (AttributeError, OSError):
        return False


@dataclass
class Pending:
    """A detection running in the background: the frame it looks at, its input and the model's outputs to
    come."""

    frame: int
    inputs: PalmInputs
    future: Future[tuple[np.ndarray, np.ndarray]]


class BackgroundDetector:
    """Runs one palm detection at a time on an idle-priority worker thread.

    ``detector``: the :class:`~handtrace.detection.PalmDetector` whose letterbox, model (on its 1-thread
    session, see :meth:`~handtrace.runtime.PalmDetectorModel.single_threaded`) and decoding are used.
    The image is letterboxed, and the outputs decoded, on the caller's thread: the caller may reuse or draw
    on its frame afterwards, and the worker holds Python's GIL only for a moment around the model run (a
    thread at idle priority holding it could stall the caller on a busy machine). Not thread-safe: one
    video stream calls it.
    """

    def __init__(self, detector: PalmDetector) -> None:
        self.detector = detector
        self.pending: Pending | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0

    @classmethod
    def supports(cls, detector: PalmDetector) -> bool:
        """Whether ``detector``'s model can run on the worker thread (onnxruntime models can)."""
        single = getattr(detector.model, "single_threaded", None)
        return single is not None and getattr(detector.model, "any_size", False)

    @property
    def busy(self) -> bool:
        """A detection was started and its result not taken yet."""
        if self.pending is not None and self._pid != os.getpid():
            self.pending = None  # started in the parent of this forked process: its thread is not here
        return self.pending is not None

    def submit(self, image: np.ndarray, frame: int) -> None:
        """Start detecting palms in ``image`` (H, W, 3|4) uint8, frame number ``frame``.

        Raises:
            RuntimeError: a detection is already pending (take it with :meth:`poll` or :meth:`cancel`).
        """
        if self.busy:
            raise RuntimeError("a background detection is already running")
        inputs = self.detector.prepare([image])
        model = self.detector.model.single_threaded(inputs.shape)
        if model is None:
            raise RuntimeError("this palm model cannot run in the background")
        self.pending = Pending(frame, inputs, self._worker().submit(model, inputs.batch))

    def poll(self, frame: int, max_delay: int) -> tuple[int, PalmDetections] | None:
        """The pending result as ``(frame it looked at, detections)`` when it is ready, or when ``frame`` is
        ``max_delay`` frames past that one (then waiting for it); else None. An error of the detection is
        raised here."""
        pending = self.pending if self.busy else None
        if pending is None or (not pending.future.done() and frame - pending.frame < max_delay):
            return None
        self.pending = None
        return pending.frame, self.detector.decode(pending.inputs, *pending.future.result())[0]

    def cancel(self) -> None:
        """Drop the pending detection, if any (a reset, or an inline detection superseding it)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.future.cancel()  # a running one finishes on its own; its result is never read

    def close(self) -> None:
        self.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _worker(self) -> ThreadPoolExecutor:
        if self._executor is not None and self._pid != os.getpid():
            self._executor = None  # a forked child has the executor but not its thread
        if self._executor is None:
            self._pid = os.getpid()
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="handtrace-palm",
                                                initializer=lower_priority)
        return self._executor
