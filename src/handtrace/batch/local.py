"""``--engine local``: a pool of worker processes on this machine, one :class:`Worker` (tracker) each.

The pool is ours rather than ``concurrent.futures``' so that a worker that dies (killed, out of memory)
costs only the task it held: each process takes one task at a time over its own pipe, so when its process
ends we know which task to retry; ``ProcessPoolExecutor`` would break every pending task at once. Workers
start with ``spawn`` (no inherited threads or model sessions) and ignore SIGINT: Ctrl-C reaches the
coordinator, which stops them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from handtrace.batch.worker import JobConfig, Task, Worker, failed_record

__all__ = ["MAX_ATTEMPTS", "LocalEngine"]

#: Tries per task when its worker dies: the first and one retry.
MAX_ATTEMPTS = 2

#: ``on_event(kind, task, payload)``: ``"progress"`` (frames), ``"result"`` (manifest record), ``"retry"``
#: (a message).
EventFn = Callable[[str, Task, Any], None]


def _worker_main(conn: Connection, config: JobConfig, factory: type[Worker]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator handles Ctrl-C and stops us
    try:
        worker = factory(config)
    except Exception as exc:
        conn.send(("init_error", None, f"{type(exc).__name__}: {exc}"))
        return
    parent = os.getppid()

    def progress(n: int, task: Task) -> None:
        if os.getppid() != parent:  # the coordinator was killed: stop rather than work for nobody
            os._exit(1)
        conn.send(("progress", task, n))

    conn.send(("ready", None, None))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        record = worker.run(task, progress=lambda n, t=task: progress(n, t))
        try:
            conn.send(("result", task, record))
        except (BrokenPipeError, OSError):
            break
    worker.close()


class _Proc:
    def __init__(self, ctx: Any, config: JobConfig, factory: type[Worker]) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, config, factory), daemon=True)
        self.process.start()
        child.close()
        self.task: Task | None = None
        self.ready = False


class LocalEngine:
    """Runs tasks on ``workers`` processes; see the module docstring."""

    name = "local"

    def __init__(self, config: JobConfig, workers: int, factory: type[Worker] = Worker) -> None:
        self.config = config
        self.workers = max(1, int(workers))
        self.factory = factory
        self._ctx = mp.get_context("spawn")

    def run(self, tasks: Sequence[Task], on_event: EventFn) -> None:
        """Run every task, reporting through ``on_event``; returns when each has a result.

        Raises:
            RuntimeError: the workers cannot start (e.g. the models fail to load).
            KeyboardInterrupt: passed on after the workers are stopped.
        """
        queue = deque(tasks)
        procs = [_Proc(self._ctx, self.config, self.factory) for _ in range(min(self.workers, len(queue)))]
        pending = len(queue)
        idle_deaths = 0
        try:
            while pending:
                for p in procs:
                    if p.ready and p.task is None and queue:
                        p.task = queue.popleft()
                        p.conn.send(p.task)
                by_conn = {p.conn: p for p in procs}
                by_sentinel = {p.process.sentinel: p for p in procs}
                for ready in wait([*by_conn, *by_sentinel]):
                    p = by_conn.get(ready)  # type: ignore[call-overload]
                    if p is not None:
                        try:
                            kind, task, payload = p.conn.recv()
                        except (EOFError, OSError):
                            continue  # the process ended: handled through its sentinel
                        if kind == "ready":
                            p.ready = True
                        elif kind == "init_error":
                            raise RuntimeError(f"a worker could not start: {payload}")
                        elif kind == "progress":
                            on_event("progress", task, payload)
                        elif kind == "result":
                            p.task = None
                            pending -= 1
                            on_event("result", task, payload)
                        continue
                    p = by_sentinel[ready]  # type: ignore[index]
                    if p.process.is_alive():
                        continue
                    while p.conn.poll():  # a result sent just before exiting still counts
                        try:
                            kind, task, payload = p.conn.recv()
                        except (EOFError, OSError):
                            break
                        if kind == "result":
                            p.task = None
                            pending -= 1
                            on_event("result", task, payload)
                    procs.remove(p)
                    p.process.join()
                    if p.task is None:
                        idle_deaths += 1
                        if idle_deaths > 2 * self.workers:
                            raise RuntimeError(
                                f"worker processes keep dying before taking a task (exit code "
                                f"{p.process.exitcode})"
                            )
                    if p.task is not None:
                        reason = f"worker process died (exit code {p.process.exitcode})"
                        if p.task.attempt < MAX_ATTEMPTS:
                            retry = dataclasses.replace(p.task, attempt=p.task.attempt + 1)
                            on_event("retry", p.task, reason)
                            queue.appendleft(retry)
                        else:
                            pending -= 1
                            on_event(
                                "result",
                                p.task,
                                failed_record(p.task, f"{reason} on each of {MAX_ATTEMPTS} tries"),
                            )
                    if queue and len(procs) < self.workers:
                        procs.append(_Proc(self._ctx, self.config, self.factory))
        finally:
            self._stop(procs)

    @staticmethod
    def _stop(procs: list[_Proc]) -> None:
        for p in procs:
            if p.process.is_alive() and p.task is None and p.ready:
                with contextlib.suppress(OSError):
                    p.conn.send(None)
            else:
                p.process.terminate()
        for p in procs:
            p.process.join(timeout=5)
            if p.process.is_alive():
                p.process.kill()
                p.process.join()
            p.conn.close()
