"""Watches nodes and tasks: online/offline nodes, lost tasks, and the live change feed.

Every controller refreshes the node view and the change feed (so its API and SSE are
live); only the leader declares tasks lost. A Running task is alive while its heartbeat
timestamp keeps changing, timed on the controller's clock; a task whose node is offline,
whose heartbeat stopped, or that was not started within the assign timeout is lost and
goes back to the dispatcher with a new attempt. Edge (Active) tasks are shown, never moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skalds.model.task import TERMINAL_STATUSES, HistoryType, ModeEnum, TaskLifecycleStatus
from skalds.system_controller.history_feed import HistoryFeed
from skalds.system_controller.hub import EventHub
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord, NodeRegistry
from skalds.system_controller.task_service import TaskService
from skalds.tasks import queries
from skalds.transport.ports import LiveState
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger

S = TaskLifecycleStatus
H = HistoryType
HISTORY_TO_EVENT = {kind.value: name for kind, name in {
    H.STATUS: "task_status", H.CREATED: "task_created", H.ASSIGNED: "task_assigned",
    H.ATTACHMENTS_UPDATED: "task_attachments", H.ATTACHMENTS_APPLIED: "task_attachments",
    H.ATTACHMENTS_REJECTED: "task_attachments", H.LOST: "task_lost", H.RELEASED: "task_status",
    H.RETRY: "task_status"}.items()}
RELEASING_ENTRIES = frozenset({H.RELEASED.value, H.LOST.value})
WAKING_ENTRIES = frozenset({H.CREATED.value, H.LOST.value, H.RETRY.value, H.RELEASED.value})


@dataclass
class TaskBeat:
    heartbeat: int | None = None
    stamp: str | None = None
    seen_change_at: float = field(default_factory=time.monotonic)


class Monitor:
    def __init__(self, service: TaskService, live: LiveState, hub: EventHub,
                 metrics: ControllerMetrics, heartbeat_timeout: float, assign_timeout: float) -> None:
        self.service = service
        self.store = service.store
        self.live = live
        self.hub = hub
        self.metrics = metrics
        self.registry = NodeRegistry(live, heartbeat_timeout)
        self.heartbeat_timeout = heartbeat_timeout
        self.assign_timeout = assign_timeout
        self.beats: dict[str, TaskBeat] = {}
        self.live_tasks: dict[str, dict[str, Any]] = {}
        self._history = HistoryFeed(self.store, int(time.time() * 1000), max_pages=5)
        self.lost_total = 0
        self.on_waiting: Callable[[], None] = lambda: None  # a task became Created (seen in the feed)
        self.on_capacity: Callable[[], None] = lambda: None  # a node came online or a task ended
        self.on_failed: Callable[[], None] = lambda: None  # a task failed (it may have retries left)
        self.on_ended: Callable[[set[str]], None] = lambda _ids: None  # these tasks hold no node any more
        self.last_cycle_seconds = 0.0
        self._last_counts = 0.0

    def nodes(self) -> dict[str, NodeRecord]:
        return self.registry.nodes

    # --- one cycle -------------------------------------------------------------------------------
    def cycle(self, leader: bool) -> None:
        started = time.perf_counter()
        self._refresh_nodes()
        self._refresh_tasks(leader)
        self._feed()
        # Counts by status only feed metrics: every 5 s, or less often when queries are slow (large stores).
        if time.monotonic() - self._last_counts > max(5.0, 10 * self.last_cycle_seconds):
            self._count_tasks()
        self.last_cycle_seconds = time.perf_counter() - started

    def _refresh_nodes(self) -> None:
        previous = {node_id: (node.heartbeat, [t["id"] for t in node.current_tasks])
                    for node_id, node in self.registry.nodes.items()}
        nodes, transitions = self.registry.refresh()
        for node_id, status in transitions:
            node = nodes.get(node_id)
            logger.info(f"node {node_id} is {status}")
            if status == "online":
                self.on_capacity()
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
            if leader and document.get("mode") == ModeEnum.Passive.value:
                reason = self._lost_reason(document, beat, now)
                if reason:
                    lost += self._declare_lost(document, reason)
        if lost:
            self.service.flush_events()  # one wait for the broker's acks for the whole batch
        for gone in set(self.beats) - set(live):
            del self.beats[gone]
        self.live_tasks = live

    def _heartbeats(self, ids: list[str]) -> list[tuple[int | None, str | None]]:
        if not ids:
            return []
        keys = []
        for task_id in ids:
            keys += [RedisKey.task_heartbeat(task_id), RedisKey.task_heartbeat_at(task_id)]
        raw = self.live.mget(keys)
        return [(_int_or_none(raw[i]), raw[i + 1]) for i in range(0, len(raw), 2)]

    def _lost_reason(self, document: dict[str, Any], beat: TaskBeat, now: float) -> str | None:
        executor = document.get("executor")
        node = self.registry.nodes.get(executor or "")
        status = document.get("lifecycleStatus")
        if not executor:
            return None
        if node is None or not node.online:
            # The task's own heartbeat is written by the same node: while it still changes the
            # node is alive (its registration was lost, e.g. live state restarted), so wait.
            if beat.stamp is not None and now - beat.seen_change_at <= self.heartbeat_timeout:
                return None
            return f"node {executor} is offline"
        if status == S.Running.value and now - beat.seen_change_at > self.heartbeat_timeout:
            return f"no heartbeat for {now - beat.seen_change_at:.0f}s"
        if status == S.Assigning.value and beat.stamp is None:
            assigned_ms = int(document.get("assignedDateTime") or document.get("updateDateTime") or 0)
            if time.time() * 1000 - assigned_ms > self.assign_timeout * 1000:
                return f"node {executor} did not start it within {self.assign_timeout:.0f}s"
        return None

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
        ended = {entry["taskId"] for entry in entries
                 if entry.get("status") in TERMINAL_STATUSES or entry.get("status") == S.Created.value
                 or entry.get("type") in RELEASING_ENTRIES}
        if ended:
            self.on_ended(ended)
        ended &= set(self.live_tasks)
        if ended:  # replaced, not mutated: the dispatcher thread iterates over it
            self.live_tasks = {task_id: document for task_id, document in self.live_tasks.items()
                               if task_id not in ended}

    def _notify_dispatcher(self, entry: dict[str, Any]) -> None:
        """Work done anywhere (another controller's API, a node's release) reaches the dispatcher at once."""
        kind, status = entry.get("type"), entry.get("status")
        if kind in WAKING_ENTRIES or status == S.Created.value:
            self.on_waiting()
        elif status == S.Failed.value:
            self.on_failed()
        elif status in TERMINAL_STATUSES or status == S.Paused.value:
            self.on_capacity()

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
