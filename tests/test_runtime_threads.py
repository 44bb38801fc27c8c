"""AutoThreadsSession: picking between a 1-thread and a multi-thread session never changes the outputs."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.runtime import (
    AutoThreadsSession,
    HandLandmarkModel,
    PalmDetectorModel,
    ThreadChooser,
    default_threads,
)


@pytest.mark.skipif(default_threads() < 2, reason="one core: a plain session is used")
def test_auto_threads_outputs_identical_across_sessions():
    model = HandLandmarkModel("lite")
    assert isinstance(model.session, AutoThreadsSession)
    crops = np.random.default_rng(0).random((2, 224, 224, 3), dtype=np.float32)
    first = model(crops)
    for _ in range(3 * ThreadChooser.MIN_INTERVAL):
        out = model(crops)
        for a, b in zip(first, out, strict=True):
            np.testing.assert_array_equal(a, b)
    assert all(s is not None for s in model.session.sessions)  # both sessions ran
    assert model.session.current_threads in (1, default_threads())


def test_explicit_threads_give_a_plain_session():
    model = PalmDetectorModel("lite", threads=1)
    assert not isinstance(model.session, AutoThreadsSession)
    assert model.session.get_inputs()[0].shape[1:] == [192, 192, "channels"]
    assert HandLandmarkModel("lite", threads=2).single_threaded() is None


@pytest.mark.skipif(default_threads() < 2, reason="one core: a plain session is used")
def test_single_threaded_model_shares_the_one_thread_session_and_its_outputs():
    model = HandLandmarkModel("lite")
    single = model.single_threaded()
    assert single is not None and single.session is model.session.sessions[0]
    assert model.session.calls == 0  # the copy does not run through the chooser
    crops = np.random.default_rng(1).integers(0, 256, (2, 224, 224, 4), dtype=np.uint8)
    both = model(crops)
    for k in range(2):  # one crop at a time on one thread: the batch's rows, bit for bit
        for a, b in zip(single(crops[k : k + 1]), both, strict=True):
            np.testing.assert_array_equal(a[0], b[k])


def _drive(chooser: ThreadChooser, calls: int, cost: tuple[float, float]) -> list[int]:
    """Run ``calls`` calls where session k costs ``cost[k]`` seconds; the sessions picked."""
    picked = []
    for _ in range(calls):
        k = chooser.pick()
        chooser.record(k, cost[k])
        picked.append(k)
    return picked


def test_chooser_settles_on_the_faster_session_and_rarely_probes_on_a_quiet_machine():
    chooser = ThreadChooser()
    picked = _drive(chooser, 1000, (6.0, 4.0))  # two threads faster: a quiet machine
    assert chooser.best == 1
    one_thread_calls = picked[ThreadChooser.STARTUP_CALLS :].count(0)  # after start-up
    assert one_thread_calls <= ThreadChooser.PROBE_CALLS * (1000 // ThreadChooser.REFRESH_INTERVAL + 1)


def test_chooser_leaves_two_threads_at_once_when_load_makes_them_slow():
    chooser = ThreadChooser()
    _drive(chooser, 100, (6.0, 4.0))
    picked = _drive(chooser, 20, (6.5, 12.0))  # another process takes the second core
    assert chooser.best == 0
    assert picked.index(0) <= 3  # no probe needed: its own timings give it away
    assert picked[4:].count(1) <= ThreadChooser.PROBE_CALLS  # then one probe back, at most


def test_chooser_ignores_a_few_slow_calls():
    chooser = ThreadChooser()
    _drive(chooser, 100, (6.0, 4.0))
    for slow in (30.0, 25.0):  # two outliers in a row, e.g. right after another process ran
        assert chooser.pick() == 1
        chooser.record(1, slow)
    picked = _drive(chooser, 20, (6.0, 4.0))
    assert chooser.best == 1 and picked == [1] * 20


def test_chooser_returns_to_two_threads_when_the_load_goes():
    chooser = ThreadChooser()
    _drive(chooser, 100, (6.0, 12.0))  # busy from the start
    assert chooser.best == 0
    probes_busy = _drive(chooser, 1000, (6.0, 12.0)).count(1)
    assert probes_busy <= 60  # backed-off probes: at most a few percent of calls pay for them
    picked = _drive(chooser, 2 * ThreadChooser.MAX_INTERVAL + 10, (6.0, 4.0))  # quiet again
    assert chooser.best == 1
    assert picked[-10:] == [1] * 10


def test_chooser_keeps_one_thread_when_both_cost_the_same():
    chooser = ThreadChooser()
    _drive(chooser, 300, (5.0, 5.0))  # no gain from a second thread: stay on one, keep it free
    assert chooser.best == 0


def _drive_noisy(chooser: ThreadChooser, calls: int, cost: tuple[float, float], noise: float,
                 rng: np.random.Generator) -> list[int]:
    """Like :func:`_drive`, each call's cost off by up to ``noise`` (a share) at random: a VM's jitter."""
    picked = []
    for _ in range(calls):
        k = chooser.pick()
        chooser.record(k, cost[k] * (1 + rng.uniform(-noise, noise)))
        picked.append(k)
    return picked


def test_chooser_makes_the_same_choice_run_after_run_despite_jitter():
    # Two threads clearly faster (0.55x), timings off by up to 30%: every run settles on two threads and
    # stays there apart from the rare refresh probes.
    for seed in range(30):
        chooser = ThreadChooser()
        picked = _drive_noisy(chooser, 600, (10.0, 5.5), 0.3, np.random.default_rng(seed))
        after = picked[ThreadChooser.STARTUP_CALLS :]
        assert chooser.best == 1 and after.count(0) <= 2 * ThreadChooser.PROBE_CALLS, seed


def test_chooser_keeps_one_thread_where_two_barely_help():
    # Two threads 0.95x one (two hyper-threads of one core): one thread from start-up on, leaving a core.
    chooser = ThreadChooser()
    picked = _drive(chooser, 600, (5.0, 4.75))
    after = picked[ThreadChooser.STARTUP_CALLS :]
    assert chooser.best == 0
    assert after.count(1) <= 0.1 * len(after)  # backed-off probes only


def test_chooser_stays_on_two_threads_when_the_whole_machine_slows_down():
    # A VM's neighbours slow both sessions alike: the one-thread figure is stale, so the chooser probes it
    # again instead of switching, and stays on two threads.
    chooser = ThreadChooser()
    _drive(chooser, 100, (6.0, 4.0))
    best = []
    for _ in range(200):
        k = chooser.pick()
        chooser.record(k, (12.0, 8.0)[k])
        best.append(chooser.best)
    assert best == [1] * 200  # never switched (a switch makes the next calls pay for cold caches)
