"""Assigns Created Passive tasks to online node-mode Skalds that registered the task's class,
within each node's capacity, highest priority first, by strategy.

Runs when woken — a task became Created (API, release, lost, retry), a node came online, or
capacity was freed while tasks were waiting — and on a periodic sweep as a safety net, so an
idle cluster costs no task-store query per monitor cycle.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from skalds.model.task import ACTIVE_STATUSES, ModeEnum, TaskLifecycleStatus
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.task_service import TaskService
from skalds.tasks import queries
from skalds.utils.logging import logger

S = TaskLifecycleStatus


class Dispatcher:
    def __init__(self, service: TaskService, nodes: Callable[[], dict[str, NodeRecord]],
                 live_tasks: Callable[[], dict[str, dict[str, Any]]], strategy: str,
                 default_capacity: int, retry_backoff_seconds: float, metrics: ControllerMetrics,
                 batch: int = 500) -> None:
        self.service = service
        self.store = service.store
        self.nodes = nodes
        self.live_tasks = live_tasks
        self._recent: dict[str, tuple[str, float]] = {}  # task -> (node, when) assigned lately
        self._recent_lock = threading.Lock()  # the monitor thread forgets ended tasks
        self.monitor_period = 1.0
        self.strategy = strategy.upper()
        self.default_capacity = default_capacity
        self.retry_backoff_ms = int(retry_backoff_seconds * 1000)
        self.metrics = metrics
        self.batch = batch
        self.wakeup = threading.Event()
        self.should_stop: Callable[[], bool] = lambda: False
        self._maybe_waiting = True  # False once a pass saw nothing waiting; set again by new work
        self._rotation = 0
        self._next_retry_scan = 0.0
        self.retry_scan_period = 30.0  # a Failed task seen in the feed triggers a scan sooner
        self.assigned_total = 0

    def wake(self) -> None:
        """New work may wait: a task became Created."""
        self._maybe_waiting = True
        self.wakeup.set()

    def task_failed(self) -> None:
        """A task failed: if it has retries left, its retry is due after the backoff."""
        self._next_retry_scan = 0.0
        self.wakeup.set()

    def seconds_until_due(self, default: float) -> float:
        """How long the loop may sleep: the sweep period, or less when a retry falls due sooner."""
        return max(0.05, min(default, self._next_retry_scan - time.monotonic()))

    def forget(self, task_ids: set[str]) -> None:
        """These tasks ended or went back to Created: stop counting them on the node they were given to."""
        with self._recent_lock:
            for task_id in task_ids:
                self._recent.pop(task_id, None)

    def capacity_changed(self) -> None:
        """A node came online or a task ended: worth a pass only if tasks were left waiting."""
        if self._maybe_waiting:
            self.wakeup.set()

    def _eligible(self) -> tuple[list[NodeRecord], dict[str, int]]:
        """Online node-mode Skalds and how many tasks each holds.

        Loads come from the monitor's last view of live tasks plus what this dispatcher assigned
        since (the view can be one cycle old), so no aggregation runs per pass."""
        nodes = [node for node in self.nodes().values() if node.online and node.mode == "node"]
        holders = {task_id: document.get("executor") for task_id, document in self.live_tasks().items()
                   if document.get("mode") == ModeEnum.Passive.value
                   and document.get("lifecycleStatus") in ACTIVE_STATUSES}
        horizon = time.monotonic() - max(3.0, 3 * self.monitor_period)
        with self._recent_lock:
            self._recent = {task_id: (node, at) for task_id, (node, at) in self._recent.items() if at > horizon}
            holders.update({task_id: node for task_id, (node, _at) in self._recent.items()})
        loads: dict[str, int] = {}
        for node_id in holders.values():
            if node_id:
                loads[node_id] = loads.get(node_id, 0) + 1
        return sorted(nodes, key=lambda node: node.id), loads

    def _capacity(self, node: NodeRecord) -> int:
        return node.capacity or self.default_capacity

    def _choose(self, candidates: list[NodeRecord], loads: dict[str, int]) -> NodeRecord:
        if self.strategy == "ROUND_ROBIN":
            node = candidates[self._rotation % len(candidates)]
            self._rotation += 1
            return node
        if self.strategy == "RANDOM":
            return random.choice(candidates)
        return min(candidates, key=lambda node: (loads.get(node.id, 0), node.id))

    def dispatch_once(self) -> int:
        """One pass over waiting tasks; returns how many were assigned."""
        if time.monotonic() >= self._next_retry_scan:
            self._next_retry_scan = time.monotonic() + self.retry_scan_period
            due_in = self._retry_failed()
            if due_in is not None:
                self._next_retry_scan = min(self._next_retry_scan, time.monotonic() + due_in)
        waiting = queries.waiting(self.store, self.batch)
        self._maybe_waiting = bool(waiting)
        if not waiting:
            return 0
        nodes, loads = self._eligible()
        assigned = 0
        try:
            for document in waiting:
                if self.should_stop():
                    break
                capable = [node for node in nodes if document.get("className") in node.supported_tasks
                           and (self._capacity(node) <= 0 or loads.get(node.id, 0) < self._capacity(node))]
                if not capable:
                    continue
                node = self._choose(capable, loads)
                started = time.perf_counter()
                result = self.service.assign(document, node.id, flush=False)
                if result is None:
                    continue
                loads[node.id] = loads.get(node.id, 0) + 1
                with self._recent_lock:
                    self._recent[document["id"]] = (node.id, time.monotonic())
                assigned += 1
                self.assigned_total += 1
                self.metrics.assignments.inc()
                self.metrics.assignment_latency.observe(
                    max(0.0, (result.get("assignedDateTime", 0) - document.get("updateDateTime", 0)) / 1000))
                logger.info(f"assigned task {document['id']} to {node.id} (attempt {result.get('attempt')}, "
                            f"{(time.perf_counter() - started) * 1000:.1f} ms)")
        finally:
            if assigned:
                self.service.flush_events()
        return assigned

    def _retry_failed(self) -> float | None:
        """Failed tasks with retries left go back to Created after the backoff (doubling per retry).

        Returns the seconds until the next retry that is not due yet, if any."""
        now = int(time.time() * 1000)
        next_due_ms: int | None = None
        for document in queries.failed_with_retries(self.store, self.batch):
            retries, budget = int(document.get("retryCount") or 0), int(document.get("maxRetries") or 0)
            if retries >= budget:
                continue
            due_ms = int(document.get("updateDateTime") or 0) + self.retry_backoff_ms * (2 ** retries)
            if now < due_ms:
                next_due_ms = due_ms if next_due_ms is None else min(next_due_ms, due_ms)
                continue
            if self.service.retry_failed(document) is not None:
                logger.info(f"retrying failed task {document['id']} ({retries + 1}/{budget})")
        return None if next_due_ms is None else (next_due_ms - now) / 1000
