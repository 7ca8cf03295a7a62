"""Counters and a run-time histogram by task class, from the change feed's history entries.

Every controller reads every change (`feed_follower` observers), so each counts what happened since it
started: failures (status Failed), retries, reassignments (a lost task handed back), cancels, and how
long each run took (its Running entry to its end, the same attempt). An entry names its task, not its
class: the class comes from the task's creation entry or, while the task is live, from the live view,
and is remembered until the task is over (bounded). Classes past MAX_CLASSES count as "other".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from skalds.model.task import TERMINAL_STATUSES, HistoryType, TaskLifecycleStatus

S = TaskLifecycleStatus
MAX_CLASSES = 100
MAX_REMEMBERED = 50_000  # tasks whose class and start are remembered (the oldest go first)
DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400)


class TaskCounters:
    def __init__(self, registry: CollectorRegistry, class_of: Callable[[str], str | None]) -> None:
        self.class_of = class_of
        self.failures = Counter("skalds_task_failures", "Task runs that failed, by class", ["class"],
                                registry=registry)
        self.retries = Counter("skalds_task_retries", "Failed tasks queued again by their retry policy, by class",
                               ["class"], registry=registry)
        self.reassignments = Counter("skalds_task_reassignments", "Lost tasks handed back for a new attempt, "
                                     "by class", ["class"], registry=registry)
        self.cancels = Counter("skalds_task_cancels", "Tasks cancelled, by class", ["class"], registry=registry)
        self.run_duration = Histogram("skalds_task_run_duration_seconds", "A run's time from Running to its end, "
                                      "by class", ["class"], buckets=DURATION_BUCKETS, registry=registry)
        self._known: OrderedDict[str, str] = OrderedDict()
        self._started: dict[tuple[str, Any], int] = {}  # (task, attempt) -> ms its Running entry was stamped
        self._classes: set[str] = set()

    def observe(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            task_id = str(entry.get("taskId"))
            kind = entry.get("type")
            if kind == HistoryType.CREATED.value and isinstance(entry.get("className"), str):
                self._remember(task_id, entry["className"])
            elif kind == HistoryType.RETRY.value:
                self.retries.labels(self._class(task_id)).inc()
            elif kind == HistoryType.LOST.value:
                self.reassignments.labels(self._class(task_id)).inc()
                self._started.pop((task_id, entry.get("attempt")), None)
            elif kind == HistoryType.STATUS.value:
                self._status(task_id, entry)

    def _status(self, task_id: str, entry: dict[str, Any]) -> None:
        status, stamp, key = entry.get("status"), entry.get("ts"), (task_id, entry.get("attempt"))
        class_name = self._class(task_id)
        if status == S.Running.value and isinstance(stamp, int):
            self._started.setdefault(key, stamp)
            while len(self._started) > MAX_REMEMBERED:
                del self._started[next(iter(self._started))]
        if status == S.Failed.value:
            self.failures.labels(class_name).inc()
        elif status == S.Cancelled.value:
            self.cancels.labels(class_name).inc()
        if status in TERMINAL_STATUSES:
            started = self._started.pop(key, None)
            if started is not None and isinstance(stamp, int) and stamp >= started:
                self.run_duration.labels(class_name).observe((stamp - started) / 1000)
            if status in (S.Finished.value, S.Cancelled.value):
                self._known.pop(task_id, None)

    def _class(self, task_id: str) -> str:
        name = self._known.get(task_id)
        if name is None:
            name = self.class_of(task_id)
            if name is None:
                return "unknown"
            name = self._remember(task_id, name)
        return name

    def _remember(self, task_id: str, class_name: str) -> str:
        if class_name not in self._classes:
            if len(self._classes) >= MAX_CLASSES:
                class_name = "other"
            else:
                self._classes.add(class_name)
        self._known[task_id] = class_name
        while len(self._known) > MAX_REMEMBERED:
            self._known.popitem(last=False)
        return class_name
