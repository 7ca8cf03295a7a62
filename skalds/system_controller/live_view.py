"""A controller's picture of every task that is not over, and counts of the rest, held in memory.

Filled once from the store (`rebuild`), then kept current by the change feed (`apply`, with the
tasks a message names re-read from the store). The dispatcher, the monitor, active-task lists,
counts and the dashboard summary read it, so their cost follows the live tasks, not history.

Tasks that are over (Finished, Failed without retries, Cancelled) are only counted (`ended_counts`):
a transition the view saw moves a task between the map and the counters; one it cannot place (a
task another program wrote) marks the counters stale, and the follower reads the view again.
"""

from __future__ import annotations

import heapq
import threading
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from skalds.model.task import ACTIVE_STATUSES, TERMINAL_STATUSES, HistoryType, ModeEnum, TaskLifecycleStatus
from skalds.system_controller.ended_counts import FIELDS, EndedCounts
from skalds.tasks.live_reads import in_view
from skalds.tasks.queries import TaskFilter
from skalds.transport.errors import StoreUnavailableError

S = TaskLifecycleStatus
APPLIED_MEMORY = 50_000  # versions remembered to skip a repeated message (Kafka delivers at least once)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _dispatch_order(document: Mapping[str, Any]) -> tuple[float, float]:
    return -_number(document.get("priority")), _number(document.get("createDateTime"))


