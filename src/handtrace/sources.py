"""Batch input and output for the command line: image listing, a progress bar, a safe results writer."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from handtrace.io import IMAGE_SUFFIXES

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MODEL_COMPLEXITY",
    "ProgressBar",
    "ResultWriter",
    "add_model_option",
    "list_images",
    "print_error",
]

#: Exit statuses of every ``handtrace`` command.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: ``--model`` choices -> ``HandTracker(model_complexity=...)``.
MODEL_COMPLEXITY: dict[str, int] = {"lite": 0, "full": 1}


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """``--model lite|full`` (default full); ``MODEL_COMPLEXITY[args.model]`` is the tracker's value."""
    parser.add_argument("--model", choices=sorted(MODEL_COMPLEXITY), default="full",
                        help="landmark model (default full)")


def print_error(message: str) -> None:
    """One ``handtrace: message`` line on stderr."""
    print(f"handtrace: {message}", file=sys.stderr)


def list_images(paths: Iterable[str | Path], recursive: bool = False) -> list[Path]:
    """Expand ``paths`` into image files.

    A directory gives its files with a :data:`handtrace.io.IMAGE_SUFFIXES` suffix, sorted by name (also from
    subdirectories when ``recursive``). Any other path is kept as given, whether or not it exists or
    looks like an image, so that reading it later reports a per-file error.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = p.rglob("*") if recursive else p.iterdir()
            out.extend(sorted(f for f in found if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out


class ProgressBar:
    """A one-line progress bar on a stream (stderr by default); silent unless the stream is a TTY.

    Use :meth:`write` for messages while the bar is shown so they do not mix with it.
    """

    def __init__(
        self,
        total: int | None,
        *,
        stream: IO[str] | None = None,
        enabled: bool | None = None,
        width: int = 30,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.width = width
        self.count = 0
        self._start = time.perf_counter()
        self._shown = False

    def update(self, n: int = 1, label: str = "") -> None:
        """Advance by ``n`` and redraw, with ``label`` (e.g. the current file name) after the counts."""
        self.count += n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self._start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        if self.total:
            done = round(self.width * min(self.count, self.total) / self.total)
            bar = f"[{'#' * done}{'.' * (self.width - done)}] {self.count}/{self.total}"
        else:
            bar = f"{self.count}"
        line = f"{bar} {rate:.1f}/s {label}"[:120]
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self._shown = True

    def write(self, message: str, stream: IO[str] | None = None) -> None:
        """Print ``message`` on its own line of ``stream`` (default: the bar's), above the bar when shown."""
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
        out = stream if stream is not None else self.stream
        out.write(message + "\n")
        out.flush()
        if self._shown and self.total != self.count:
            self.update(0)

    def close(self) -> None:
        """End the bar's line."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ResultWriter:
    """Write JSON records one by one so that an interruption keeps what was done.

    ``*.jsonl`` gets one JSON object per line, flushed as it comes. Anything else gets a JSON list,
    streamed into ``<name>.partial`` and renamed over the final name by :meth:`close` (which also runs
    on leaving a ``with`` block through an exception, KeyboardInterrupt included), so the final file
    is always complete and valid and a hard kill leaves the partial file behind.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lines = self.path.suffix.lower() == ".jsonl"
        self.count = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._target = self.path if self.lines else self.path.with_name(self.path.name + ".partial")
        self._file: IO[str] | None = open(self._target, "w", encoding="utf-8")  # noqa: SIM115
        if not self.lines:
            self._file.write("[")

    def write(self, record: dict[str, Any]) -> None:
        """Append one record."""
        if self._file is None:
            raise ValueError("writer is closed")
        text = json.dumps(record, ensure_ascii=False)
        if self.lines:
            self._file.write(text + "\n")
        else:
            self._file.write(("\n" if self.count == 0 else ",\n") + text)
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        """Finish the file (a no-op when already closed)."""
        if self._file is None:
            return
        if not self.lines:
            self._file.write("\n]\n")
        self._file.close()
        self._file = None
        if not self.lines:
            os.replace(self._target, self.path)

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
