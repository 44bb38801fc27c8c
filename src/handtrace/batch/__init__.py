"""Corpora: ``handtrace batch`` (many inputs on every core or a Ray cluster) and ``handtrace report``.

Needs the ``[batch]`` extra (pyarrow, pandas, pose-format, matplotlib, tqdm); ``--engine ray`` the ``[ray]``
extra. Modules: :mod:`.inputs` (expanding INPUTS), :mod:`.worker` (tracking one input as ``track`` does),
:mod:`.local` / :mod:`.ray_engine` (engines), :mod:`.segments` (long videos), :mod:`.runner` (the job),
:mod:`.manifest`, :mod:`.parquet` / :mod:`.pose` / :mod:`.coco` (outputs), :mod:`.report` (HTML report).
Nothing heavy is imported here, so the CLI can register the commands without the extras.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["read_results"]


def read_results(path: str | os.PathLike[str]) -> Any:
    """The Parquet rows of a batch job as a pandas DataFrame (one row per processed frame and hand; see
    :mod:`handtrace.batch.parquet` for the columns; ``hand`` is null on frames processed without a hand).

    Args:
        path: OUT_DIR, its ``hands/`` folder, or one ``.parquet`` file.

    Raises:
        FileNotFoundError: no results there.
    """
    from handtrace.batch.parquet import HANDS_DIR, read_table

    p = Path(path)
    if (p / HANDS_DIR).is_dir():
        p = p / HANDS_DIR
    if not p.exists():
        raise FileNotFoundError(f"no batch results at {path}")
    return read_table(p).to_pandas()
