"""AutoThreadsSession: picking between a 1-thread and a multi-thread session never changes the outputs."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.runtime import AutoThreadsSession, HandLandmarkModel, PalmDetectorModel, default_threads


@pytest.mark.skipif(default_threads() < 2, reason="one core: a plain session is used")
def test_auto_threads_outputs_identical_across_sessions():
    model = HandLandmarkModel("lite")
    assert isinstance(model.session, AutoThreadsSession)
    crops = np.random.default_rng(0).random((2, 224, 224, 3), dtype=np.float32)
    first = model(crops)
    for _ in range(3 * AutoThreadsSession.MIN_INTERVAL):
        out = model(crops)
        for a, b in zip(first, out, strict=True):
            np.testing.assert_array_equal(a, b)
    assert all(s is not None for s in model.session.sessions)  # both sessions ran
    assert model.session.current_threads in (1, default_threads())


def test_explicit_threads_give_a_plain_session():
    model = PalmDetectorModel("lite", threads=1)
    assert not isinstance(model.session, AutoThreadsSession)
    assert model.session.get_inputs()[0].shape[1:] == [192, 192, 3]
