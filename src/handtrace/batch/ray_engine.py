"""``--engine ray``: the same tasks on Ray actors, one per worker, each holding a :class:`Worker` (tracker)
loaded once (Ray Data's batch-inference pattern: stateful actors, one model each).

``ray.init()`` starts an embedded Ray on this machine, or joins a cluster at ``--address`` / ``RAY_ADDRESS``.
Workers read inputs and write outputs by path, so on a cluster INPUTS and OUT_DIR must be on storage every
node sees (e.g. NFS); on one machine nothing more is needed. An actor that dies costs its task one retry on a
fresh actor, then a failed record, as with the local engine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections import deque
from collections.abc import Sequence
from typing import Any

from handtrace.batch.local import MAX_ATTEMPTS, EventFn
from handtrace.batch.worker import JobConfig, Task, Worker, failed_record

__all__ = ["RayEngine"]


class _TrackerActor:
    """Ray actor body: one Worker, tasks one at a time."""

    def __init__(self, config: JobConfig, factory: type[Worker]) -> None:
        self.worker = factory(config)

    def ready(self) -> bool:
        return True

    def run(self, task: Task) -> dict[str, Any]:
        return self.worker.run(task)


class RayEngine:
    """Runs tasks on ``workers`` Ray actors (default: one per CPU of the cluster)."""

    name = "ray"

    def __init__(
        self,
        config: JobConfig,
        workers: int | None = None,
        address: str | None = None,
        factory: type[Worker] = Worker,
    ) -> None:
        import ray

        self.ray = ray
        self.config = config
        self.factory = factory
        self.started_here = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address is None:
                # "local": a new Ray on this machine; plain ray.init() would join whatever `ray start` last
                # left in /tmp/ray, even a cluster that is gone.
                address = "local"
                if workers:
                    kwargs["num_cpus"] = int(workers)
            ray.init(address=address, **kwargs)
            self.started_here = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, int(workers) if workers else cpus)
        self._actor_cls = ray.remote(num_cpus=1, max_restarts=0)(_TrackerActor)

    def _actor(self) -> Any:
        return self._actor_cls.remote(self.config, self.factory)

    def run(self, tasks: Sequence[Task], on_event: EventFn) -> None:
        ray = self.ray
        queue = deque(tasks)
        actors = [self._actor() for _ in range(min(self.workers, len(queue)))]
        try:
            ray.get([a.ready.remote() for a in actors])
        except ray.exceptions.RayError as exc:
            self._kill(actors)
            raise RuntimeError(f"a Ray worker could not start: {exc}") from exc
        idle = list(actors)
        running: dict[Any, tuple[Any, Task]] = {}
        try:
            while queue or running:
                while idle and queue:
                    actor, task = idle.pop(), queue.popleft()
                    running[actor.run.remote(task)] = (actor, task)
                done, _ = ray.wait(list(running), num_returns=1)
                ref = done[0]
                actor, task = running.pop(ref)
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    reason = f"Ray worker died ({type(exc).__name__})"
                    ray.kill(actor, no_restart=True)
                    idle.append(self._actor())
                    if task.attempt < MAX_ATTEMPTS:
                        on_event("retry", task, reason)
                        queue.appendleft(dataclasses.replace(task, attempt=task.attempt + 1))
                    else:
                        on_event(
                            "result", task, failed_record(task, f"{reason} on each of {MAX_ATTEMPTS} tries")
                        )
                    continue
                idle.append(actor)
                on_event("progress", task, record.get("frames", 0))
                on_event("result", task, record)
        finally:
            self._kill([*idle, *(a for a, _ in running.values())])

    def _kill(self, actors: list[Any]) -> None:
        for a in actors:
            with contextlib.suppress(Exception):  # already gone
                self.ray.kill(a, no_restart=True)

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()
