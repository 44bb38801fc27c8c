"""Shared fixtures: the shared data folder (tests that need it skip cleanly when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handtrace.datasets import data_root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"shared data not found at {root} (set HANDTRACE_DATA)")
    return root


@pytest.fixture(scope="session")
def models_dir(data_dir: Path) -> Path:
    """MediaPipe's original .tflite files, beside the shared data."""
    path = data_dir.parent / "models" / "mediapipe-0.10.21"
    if not path.is_dir():
        pytest.skip(f"original models not found at {path}")
    return path
