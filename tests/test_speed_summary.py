"""The speed benchmark's per-frame latency summary (percentiles, spread across passes), on known times."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def speed(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    return load_benchmark("speed")


def test_percentiles_catch_the_spikes_a_median_hides(speed: ModuleType) -> None:
    warm = speed.WARMUP_FRAMES
    steady = [5.0] * 98 + [50.0, 60.0]  # two spikes in 100 frames
    runs = [{"times_ms": [99.0] * warm + steady, "hands": [1]},
            {"times_ms": [99.0] * warm + [t * 2 for t in steady], "hands": [1]}]
    out = speed.video_summary(runs)
    # Pooled: 98 frames at 5 ms, 98 at 10 ms, spikes of 50, 60, 100 and 120 ms; warm-up frames left out.
    assert out["p50_ms"] == pytest.approx(10.0) and out["p95_ms"] == pytest.approx(10.0)
    assert 60.0 < out["p99_ms"] < 100.0 and out["median_ms"] == pytest.approx(10.0)
    assert out["run_median_ms"] == [5.0, 10.0] and out["run_spread"] == pytest.approx(2.0)


def test_no_spread_from_one_pass(speed: ModuleType) -> None:
    assert speed.run_spread([4.0]) is None
    assert speed.latency_percentiles([])["p95_ms"] is None
