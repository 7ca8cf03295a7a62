"""The node's resource thread: measures every worker tree each `resource_sample_seconds` (0.5 s by
default), keeps the latest figures for the pulse to publish, and stops a tree over its memory limit.

Why its own thread at 0.5 s and not the pulse: a worker that leaks fast can grow by hundreds of MiB
between two heartbeats, and the pulse must never wait on /proc. The pulse only reads the latest
snapshot here (a dict swap, no lock held while measuring).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from skalds.config.skald_config import SkaldConfig
from skalds.model._time import now_ms
from skalds.node.handles import HandleTable, WorkerHandle
from skalds.node.memory_limits import breach, effective_limit_mb
from skalds.node.resource_sampler import ResourceSampler, Usage, machine_memory
from skalds.utils.logging import logger

OverLimit = Callable[[WorkerHandle, str, Callable[[], int]], None]  # (handle, error, kill its tree)


@dataclass(frozen=True)
class NodeUsage:
    """The node process and all its workers together, with the machine's memory."""

    usage: Usage = field(default_factory=Usage)
    memory_total: int = 0
    memory_available: int = 0
    at_ms: int = 0


@dataclass
class Snapshot:
    tasks: dict[str, Usage] = field(default_factory=dict)
    node: NodeUsage = field(default_factory=NodeUsage)


class ResourceWatch:
    def __init__(self, config: SkaldConfig, handles: HandleTable, on_over_limit: OverLimit) -> None:
        self.period = config.resource_sample_seconds
        self.default_limit_mb = config.task_memory_limit_mb
        self.handles = handles
        self.on_over_limit = on_over_limit
        self.sampler = ResourceSampler()
        self._latest = Snapshot()

    def latest(self) -> Snapshot:
        return self._latest

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.sample_once()
            except Exception as error:  # measuring must never stop the node
                logger.warning(f"resource sampling failed: {error}")
            stop.wait(self.period)

    def sample_once(self) -> Snapshot:
        """Measure every reported-in worker, check its limit, publish the snapshot."""
        watched = {handle.task_id: handle for handle in self.handles.all() if _measurable(handle)}
        roots = {task_id: pid for task_id, handle in watched.items() if (pid := _pid(handle)) is not None}
        tasks = self.sampler.sample(roots)
        total = self.sampler.node_usage()
        for usage in tasks.values():
            total = total + usage
        memory_total, memory_available = machine_memory()
        self._latest = Snapshot(tasks, NodeUsage(total, memory_total, memory_available, now_ms()))
        for task_id, usage in tasks.items():
            self._check(watched[task_id], usage)
        return self._latest

    def _check(self, handle: WorkerHandle, usage: Usage) -> None:
        if handle.paused:  # a stopped process does not grow; it is checked again once resumed
            return
        error = breach(usage.rss_bytes, effective_limit_mb(handle.task.memory_limit_mb, self.default_limit_mb))
        if error is not None:
            self.on_over_limit(handle, error, lambda: self.sampler.kill(handle.task_id))


def _measurable(handle: WorkerHandle) -> bool:
    """Reported in (so its pid is known without asking the fork server) and not ended or being killed."""
    return handle.reported_in and not handle.exited and handle.imposed_outcome is None


def _pid(handle: WorkerHandle) -> int | None:
    try:
        return handle.process.pid
    except Exception:  # a process object that cannot say: skipped this turn
        return None
