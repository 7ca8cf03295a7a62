"""Watches nodes and tasks: online/offline nodes, lost tasks, and the live change feed.

Every controller refreshes the node view and the change feed (so its API and SSE are
live); only the leader declares tasks lost. The node check runs every MONITOR_SKALD_INTERVAL,
the task check and the feed every MONITOR_TASK_INTERVAL (`policy.cadence`). Whether a task is
lost is `policy.verdicts`' decision; what a history entry means for the dispatcher is
`policy.feed`'s. This module reads the facts, publishes changes and tells the listener.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from skalds.model.task import HistoryType, TaskLifecycleStatus
from skalds.system_controller.history_feed import HistoryFeed
from skalds.system_controller.hub import EventHub
from skalds.system_controller.listeners import NO_DISPATCH, DispatchListener
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord, NodeRegistry
from skalds.system_controller.policy.cadence import Cadence
from skalds.system_controller.policy.evidence import LivenessEvidence
from skalds.system_controller.policy.feed import Signal, ended_tasks, signal_of
from skalds.system_controller.policy.verdicts import LostLimits, TaskBeat, lost_reason
from skalds.system_controller.task_service import TaskService
from skalds.tasks import queries
from skalds.transport.ports import LiveState, ServiceUnavailableError
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger

S = TaskLifecycleStatus
H = HistoryType
HISTORY_TO_EVENT = {kind.value: name for kind, name in {
    H.STATUS: "task_status", H.CREATED: "task_created", H.ASSIGNED: "task_assigned",
    H.ATTACHMENTS_UPDATED: "task_attachments", H.ATTACHMENTS_APPLIED: "task_attachments",
    H.ATTACHMENTS_REJECTED: "task_attachments", H.LOST: "task_lost", H.RELEASED: "task_status",
    H.RETRY: "task_status"}.items()}


class Monitor:
    def __init__(self, service: TaskService, live: LiveState, hub: EventHub, metrics: ControllerMetrics, *,
                 limits: LostLimits, cadence: Cadence, listener: DispatchListener = NO_DISPATCH) -> None:
        self.service = service
        self.store = service.store
        self.live = live
        self.hub = hub
        self.metrics = metrics
        self.limits = limits
        self.cadence = cadence
        self.listener = listener
        self.registry = NodeRegistry(live, limits.heartbeat_timeout)
        self.evidence = LivenessEvidence(limits.heartbeat_timeout)
        self._epoch = uuid.uuid4().hex
        self.beats: dict[str, TaskBeat] = {}
        self.live_tasks: dict[str, dict[str, Any]] = {}
        self._history = HistoryFeed(self.store, int(time.time() * 1000), max_pages=5)
        self.lost_total = 0
        self.last_cycle_seconds = 0.0
        self._last_counts = 0.0

    def nodes(self) -> dict[str, NodeRecord]:
        return self.registry.nodes

    def active_tasks(self) -> dict[str, dict[str, Any]]:
        """The active tasks of the last task check (replaced, never mutated: other threads iterate it)."""
        return self.live_tasks

    # --- one cycle -------------------------------------------------------------------------------
    def cycle(self, leader: bool, now: float | None = None) -> None:
        """One tick of the monitor loop: the node check and the task check, each when it is due."""
        nodes_due, tasks_due = self.cadence.due(time.monotonic() if now is None else now)
        started = time.perf_counter()
        try:
            if nodes_due:
                self._refresh_nodes()
            if not tasks_due:
                return
            self._check_epoch()
            self._refresh_tasks(leader)
        except ServiceUnavailableError:
            self.evidence.begin("live state or the task store did not answer")
            raise
        self._feed()
        # Counts by status only feed metrics: every 5 s, or less often when queries are slow (large stores).
        if time.monotonic() - self._last_counts > max(5.0, 10 * self.last_cycle_seconds):
            self._count_tasks()
        self.last_cycle_seconds = time.perf_counter() - started  # a cycle with the task check: the slow part

    def _refresh_nodes(self) -> None:
        previous = {node_id: (node.heartbeat, [t["id"] for t in node.current_tasks])
                    for node_id, node in self.registry.nodes.items()}
        nodes, transitions = self.registry.refresh()
        for node_id, status in transitions:
            node = nodes.get(node_id)
            logger.info(f"node {node_id} is {status}")
            if status == "online":
                self.listener.capacity_freed()
            self.hub.publish("skalds", "skald_status", node_id,
                             {"status": status, "taskCount": len(node.current_tasks) if node else 0})
        for node_id, node in nodes.items():
            current = (node.heartbeat, [t["id"] for t in node.current_tasks])
            if node.online and previous.get(node_id) != current:
                self.hub.publish("skalds", "skald_heartbeat", node_id,
                                 {"heartbeat": node.heartbeat, "status": "online", "tasks": current[1]})
        self.metrics.nodes_online.set(sum(node.online for node in nodes.values()))
        self.metrics.nodes_total.set(len(nodes))

    def _refresh_tasks(self, leader: bool) -> None:
        documents = queries.active(self.store)
        ids = [document["id"] for document in documents]
        values = self._heartbeats(ids)
        now = time.monotonic()
        live: dict[str, dict[str, Any]] = {}
        lost = 0
        for document, (heartbeat, stamp) in zip(documents, values, strict=True):
            task_id = document["id"]
            beat = self.beats.get(task_id) or TaskBeat(seen_change_at=now)
            if stamp != beat.stamp:
                beat.stamp, beat.seen_change_at = stamp, now
            if heartbeat != beat.heartbeat and heartbeat is not None:
                self.hub.publish("tasks", "task_heartbeat", task_id,
                                 {"heartbeat": heartbeat, "lifecycleStatus": document.get("lifecycleStatus")})
            beat.heartbeat = heartbeat
            self.beats[task_id] = beat
            live[task_id] = document
            if leader and self.evidence.allows_verdicts(now):
                reason = lost_reason(document, self.registry.nodes.get(document.get("executor") or ""), beat,
                                     now, time.time() * 1000, self.limits)
                if reason:
                    lost += self._declare_lost(document, reason)
        if lost:
            self.service.flush_events()  # one wait for the broker's acks for the whole batch
        for gone in set(self.beats) - set(live):
            del self.beats[gone]
        self.live_tasks = live

    def took_the_lead(self) -> None:
        """A new leader judges only what it has seen itself: one timeout of fresh evidence first."""
        self.evidence.begin("this controller took the lead")

    def _check_epoch(self) -> None:
        """Live state that lost its keys (restarted empty) is not evidence that every node died."""
        if self.live.get(RedisKey.LIVE_EPOCH) is None:
            self.live.write(lambda batch: batch.set(RedisKey.LIVE_EPOCH, self._epoch))
            self.evidence.begin("live state is empty (restarted without its data?)")

    def _heartbeats(self, ids: list[str]) -> list[tuple[int | None, str | None]]:
        if not ids:
            return []
        keys = []
        for task_id in ids:
            keys += [RedisKey.task_heartbeat(task_id), RedisKey.task_heartbeat_at(task_id)]
        raw = self.live.mget(keys)
        return [(_int_or_none(raw[i]), raw[i + 1]) for i in range(0, len(raw), 2)]

    def _declare_lost(self, document: dict[str, Any], reason: str) -> int:
        if self.service.mark_lost(document, reason, flush=False) is None:
            return 0
        self.lost_total += 1
        self.metrics.reassignments.inc()
        logger.warning(f"task {document['id']} lost ({reason}); it will be assigned again")
        return 1

    def _feed(self) -> None:
        """Publish history entries written since the last cycle (by nodes, the API or the dispatcher)."""
        entries = self._history.read()
        self._forget_ended(entries)
        for entry in entries:
            name = HISTORY_TO_EVENT.get(entry.get("type", ""))
            if name is None:
                continue
            data = {k: v for k, v in entry.items() if k not in ("_id", "taskId")}
            if "status" in entry:
                data["lifecycleStatus"] = entry["status"]
            self.hub.publish("tasks", name, entry["taskId"], data)
            self._notify_dispatcher(entry)
            if entry.get("error") and entry.get("status") == S.Failed.value:
                self.hub.publish("tasks", "task_exception", entry["taskId"],
                                 {"exception": entry["error"], "lifecycleStatus": S.Failed.value})

    def _forget_ended(self, entries: list[dict[str, Any]]) -> None:
        """Tasks that ended or went back to Created since this cycle's scan no longer load their node: the
        dispatcher woken by these entries must not count them (the scan ran before the entries were written)."""
        ended = ended_tasks(entries)
        if ended:
            self.listener.tasks_ended(ended)
        ended &= set(self.live_tasks)
        if ended:  # replaced, not mutated: the dispatcher thread iterates over it
            self.live_tasks = {task_id: document for task_id, document in self.live_tasks.items()
                               if task_id not in ended}

    def _notify_dispatcher(self, entry: dict[str, Any]) -> None:
        """Work done anywhere (another controller's API, a node's release) reaches the dispatcher at once."""
        signal = signal_of(entry)
        if signal is Signal.WORK_WAITING:
            self.listener.work_waiting()
        elif signal is Signal.TASK_FAILED:
            self.listener.task_failed()
        elif signal is Signal.CAPACITY_FREED:
            self.listener.capacity_freed()

    def _count_tasks(self) -> None:
        self._last_counts = time.monotonic()
        counts = queries.counts_by_status(self.store)
        for status in S:
            self.metrics.tasks_by_status.labels(status.value).set(counts.get(status.value, 0))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
