"""Assigns Created Passive tasks to online node-mode Skalds that registered the task's class,
within each node's capacity, highest priority first, by strategy.

Runs when woken — a task became Created (API, release, lost, retry), a node came online, or
capacity was freed while tasks were waiting — and on a periodic pass; the waiting and failed
tasks come from the live view, so a pass that finds nothing costs no store query. Which node a task goes to and when a
failed task is retried are decided in `policy`; this module reads the facts and acts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any, Protocol

from skalds.config._enum import DispatcherStrategyEnum
from skalds.system_controller.listeners import DispatchInbox
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.policy import placement, retries
from skalds.system_controller.task_service import TaskService
from skalds.utils.logging import logger


class ClusterView(Protocol):
    """What the dispatcher knows about the cluster: the monitor's nodes and the live view's tasks."""

    def nodes(self) -> dict[str, NodeRecord]: ...

    def active_tasks(self) -> dict[str, dict[str, Any]]: ...

    def waiting(self, limit: int, classes: Collection[str] | None = None) -> list[dict[str, Any]]: ...

    def failed_with_retries(self, limit: int) -> list[dict[str, Any]]: ...

    def stale(self, task_ids: list[str]) -> None:
        """A change made from this view was refused by the store: the view should re-read these tasks."""


class Dispatcher:
    def __init__(self, service: TaskService, view: ClusterView, inbox: DispatchInbox, metrics: ControllerMetrics,
                 *, strategy: str, default_capacity: int, retry_backoff_seconds: float, view_period: float = 1.0,
                 should_stop: Callable[[], bool] = lambda: False, batch: int = 500,
                 window: int | None = None, unschedulable: Callable[[], set[str]] = set) -> None:
        self.service = service
        self.unschedulable = unschedulable  # cordoned and draining nodes take no new task
        self.store = service.store
        self.view = view
        self.inbox = inbox
        self.wakeup = inbox.wakeup
        self.metrics = metrics
        self.strategy = DispatcherStrategyEnum(strategy.upper())
        self._choose = placement.STRATEGIES[self.strategy]
        self._rotation = placement.RotationState()
        self.default_capacity = default_capacity
        self.retry_backoff_ms = int(retry_backoff_seconds * 1000)
        self.view_period = view_period  # how old the view's live tasks can be
        self.should_stop = should_stop
        self.batch = batch  # tasks per compare-and-set round trip
        self.window = window or 4 * batch  # waiting tasks looked at per pass: a flood of one class fills fewer
        self._next_retry_scan = 0.0
        self.retry_scan_period = 30.0  # a Failed task seen in the feed triggers a scan sooner
        self.assigned_total = 0

    def wake(self) -> None:
        """Look for waiting work now (a new leader, or shutdown unblocking the loop)."""
        self.inbox.work_waiting()

    def seconds_until_due(self, default: float) -> float:
        """How long the loop may sleep: the sweep period, or less when a retry falls due sooner."""
        if self.inbox.retry_scan_requested:
            return 0.05
        return max(0.05, min(default, self._next_retry_scan - time.monotonic()))

    def _eligible(self) -> tuple[list[NodeRecord], dict[str, int]]:
        """Online node-mode Skalds and how many tasks each holds.

        Loads come from the view of live tasks plus what this dispatcher assigned since (the view
        can be one cycle old), so no aggregation runs per pass."""
        held = placement.holders(self.view.active_tasks())
        held.update(self.inbox.recent.since(time.monotonic() - max(3.0, 3 * self.view_period)))
        return placement.eligible_nodes(self.view.nodes().values(), self.unschedulable()), placement.node_loads(held)

    def dispatch_once(self) -> int:
        """One pass over waiting tasks; returns how many were assigned."""
        if self.inbox.take_retry_scan_request() or time.monotonic() >= self._next_retry_scan:
            self._next_retry_scan = time.monotonic() + self.retry_scan_period
            due_in = self._retry_failed()
            if due_in is not None:
                self._next_retry_scan = min(self._next_retry_scan, time.monotonic() + due_in)
        recent = self.inbox.recent.since(time.monotonic() - max(3.0, 3 * self.view_period))
        # the view can still show a task this dispatcher has just assigned as waiting: planning it again would
        # only fail its compare-and-set and spend a round-robin turn
        nodes, loads = self._eligible()
        room = placement.classes_with_room(nodes, loads, self.default_capacity)
        waiting = [document for document in self.view.waiting(self.window, room) if document["id"] not in recent]
        # capacity freed later must wake a pass while any task waits, placeable now or not
        self.inbox.maybe_waiting = bool(waiting) or bool(self.view.waiting(1))
        if not waiting:
            return 0
        plan = placement.plan_batch(waiting, nodes, loads, default_capacity=self.default_capacity,
                                    choose=self._choose, state=self._rotation, limit=len(waiting))
        assigned = 0
        for start in range(0, len(plan), self.batch):
            if self.should_stop():
                break
            assigned += self._assign_batch(plan[start:start + self.batch])
        return assigned

    def _assign_batch(self, plan: list[tuple[Any, NodeRecord]]) -> int:
        """One compare-and-set round trip and one event per node for `plan`; how many were applied
        (a task someone changed since it was read is skipped)."""
        started = time.perf_counter()
        try:
            applied = self.service.assign_many([(dict(document), node.id) for document, node in plan], flush=False)
        finally:
            self.service.flush_events()
        read = {document["id"]: document for document, _node in plan}
        skipped = set(read) - {result["id"] for result in applied}
        if skipped:
            self.view.stale(sorted(skipped))  # the view read them before someone changed them
        for result in applied:
            self.inbox.recent.record(result["id"], result["executor"])
            self.metrics.assignment_latency.observe(
                max(0.0, (result.get("assignedDateTime", 0) - read[result["id"]].get("updateDateTime", 0)) / 1000))
        self.assigned_total += len(applied)
        self.metrics.assignments.inc(len(applied))
        if applied:
            logger.info(f"assigned a batch of {len(applied)} task(s) to {len({r['executor'] for r in applied})} "
                        f"node(s) in {(time.perf_counter() - started) * 1000:.1f} ms "
                        f"({len(plan) - len(applied)} changed meanwhile)")
        for result in applied:
            logger.debug(f"assigned task {result['id']} to {result['executor']} (attempt {result['attempt']})")
        return len(applied)

    def _retry_failed(self) -> float | None:
        """Failed tasks with retries left go back to Created after the backoff (doubling per retry).

        Returns the seconds until the next retry that is not due yet, if any."""
        documents = self.view.failed_with_retries(self.batch)
        plan = retries.plan_retries(documents, int(time.time() * 1000), self.retry_backoff_ms)
        for document in plan.due:
            if self.service.retry_failed(document) is None:
                self.view.stale([document["id"]])
            else:
                logger.info(f"retrying failed task {document['id']} "
                            f"({int(document.get('retryCount') or 0) + 1}/{int(document.get('maxRetries') or 0)})")
        return plan.next_due_in
