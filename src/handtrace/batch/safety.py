"""TEMPORARY local versions of two project-wide helpers that another branch adds to ``handtrace/io.py``:
refusing an output that resolves to an input, and treating SIGTERM / SIGHUP like Ctrl-C. The lead switches
these for the ``handtrace.io`` ones at merge; keep the signatures small so that is a one-line change.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["check_output_not_input", "interrupt_on_signals"]


def check_output_not_input(output: str | Path, inputs: Iterable[str | Path]) -> None:
    """Raise ``ValueError`` when ``output`` resolves to one of ``inputs`` or lies inside an input folder,
    or an input lies inside ``output`` (a rerun would then read its own outputs)."""
    out = Path(output).resolve()
    for i in inputs:
        p = Path(i).resolve()
        if out == p or (p.is_dir() and p in out.parents):
            raise ValueError(f"the output {output} would write into the input {i}")
        if out in p.parents:
            raise ValueError(f"the input {i} lies inside the output folder {output}")


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` as Ctrl-C does (main thread only)."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = {}
    for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        with contextlib.suppress(ValueError):  # not the main thread
            old[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
