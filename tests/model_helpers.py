"""Whether the packaged ONNX models are present: a checkout without them skips the tests that run them."""

from __future__ import annotations

import pytest


def models_available() -> bool:
    from handtrace.runtime import model_path

    try:
        model_path("palm_detection_full")
        model_path("hand_landmark_full")
    except FileNotFoundError:
        return False
    return True


needs_models = pytest.mark.skipif(not models_available(), reason="packaged ONNX models are missing")
