"""Overlapping the work on many items across threads, results in input order, with bounded look-ahead.

:func:`ordered_map` runs a function over an iterable on worker threads and yields each item's
:class:`Outcome` (its value, or the exception it raised) in input order. At most ``ahead`` items are in
flight: the input is pulled lazily, on the caller's thread, as results are taken, so a folder of 100k images
is never held in memory. The work must release the GIL to gain anything (onnxruntime and OpenCV do).

:func:`chunked` groups an iterable into lists (batches), also lazily.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Outcome", "chunked", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """What became of one item: ``value`` when the function returned, ``error`` when it raised."""

    item: T
    value: R | None = None
    error: Exception | None = None

    def get(self) -> R:
        """The value, or the item's exception raised again."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def ordered_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int, ahead: int | None = None,
                thread_name: str = "handtrace-pipeline") -> Iterator[Outcome[T, R]]:
    """``fn`` over ``items`` on ``workers`` threads; one :class:`Outcome` per item, in input order.

    ``ahead`` (default ``2 * workers``): most items submitted and not yet yielded. An item whose ``fn``
    raises an ``Exception`` yields it as ``Outcome.error`` and the others go on. An exception raised by
    ``items`` itself comes after the outcomes of the items before it. Closing the iterator early (``break``,
    an error or Ctrl-C in the caller) cancels the items not started; those running finish on their own,
    their results dropped. ``workers=0`` runs ``fn`` on the caller's thread, one item at a time.
    """
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if workers == 0:
        yield from _inline_map(fn, items)
        return
    ahead = 2 * workers if ahead is None else ahead
    if ahead < 1:
        raise ValueError(f"ahead must be >= 1, got {ahead}")
    source = iter(items)
    pending: deque[tuple[T, Future[R]]] = deque()
    failure: BaseException | None = None  # raised by the input, after the outcomes before it
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=thread_name)
    try:
        while True:
            while failure is None and len(pending) < ahead:
                try:
                    item = next(source)
                except StopIteration:
                    failure = StopIteration()
                    break
                except Exception as exc:  # the caller's iterable failed: report it in its place
                    failure = exc
                    break
                pending.append((item, executor.submit(fn, item)))
            if not pending:
                break
            item, future = pending.popleft()
            try:
                value = future.result()
            except Exception as exc:
                yield Outcome(item, error=exc)
            else:
                yield Outcome(item, value)
    finally:
        # Not waiting: a caller stopped by Ctrl-C should not sit through the items in flight.
        executor.shutdown(wait=False, cancel_futures=True)
    if failure is not None and not isinstance(failure, StopIteration):
        raise failure


def _inline_map(fn: Callable[[T], R], items: Iterable[T]) -> Iterator[Outcome[T, R]]:
    for item in items:
        try:
            value = fn(item)
        except Exception as exc:
            yield Outcome(item, error=exc)
        else:
            yield Outcome(item, value)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one may be shorter), pulled lazily."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
