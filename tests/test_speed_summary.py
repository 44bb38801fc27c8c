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


# -- three implementations: order, ratios, table ----------------------------------------------------
THREE = ("handtrace", "mediapipe", "mediapipe_tasks")
#: Per-call times of the fake runs below: handtrace / legacy = 0.5, handtrace / Tasks = 0.75.
MS = {"handtrace": 6.0, "mediapipe": 12.0, "mediapipe_tasks": 8.0}


@pytest.mark.parametrize("start", range(7))
def test_each_implementation_goes_first_once_in_any_three_steps(speed: ModuleType, start: int) -> None:
    orders = [speed.impl_order(THREE, step) for step in range(start, start + 3)]
    assert sorted(o[0] for o in orders) == sorted(THREE)
    assert all(sorted(o) == sorted(THREE) for o in orders)


@pytest.mark.parametrize("start", range(7))
def test_six_steps_balance_positions_and_neighbours(speed: ModuleType, start: int) -> None:
    orders = [speed.impl_order(THREE, step) for step in range(start, start + 6)]
    assert len(set(orders)) == 6  # every permutation once
    for position in range(3):
        assert sorted(o[position] for o in orders) == sorted(THREE * 2)
    pairs = [(o[i], o[i + 1]) for o in orders for i in range(2)]
    # Each implementation runs right after each other one twice: what one leaves behind hits all alike.
    assert {p: pairs.count(p) for p in pairs} == {(a, b): 2 for a in THREE for b in THREE if a != b}


def test_two_implementations_alternate_as_before(speed: ModuleType) -> None:
    two = ("handtrace", "mediapipe")
    assert [speed.impl_order(two, s) for s in range(4)] == [two, two[::-1], two, two[::-1]]


def fake_runs(op: str, impl: str, passes: int = 2) -> list[dict]:
    """Constant-time runs of one implementation (handtrace's carry its model-time fields)."""
    if op == "still":
        run = {"times_ms": [MS[impl]] * 5, "hands": 1}
        return [dict(run, detector_runs_per_image=1.0) if impl == "handtrace" else run] * passes
    n = 20
    run = {"times_ms": [MS[impl]] * n, "hands": [1] * n}
    if impl == "handtrace":
        run |= {"model_ms": [MS[impl] - 1] * n, "palm_calls": [0] * n,
                "stats": {"detector_runs": 1, "frames": n}}
    return [run] * passes


def fake_fresh(impls: tuple[str, ...]) -> dict:
    return {"full": {i: {"first": [{"seconds": MS[i] / 10, "peak_rss_mb": 100 * MS[i]}],
                         "offline": [{"fps": 600 / MS[i], "peak_rss_mb": 100 * MS[i], "frames": 325}]}
                     for i in impls}}


def fake_summary(speed: ModuleType, impls: tuple[str, ...]) -> dict:
    scenarios = speed.scenarios_for(["full"])
    for sc in scenarios:
        for impl in sc.impls:
            if impl in impls:
                sc.runs[impl] = fake_runs(sc.op, impl)
    return speed.summarise(scenarios, fake_fresh(impls), impls)


def fake_meta(impls: tuple[str, ...]) -> dict:
    versions = {i: {"mediapipe": "0.10.21"} for i in impls if i != "handtrace"}
    versions["handtrace"] = {"handtrace": "0.1.0", "onnxruntime": "1.32.0"}
    return {"cpu": "test CPU", "cores": 2, "python": "3.11", "python_mediapipe": "3.11", "versions": versions,
            "settings": {"quick": True, "rounds": 3, "still_exchanges": 1, "fresh_rounds": 1}, "seconds": 1.0,
            "load": {"others_cores": 0.0, "min": 0.5, "max": 1.0}}


