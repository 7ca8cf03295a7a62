"""Watches nodes and tasks: online/offline nodes and lost tasks, over the controller's live view.

Every controller refreshes the node view (so its API and SSE are live); only the leader declares
tasks lost. The node check runs every MONITOR_SKALD_INTERVAL, the task check every
MONITOR_TASK_INTERVAL (`policy.cadence`). The tasks come from the live view (fed by the change
feed, `feed_follower`), their heartbeats from the live state: the store is not read. Whether a task
is lost is `policy.verdicts`' decision; a verdict the store refuses (the view was behind) and a
task a node reports that the view does not hold are re-read by the follower.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Iterable
from typing import Any, Protocol

from skalds.model.task import TaskLifecycleStatus
from skalds.system_controller.hub import EventHub
from skalds.system_controller.listeners import NO_DISPATCH, DispatchListener
from skalds.system_controller.live_view import LiveView
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord, NodeRegistry
from skalds.system_controller.policy.cadence import Cadence
from skalds.system_controller.policy.evidence import LivenessEvidence
from skalds.system_controller.policy.verdicts import LostLimits, TaskBeat, lost_reason
from skalds.system_controller.progress_series import ProgressSeries
from skalds.system_controller.task_service import TaskService
from skalds.transport.ports import LiveState, ServiceUnavailableError
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger

S = TaskLifecycleStatus
REPORT_RECHECK_SECONDS = 10.0  # a task a node reports that the view lacks is re-read at most this often
MAX_RECHECKS_PER_CYCLE = 500


class Refresher(Protocol):
    def refresh(self, task_ids: Iterable[str]) -> None: ...


class Monitor:
    def __init__(self, service: TaskService, live: LiveState, hub: EventHub, metrics: ControllerMetrics, *,
                 view: LiveView, refresher: Refresher, limits: LostLimits, cadence: Cadence,
                 listener: DispatchListener = NO_DISPATCH, progress: ProgressSeries | None = None) -> None:
        self.service = service
        self.live = live
        self.hub = hub
        self.metrics = metrics
        self.limits = limits
        self.cadence = cadence
        self.listener = listener
        self.view = view
        self.refresher = refresher
        self.progress = progress or ProgressSeries()  # each task's latest progress and its series
        self.registry = NodeRegistry(live, limits.heartbeat_timeout)
        self.evidence = LivenessEvidence(limits.heartbeat_timeout)
        self._epoch = uuid.uuid4().hex
        self.beats: dict[str, TaskBeat] = {}
        self._rechecked: dict[str, float] = {}  # reported task -> when it was last re-read
        self.lost_total = 0
        self.last_cycle_seconds = 0.0
        self._last_counts = 0.0

    def nodes(self) -> dict[str, NodeRecord]:
        return self.registry.nodes

    def active_tasks(self) -> dict[str, dict[str, Any]]:
        """The tasks that hold a node, from the live view (a fresh dict each call)."""
        return self.view.active()

    def waiting(self, limit: int, classes: Collection[str] | None = None) -> list[dict[str, Any]]:
        return self.view.waiting(limit, classes)

    def failed_with_retries(self, limit: int) -> list[dict[str, Any]]:
        return self.view.failed_with_retries()[:limit]

    def stale(self, task_ids: Iterable[str]) -> None:
        """The store refused a change made from the view: re-read these tasks."""
        self.refresher.refresh(task_ids)

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
        if time.monotonic() - self._last_counts > 5.0:
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
        self.metrics.node_gauges.observe(nodes)
        self._recheck_reported(nodes)

    def _recheck_reported(self, nodes: dict[str, NodeRecord]) -> None:
        """Tasks a node says it runs that the view does not have on that node: the view may have missed a
        change (a message lost on the way). Each is re-read, at most every REPORT_RECHECK_SECONDS."""
        if not self.view.ready:
            return
        active, now = self.view.active(), time.monotonic()
        doubtful = [task["id"] for node_id, node in nodes.items() if node.online for task in node.current_tasks
                    if (active.get(task["id"]) or {}).get("executor") != node_id
                    and now - self._rechecked.get(task["id"], -REPORT_RECHECK_SECONDS) >= REPORT_RECHECK_SECONDS]
        doubtful = doubtful[:MAX_RECHECKS_PER_CYCLE]
        for task_id in doubtful:
            self._rechecked[task_id] = now
        self._rechecked = {task_id: at for task_id, at in self._rechecked.items()
                           if now - at < REPORT_RECHECK_SECONDS}
        if doubtful:
            self.refresher.refresh(doubtful)

    def _refresh_tasks(self, leader: bool) -> None:
        documents = list(self.view.active().values())
        ids = [document["id"] for document in documents]
        classes = {document["id"]: str(document.get("className") or "") for document in documents}
        values = self._heartbeats(ids, classes)
        now = time.monotonic()
        live: dict[str, dict[str, Any]] = {}
        lost = 0
        for document, (heartbeat, stamp) in zip(documents, values, strict=True):
            task_id = document["id"]
            beat = self.beats.get(task_id) or TaskBeat(seen_change_at=now)
            if stamp != beat.stamp:
                beat.stamp, beat.seen_change_at = stamp, now
            if heartbeat != beat.heartbeat and heartbeat is not None:
                self._publish_heartbeat(task_id, heartbeat, document)
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

    def _publish_heartbeat(self, task_id: str, heartbeat: int, document: dict[str, Any]) -> None:
        data: dict[str, Any] = {"heartbeat": heartbeat, "lifecycleStatus": document.get("lifecycleStatus")}
        sample = self.progress.latest(task_id)
        if sample is not None and sample["fraction"] is not None:
            data["progress"] = sample["fraction"]  # additive: the task list moves its bar with the heartbeat
        self.hub.publish("tasks", "task_heartbeat", task_id, data)

    def took_the_lead(self) -> None:
        """A new leader judges only what it has seen itself: one timeout of fresh evidence first."""
        self.evidence.begin("this controller took the lead")

    def _check_epoch(self) -> None:
        """Live state that lost its keys (restarted empty) is not evidence that every node died."""
        if self.live.get(RedisKey.LIVE_EPOCH) is None:
            self.live.write(lambda batch: batch.set(RedisKey.LIVE_EPOCH, self._epoch))
            self.evidence.begin("live state is empty (restarted without its data?)")

    def _heartbeats(self, ids: list[str], classes: dict[str, str]) -> list[tuple[int | None, str | None]]:
        """Each task's heartbeat and its stamp, read with the progress of these and of tasks just ended."""
        progress = ids + self.progress.also_read(ids)
        keys = []
        for task_id in ids:
            keys += [RedisKey.task_heartbeat(task_id), RedisKey.task_heartbeat_at(task_id)]
        keys += [RedisKey.task_progress(task_id) for task_id in progress]
        raw = self.live.mget(keys) if keys else []
        beats = 2 * len(ids)
        self.progress.observe(dict(zip(progress, raw[beats:], strict=True)), classes, int(time.time() * 1000))
        return [(_int_or_none(raw[i]), raw[i + 1]) for i in range(0, beats, 2)]

    def _declare_lost(self, document: dict[str, Any], reason: str) -> int:
        if self.service.mark_lost(document, reason, flush=False) is None:
            self.refresher.refresh([document["id"]])  # the store says otherwise: the view was behind
            return 0
        self.lost_total += 1
        self.metrics.reassignments.inc()
        logger.warning(f"task {document['id']} lost ({reason}); it will be assigned again")
        return 1

    def _count_tasks(self) -> None:
        self._last_counts = time.monotonic()
        counts = self.view.counts()
        for status in S:
            self.metrics.tasks_by_status.labels(status.value).set(counts.get(status.value, 0))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
