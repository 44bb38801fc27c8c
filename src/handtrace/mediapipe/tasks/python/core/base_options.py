"""``BaseOptions`` of the Tasks API.

handtrace runs its packaged models (MediaPipe's published hand models, converted): a ``model_asset_path``
(MediaPipe's ``hand_landmarker.task`` / ``gesture_recognizer.task``) or ``model_asset_buffer`` is accepted and
ignored, with a one-line note in the log; the file need not exist. ``delegate`` is ignored too (onnxruntime on
the CPU).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

_log = logging.getLogger("handtrace.mediapipe")
_noted: set[str] = set()


@dataclass
class BaseOptions:
    """Model asset and delegate (both unused: handtrace's packaged models run on onnxruntime)."""

    class Delegate(enum.IntEnum):
        CPU = 0
        GPU = 1

    model_asset_path: str | None = None
    model_asset_buffer: bytes | None = None
    delegate: Delegate | None = None

    def note_ignored_model(self) -> None:
        """Log, once per model per process, that the given model asset is not used."""
        if self.model_asset_path is not None:
            what = f"model_asset_path {self.model_asset_path!r}"
        elif self.model_asset_buffer is not None:
            what = "model_asset_buffer"
        else:
            return
        if what not in _noted:
            _noted.add(what)
            _log.warning("handtrace.mediapipe: %s ignored; using handtrace's packaged hand models", what)
