"""Test helpers for tests/test_batch*.py that worker processes must import by name (spawn pickles by
reference): a worker that kills its own process on chosen inputs."""

from __future__ import annotations

import os
import signal
from typing import Any

from handtrace.batch.worker import Task, Worker


class DyingWorker(Worker):
    """Dies (SIGKILL, as the OOM killer does) on inputs named ``die_once*`` at their first try and on inputs
    named ``die_always*`` at every try."""

    def run(self, task: Task, progress: Any = None) -> dict[str, Any]:
        name = task.item.path.name
        if name.startswith("die_always") or (name.startswith("die_once") and task.attempt == 1):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().run(task, progress)