def _version(document: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return document.get("lifecycleStatus"), document.get("updateDateTime"), document.get("attempt")


def _came_from(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The entry of a user's transition, which names the status and node it started from (`from`,
    `fromExecutor`), or {}."""
    return next((entry for entry in entries if entry.get("type") == HistoryType.STATUS.value
                 and isinstance(entry.get("from"), str)), {})


class LiveView:
    def __init__(self) -> None:
        self._tasks: dict[str, dict[str, Any]] = {}
        self._ended = EndedCounts()  # the tasks that are over, outside the map
        self._classes: set[str] = set()  # every class name seen (0.3.8's /api/tasks/classnames)
        self._counted_at = 0  # ms: when the counters' totals were read
        self._applied: OrderedDict[str, tuple[Any, Any, Any]] = OrderedDict()  # task id -> version applied
        self._lock = threading.Lock()
        self.ready = False  # built from the store at least once

    @property
    def counts_stale(self) -> bool:
        """Some counter may be off: the follower reads the view again."""
        return bool(self._ended.stale)

    # --- writing (the follower's thread) -------------------------------------------------------------
    def rebuild(self, documents: Iterable[dict[str, Any]], totals: Mapping[str, Mapping[str, int]],
                counted_at: int = 0) -> None:
        """The map from the store's live tasks, read after `totals` (counts of the tasks that are over, by status,
        class and node: `ended_counts.FIELDS`), which were read at `counted_at` (ms)."""
        tasks = {document["id"]: document for document in documents if in_view(document)}
        classes = set(totals.get("className", {})) | {str(task["className"]) for task in tasks.values()
                                                      if task.get("className")}
        ended = EndedCounts.of(totals, [task for task in tasks.values()
                                        if task.get("lifecycleStatus") in TERMINAL_STATUSES])
        with self._lock:
            self._tasks, self._ended, self._classes = tasks, ended, classes
            self._counted_at = counted_at
            self._applied.clear()
            self.ready = True

    def apply(self, documents: dict[str, dict[str, Any] | None], entries: list[dict[str, Any]],
              deleted: Mapping[str, Mapping[str, str | None]]) -> None:
        """The re-read state of the tasks a batch named (None: not in the store), with the batch's entries."""
        by_task: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            by_task.setdefault(entry["taskId"], []).append(entry)
        with self._lock:
            for task_id, document in documents.items():
                self._apply_one(task_id, document, by_task.get(task_id, []), deleted.get(task_id))

    def created(self, document: dict[str, Any]) -> None:
        """A task this controller has just stored: in the view at once, so the creator's next read counts it,
        unless the feed brought it (or a later version of it) first. Its message, when it comes, moves nothing."""
        task_id = document["id"]
        with self._lock:
            if self.ready and task_id not in self._tasks and task_id not in self._applied:
                self._apply_one(task_id, document, [{"taskId": task_id, "type": HistoryType.CREATED.value}], None)

    def _apply_one(self, task_id: str, document: dict[str, Any] | None, entries: list[dict[str, Any]],
                   deleted: Mapping[str, str | None] | None) -> None:
        """Move one task between the map and the counters. The counters were read at `counted_at`: a change the
        document shows as later (its `updateDateTime`) is news to them, an earlier one is in them already. A
        version of the task applied already (one write's entries in two messages, a message delivered twice)
        moves nothing again."""
        if document is not None and self._applied.get(task_id) == _version(document):
            if in_view(document):
                self._tasks[task_id] = document
            return
        self._applied.pop(task_id, None)
        old = self._tasks.pop(task_id, None)
        origin = _came_from(entries)
        came_from, ended = origin.get("from"), self._ended
        if document is None:
            if old is None and deleted is not None and deleted.get("lifecycleStatus") in TERMINAL_STATUSES:
                for name in FIELDS:
                    ended.remove(name, deleted.get(name))
            return
        if isinstance(document.get("className"), str) and document["className"]:
            self._classes.add(document["className"])
        after_count = _number(document.get("updateDateTime")) > self._counted_at
        if came_from in TERMINAL_STATUSES and after_count and (old is None or old.get("lifecycleStatus") != came_from):
            ended.remove("lifecycleStatus", came_from)  # it left the counters (a retry or restart)
            ended.remove("className", document.get("className"))
            if "fromExecutor" in origin:
                ended.remove("executor", origin["fromExecutor"])
            else:
                ended.stale.add("executor")  # the node it ended on is not in the entry
        if in_view(document):
            self._tasks[task_id] = document
            self._remember(task_id, document)
            created = any(entry.get("type") == HistoryType.CREATED.value for entry in entries)
            if old is None and not created and came_from is None and after_count:
                ended.stale.update(FIELDS)  # from a state this view never saw (another program wrote it)
            return
        if old is not None or (after_count and any(entry.get("status") in TERMINAL_STATUSES for entry in entries)):
            ended.add(document)  # it ended after the counters were read
            self._remember(task_id, document)
        elif not after_count:
            self._remember(task_id, document)  # in the counters' totals already
        # else: an end whose own entry is still to come (in a later message) counts it then

    def _remember(self, task_id: str, document: dict[str, Any]) -> None:
        self._applied[task_id] = _version(document)
        if len(self._applied) > APPLIED_MEMORY:
            self._applied.popitem(last=False)

    # --- reading (any thread) ------------------------------------------------------------------------
    def tasks(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._tasks.values())

    def active(self) -> dict[str, dict[str, Any]]:
        """Tasks that hold a node (Assigning, Running, Paused)."""
        with self._lock:
            return {task_id: document for task_id, document in self._tasks.items()
                    if document.get("lifecycleStatus") in ACTIVE_STATUSES}

    def waiting(self, limit: int, classes: Collection[str] | None = None) -> list[dict[str, Any]]:
        """Created dispatchable tasks, highest priority first, oldest first; with `classes`, only tasks of those
        classes, chosen before the limit, so a flood of a class no node has room for hides no other class."""
        with self._lock:
            created = [document for document in self._tasks.values()
                       if document.get("lifecycleStatus") == S.Created.value
                       and document.get("mode") == ModeEnum.Passive.value
                       and (classes is None or document.get("className") in classes)]
        return heapq.nsmallest(limit, created, key=_dispatch_order)

    def failed_with_retries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [document for document in self._tasks.values()
                    if document.get("lifecycleStatus") == S.Failed.value]

    def counts(self) -> dict[str, int]:
        """Tasks by status, over everything stored."""
        with self._lock:
            counts = Counter(str(document.get("lifecycleStatus")) for document in self._tasks.values())
            counts.update(self._ended.by["lifecycleStatus"])
        return {status.value: counts.get(status.value, 0) for status in S}

    def checked_counts(self) -> dict[str, int]:
        """`counts`, or StoreUnavailableError before the view was read from the store (its counts would lie)."""
        if not self.ready:
            raise StoreUnavailableError("the controller has not read its starting state from the task store yet")
        return self.counts()

    def total(self, task_filter: TaskFilter) -> int | None:
        """How many tasks match, when the view knows exactly (the list's `total`); None: ask the store.

        Known: any filter on a status the view holds (it holds every such task); otherwise one of status,
        class or node alone, or no filter (map + counters). Not known: combinations over tasks that are over,
        and the id filter."""
        if not self.ready:
            return None
        status = task_filter.lifecycle_status
        if status is not None and status not in TERMINAL_STATUSES and status != S.Failed.value:
            needle = (task_filter.id_contains or "").lower()
            with self._lock:
                return sum(1 for task in self._tasks.values() if task.get("lifecycleStatus") == status
                           and (task_filter.class_name is None or task.get("className") == task_filter.class_name)
                           and (task_filter.executor is None or task.get("executor") == task_filter.executor)
                           and needle in str(task.get("id", "")).lower())
        given = {field: value for field, value in (("lifecycleStatus", status), ("className", task_filter.class_name),
                                                   ("executor", task_filter.executor)) if value}
        if task_filter.id_contains or len(given) > 1:
            return None
        with self._lock:
            if not given:
                known = "lifecycleStatus" not in self._ended.stale
                return len(self._tasks) + sum(self._ended.by["lifecycleStatus"].values()) if known else None
            (field, value), = given.items()
            ended = self._ended.count(field, value)
            return None if ended is None else ended + sum(1 for task in self._tasks.values()
                                                          if task.get(field) == value)

    def class_of(self, task_id: str) -> str | None:
        """The class of a task the view holds (a task that is not over), or None."""
        return self._field(task_id, "className")

    def status_of(self, task_id: str) -> str | None:
        """The stored status of a task the view holds, or None."""
        return self._field(task_id, "lifecycleStatus")

    def _field(self, task_id: str, name: str) -> str | None:
        with self._lock:
            task = self._tasks.get(task_id)
        return None if task is None or not task.get(name) else str(task[name])

    def class_names(self) -> list[str]:
        with self._lock:
            return sorted(self._classes)

