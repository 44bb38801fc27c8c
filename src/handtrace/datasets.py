"""Where the shared evaluation data lives: one setting, ``HANDTRACE_DATA``, default ``../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "HANDTRACE_DATA"
_DEFAULT = Path("..") / "shared" / "data"


def data_root() -> Path:
    """The shared data folder: ``$HANDTRACE_DATA`` if set, else ``../shared/data``.

    The default is looked up relative to the working directory first, then relative to the
    repository that holds this source tree (so tests find it from any folder).
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    if _DEFAULT.is_dir():
        return _DEFAULT
    repo = Path(__file__).resolve().parents[2]
    return repo / _DEFAULT
