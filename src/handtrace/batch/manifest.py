"""The job's manifest: one record per input, appended to ``OUT/manifest.jsonl`` as each input finishes.

Each line is one JSON record; a later record for the same input replaces an earlier one (a rerun appends
new records, it never rewrites the file), so a killed job leaves every finished record readable. Fields:

``input`` (resolved path), ``name`` (output name), ``kind`` (video / images / image), ``status``
(``done``; ``partial``: the input broke off, the frames before it are kept; ``failed``: nothing usable),
``frames`` (frames processed), ``hands`` (hand rows), ``frames_with_hands``, ``detector_runs``,
``landmark_runs``, ``tracks``, ``width``, ``height``, ``fps``, ``duration_s`` (tracking time), ``attempts``,
``segments``, ``error`` (message or null), ``outputs`` (paths relative to OUT_DIR), ``finished`` (UTC time).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Any

__all__ = ["MANIFEST", "STATUSES", "Manifest", "read_manifest"]

MANIFEST = "manifest.jsonl"
STATUSES = ("done", "partial", "failed")


def read_manifest(out_dir: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The latest record per input (keyed by ``input``) of ``OUT/manifest.jsonl``; ``{}`` when absent.

    A last line cut short by a kill is ignored.
    """
    path = Path(out_dir) / MANIFEST
    records: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return records
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "input" in rec:
                records[rec["input"]] = rec
    return records


class Manifest:
    """Appends records to ``OUT/manifest.jsonl``, each flushed and synced to disk before :meth:`add`
    returns."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.path = Path(out_dir) / MANIFEST
        self.records = read_manifest(out_dir)
        self._file: IO[str] | None = None

    def add(self, record: dict[str, Any]) -> None:
        record = {**record, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.records[record["input"]] = record

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
