"""handtrace.pipelining: results in input order, errors in place, bounded look-ahead, early close."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from handtrace.pipelining import Outcome, chunked, ordered_map


def test_results_come_in_input_order_even_when_later_items_finish_first() -> None:
    delays = [0.08, 0.0, 0.04, 0.0, 0.02, 0.0]

    def work(i: int) -> tuple[int, str]:
        time.sleep(delays[i])
        return i * i, threading.current_thread().name

    outcomes = list(ordered_map(work, range(len(delays)), workers=3, thread_name="t-pipe"))
    assert [o.item for o in outcomes] == list(range(len(delays)))
    assert [o.get()[0] for o in outcomes] == [i * i for i in range(len(delays))]
    assert all(o.get()[1].startswith("t-pipe") for o in outcomes)  # ran on the workers, not here


@pytest.mark.parametrize("workers", [0, 2])
def test_an_item_that_raises_yields_its_error_and_the_rest_go_on(workers: int) -> None:
    def work(i: int) -> int:
        if i == 2:
            raise ValueError(f"bad item {i}")
        return -i

    outcomes = list(ordered_map(work, range(5), workers=workers))
    assert [o.value for o in outcomes] == [0, -1, None, -3, -4]
    assert isinstance(outcomes[2].error, ValueError)
    with pytest.raises(ValueError, match="bad item 2"):
        outcomes[2].get()


def test_the_input_is_pulled_lazily_with_bounded_look_ahead() -> None:
    pulled = 0

    def endless() -> Iterator[int]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield i

    outcomes = ordered_map(lambda i: i, endless(), workers=2, ahead=3)
    taken = [o.get() for o in itertools.islice(outcomes, 5)]
    assert taken == [0, 1, 2, 3, 4]
    assert pulled <= 5 + 3  # an endless input would hang or exhaust memory otherwise
    outcomes.close()


def test_an_error_of_the_input_comes_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("listing failed")

    outcomes = ordered_map(lambda i: 10 * i, failing(), workers=2)
    assert next(outcomes).get() == 10
    assert next(outcomes).get() == 20
    with pytest.raises(OSError, match="listing failed"):
        next(outcomes)


def test_closing_early_cancels_the_items_not_started() -> None:
    started: list[int] = []

    def slow(i: int) -> int:
        started.append(i)
        time.sleep(0.2)
        return i

    outcomes = ordered_map(slow, range(20), workers=1, ahead=6)
    assert next(outcomes).get() == 0
    outcomes.close()  # item 1 may be running by now; 2-5 are queued and never start
    time.sleep(0.5)
    assert started in ([0], [0, 1])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="workers"):
        list(ordered_map(str, [1], workers=-1))
    with pytest.raises(ValueError, match="ahead"):
        list(ordered_map(str, [1], workers=1, ahead=0))
    with pytest.raises(ValueError, match="size"):
        list(chunked([1], 0))


def test_chunked() -> None:
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
    assert Outcome("x", 1).get() == 1
