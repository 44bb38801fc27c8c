"""Shared fixtures: the shared data folder (tests that need it skip cleanly when it is absent)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

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


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], ModuleType]:
    """Import a script of ``benchmarks/`` by name (they are scripts, not a package)."""

    def load(name: str) -> ModuleType:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)
        return module

    return load