def test_summary_gives_handtrace_ratios_to_each_mediapipe_api(speed: ModuleType) -> None:
    summary = fake_summary(speed, THREE)
    video = summary["video2_one_full"]
    assert video["mediapipe_tasks"]["median_ms"] == pytest.approx(8.0)
    assert video["ratios"]["mediapipe"]["median_ms"] == pytest.approx(0.5)
    assert video["ratios"]["mediapipe_tasks"]["p95_ms"] == pytest.approx(0.75)
    assert video["ratios"]["mediapipe_tasks"]["run_spread"] == pytest.approx(1.0)
    assert summary["still_two_full"]["ratios"]["mediapipe_tasks"] == {"median_ms": pytest.approx(0.75)}
    fresh = summary["fresh_full"]["ratios"]
    assert fresh["mediapipe"]["offline_fps"] == pytest.approx(2.0)  # frames/s: above 1 is faster
    assert fresh["mediapipe_tasks"]["first_result_s"] == pytest.approx(0.75)
    assert summary["video1_gestures_full"]["ratios"] == {}  # handtrace only


def test_summary_without_tasks_has_no_tasks_figures(speed: ModuleType) -> None:
    summary = fake_summary(speed, ("handtrace", "mediapipe"))
    assert "mediapipe_tasks" not in summary["video2_one_full"]
    assert set(summary["video2_one_full"]["ratios"]) == {"mediapipe"}
    assert set(summary["fresh_full"]["ratios"]) == {"mediapipe"}


def test_ratio_is_missing_without_both_figures(speed: ModuleType) -> None:
    assert speed.ratio_value(3.0, None) is None and speed.ratio_value(float("nan"), 2.0) is None
    assert speed.ratio_value(3.0, 0.0) is None and speed.ratio(3.0, 2.0) == "1.50"
    assert speed.handtrace_ratios({"mediapipe": {"median_ms": 1.0}}, ("median_ms",)) == {}


def test_table_has_legacy_and_tasks_columns(speed: ModuleType) -> None:
    table = speed.markdown(fake_summary(speed, THREE), ["full"], fake_meta(THREE), THREE).splitlines()
    assert ("| scenario | model | metric | handtrace | MediaPipe legacy | MediaPipe Tasks "
            "| handtrace / legacy | handtrace / Tasks | handtrace palm detector runs / 100 frames |") in table
    assert ("| video, max_num_hands=2, one hand | full | ms/frame, p95 | 6.00 | 12.00 | 8.00 | 0.50 | 0.75 "
            "| 5.0 |") in table
    assert "| still image, no hand | full | ms/image, median | 6.00 | 12.00 | 8.00 | 0.50 | 0.75 " \
           "| 100 per 100 images |" in table
    # handtrace-only rows: n/a for both MediaPipe APIs; gestures on, against MediaPipe without them.
    assert any(r.startswith("| pipeline overhead") and r.endswith("| 1.000 | n/a | n/a | n/a | n/a |  |")
               for r in table)
    assert ("| handtrace defaults (gestures on), video, max_num_hands=1, one hand | full | ms/frame, median "
            "| 6.00 | 12.00 | 8.00 | 0.50 | 0.75 |  |") in table
    assert ("| offline video file, decode + track + write JSONL (325 frames) | full | frames/s "
            "| 100.0 | 50.0 | 75.0 | 2.00 | 1.33 |  |") in table
    assert any("handtrace / MediaPipe legacy and handtrace / MediaPipe Tasks" in r for r in table)
    assert all(r.count("|") == 10 for r in table if r.startswith("|"))


def test_table_without_tasks_keeps_the_two_library_shape(speed: ModuleType) -> None:
    two = ("handtrace", "mediapipe")
    table = speed.markdown(fake_summary(speed, two), ["full"], fake_meta(two), two).splitlines()
    assert ("| video, max_num_hands=1, one hand | full | ms/frame, median | 6.00 | 12.00 | 0.50 | 5.0 |"
            in table)
    assert all(r.count("|") == 8 for r in table if r.startswith("|"))
    assert not any("Tasks" in r for r in table)


def test_task_bundle_members_per_variant(load_benchmark: Callable[[str], ModuleType]) -> None:
    ref = load_benchmark("mediapipe_reference")
    root = ref.Path("models")
    assert ref.task_bundle_members(root, "lite") == {
        "hand_detector.tflite": root / "palm_detection_lite.tflite",
        "hand_landmarks_detector.tflite": root / "hand_landmark_lite.tflite",
    }
    assert ref.task_bundle_members(root)["hand_detector.tflite"].name == "palm_detection_full.tflite"
    with pytest.raises(ValueError, match="unknown model variant"):
        ref.task_bundle_members(root, "heavy")
