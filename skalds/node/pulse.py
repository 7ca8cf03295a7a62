"""The node's pulse thread: every heartbeat period, the node's registration and every task's
heartbeat in one pipelined write. (Whether the node still owns its tasks is the reconciler's job,
on the events thread: see `reconciler`.)"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from skalds.config.skald_config import SkaldConfig
from skalds.model._time import now_ms
from skalds.node import progress
from skalds.node.handles import HandleTable
from skalds.node.recorder import Recorder
from skalds.node.resource_watch import ResourceWatch
from skalds.node.settings import NodeRole
from skalds.transport.node_registry import (
    NodeRegistration,
    write_deregistration,
    write_log_drops,
    write_node_resources,
    write_registration,
)
from skalds.transport.ports import LiveBatch
from skalds.transport.wire_names import RedisKey
from skalds.worker.registry import WorkerRegistry

SCHEMAS_EVERY_SECONDS = 30.0  # class schemas (up to 1 MB) change only with a new build: not every heartbeat


@dataclass
class Pulse:
    config: SkaldConfig
    role: NodeRole
    handles: HandleTable
    registry: WorkerRegistry
    recorder: Recorder
    resources: ResourceWatch | None = None
    clock: Callable[[], float] = time.monotonic
    log_drops: Callable[[], int] = lambda: 0  # the workers' log lines this node dropped since it started
    node: NodeRegistration = field(init=False)
    _schemas_at: float = field(init=False, default=float("-inf"))  # when they were last written (monotonic)

    def __post_init__(self) -> None:
        self.node = NodeRegistration(skald_id=self.config.skald_id, mode=self.role.mode, pid=os.getpid(),
                                     capacity=self.config.max_concurrent_tasks, started_ms=now_ms())

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.write_heartbeats()
            stop.wait(self.config.heartbeat_period)

    def write_heartbeats(self, wait: float | None = None) -> None:
        """Node registration and every task's heartbeat in one pipelined round trip."""
        if not self.recorder.writes_live:
            return
        with self.handles.lock:
            handles = self.handles.all()
            for handle in handles:
                handle.counter = (handle.counter + 1) % 200
        now = now_ms()
        ttl = self.config.heartbeat_period + 5
        tasks = [(handle.task_id, handle.task.class_name) for handle in handles]
        sampled = self.resources.latest() if self.resources is not None else None
        dropped = self.log_drops()
        schemas = ""  # as written last (their key lives `redis_key_ttl`); a Redis that restarted empty has them
        # back within SCHEMAS_EVERY_SECONDS
        if self.clock() - self._schemas_at >= min(SCHEMAS_EVERY_SECONDS, self.config.redis_key_ttl / 2):
            schemas, self._schemas_at = self.registry.schemas_json(), self.clock()

        def fill(batch: LiveBatch) -> None:
            for handle in handles:
                if handle.stop_reason is None and not handle.exited:  # never over a terminal code
                    batch.set(RedisKey.task_heartbeat(handle.task_id), str(handle.counter), ttl)
                    batch.set(RedisKey.task_heartbeat_at(handle.task_id), str(now), ttl)
                    if sampled is not None and (usage := sampled.tasks.get(handle.task_id)) is not None:
                        batch.set(RedisKey.task_resources(handle.task_id),
                                  json.dumps(usage.to_wire(sampled.node.at_ms)), ttl)
                    progress.fill(batch, handle, ttl)
            if self.role.register_node:
                write_registration(batch, self.node, tasks, self.registry.names(), now, ttl,
                                   self.config.redis_key_ttl, schemas=schemas)
                write_log_drops(batch, self.config.skald_id, dropped)
                if sampled is not None and sampled.node.at_ms:
                    node = sampled.node
                    write_node_resources(batch, self.config.skald_id, node.usage.cpu_percent, node.usage.rss_bytes,
                                         node.usage.processes, node.memory_total, node.memory_available, node.at_ms)
        self.recorder.heartbeat(fill, wait=wait)  # renews the node's liveness (fencing)

    def deregister(self) -> None:
        skald_id = self.config.skald_id
        self.recorder.live(lambda batch: write_deregistration(batch, skald_id))
