"""The reads of the task store, named by what they are for (the filters live here, not in callers).

Every list a read returns holds only usable documents: one that is not (`validation.problem_of`) is
left out and reported to the problem log, so a single bad document never fails a cycle or a page.

Each read and the index that serves it (skalds/transport/task_indexes.py; checked by explain in
tests/integration/test_query_plans.py and tests/unit/test_paging.py):

    documents_by_id, owned_attempts   `_id` / `id_1` (by key)
    held_by, running_on               executor_status (executor, lifecycleStatus)
    active                            status_updated (lifecycleStatus prefix)
    waiting, failed_with_retries      mode_status_priority (mode, lifecycleStatus, priority)
    counts_by_status, class_names     list_status / list_class (a group over the key's index)
    activity_since                    list_created, list_updated, status_updated (ranges on the time)
    paging.page, no filter            list_<key> (key, id) for each sortBy; sortBy=id: id_1
    paging.page, one filter           <status|class|executor>_<created|updated>_id (field, time, id);
                                      another sortBy: the filter's list_<field> (field, id) or the
                                      sort's index, the rest filtered on the way (bounded by the page)
    paging.total (capped count)       the filter's index, read up to COUNT_CAP ids
    id substring (TaskFilter.id)      none: a substring has no index; the scan stops at the page
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from skalds.model.task import ACTIVE_STATUSES, TERMINAL_STATUSES, ModeEnum
from skalds.model.task import TaskLifecycleStatus as S
from skalds.tasks.problems import PROBLEMS
from skalds.tasks.validation import STATUSES, document_id, problem_of
from skalds.transport.ports import TaskStore

MONITORED_FIELDS = ("id", "executor", "attempt", "lifecycleStatus", "desiredStatus", "mode", "assignedDateTime",
                    "updateDateTime", "className")
HELD_FIELDS = ("id", "attempt", "executor", "lifecycleStatus", "desiredStatus", "attachmentsVersion",
               "appliedAttachmentsVersion", "rejectedAttachmentsVersion", "className", "mode")
ID_BATCH = 500  # ids per lookup query: a long list of ids is read in several queries of this size
RETRY_FIELDS = ("id", "attempt", "retryCount", "maxRetries", "updateDateTime", "lifecycleStatus", "desiredStatus")


def usable(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents that can be used; the others are reported as problems."""
    kept = []
    for document in documents:
        reason = problem_of(document)
        if reason is None:
            kept.append(document)
        else:
            PROBLEMS.report(document_id(document) or "(no id)", reason)
    return kept


def documents_by_id(store: TaskStore, task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Several task documents, one query per `ID_BATCH` ids (assign events arriving together)."""
    found: dict[str, dict[str, Any]] = {}
    ids = list(dict.fromkeys(task_ids))
    for start in range(0, len(ids), ID_BATCH):
        found.update((document["id"], document)
                     for document in usable(store.find({"id": ids[start:start + ID_BATCH]})))
    return found


def held_by(store: TaskStore, executor: str) -> list[dict[str, Any]]:
    """The tasks that hold `executor` (Assigning, Running, Paused) with what its node compares with the
    copies it runs (`HELD_FIELDS`): one query over the `executor_status` index."""
    return usable(store.find({"executor": executor, "lifecycleStatus": sorted(ACTIVE_STATUSES)},
                             fields=HELD_FIELDS))


def owned_attempts(store: TaskStore, executor: str, task_ids: Sequence[str]) -> dict[str, int]:
    """Which of `task_ids` this executor still owns, with their attempts (one query)."""
    if not task_ids:
        return {}
    documents = usable(store.find({"id": list(task_ids), "executor": executor}, fields=("id", "attempt")))
    return {document["id"]: int(document.get("attempt") or 0) for document in documents}


def running_on(store: TaskStore, executor: str) -> list[dict[str, Any]]:
    """Dispatched tasks recorded Running on `executor` (what a restarted node recovers)."""
    return usable(store.find({"executor": executor, "mode": ModeEnum.Passive.value,
                              "lifecycleStatus": [S.Running.value]}))


def active(store: TaskStore) -> list[dict[str, Any]]:
    """Tasks that hold a node (Assigning, Running, Paused): what the monitor watches."""
    return usable(store.find({"lifecycleStatus": sorted(ACTIVE_STATUSES)}, fields=MONITORED_FIELDS))


def waiting(store: TaskStore, limit: int) -> list[dict[str, Any]]:
    """Created dispatchable tasks, highest priority first, oldest first."""
    return usable(store.find({"mode": ModeEnum.Passive.value, "lifecycleStatus": S.Created.value},
                             sort=[("priority", -1), ("createDateTime", 1)], limit=limit))


def failed_with_retries(store: TaskStore, limit: int) -> list[dict[str, Any]]:
    """Failed dispatchable tasks that were given a retry budget."""
    return usable(store.find({"mode": ModeEnum.Passive.value, "lifecycleStatus": S.Failed.value,
                              "maxRetries": {"$gt": 0}}, fields=RETRY_FIELDS, limit=limit))


def counts_by_status(store: TaskStore) -> dict[str, int]:
    return {key: int(value) for key, value in store.group_count("lifecycleStatus").items() if key in STATUSES}


def totals(store: TaskStore, fields: Sequence[str], *, only_over: bool = False) -> dict[str, dict[str, int]]:
    """How many tasks (with `only_over`: Finished, Failed or Cancelled ones) hold each value of each field (text
    values only; a status must be a known one): one aggregation for all the fields, which a controller's live view runs
    only when it starts or recounts."""
    where = {"lifecycleStatus": sorted(TERMINAL_STATUSES)} if only_over else None
    found = {}
    for field, counted in store.group_counts(fields, where).items():
        counts = {key: int(value) for key, value in counted.items() if isinstance(key, str) and key}
        found[field] = {key: value for key, value in counts.items() if field != "lifecycleStatus" or key in STATUSES}
    return found


def class_names(store: TaskStore) -> list[str]:
    return sorted(name for name in store.group_count("className") if name and isinstance(name, str))


@dataclass(frozen=True)
class TaskFilter:
    """The API's list filters; `id_contains` is a literal, case-insensitive substring."""

    lifecycle_status: str | None = None
    class_name: str | None = None
    executor: str | None = None
    id_contains: str | None = None

    def where(self) -> dict[str, Any]:
        where: dict[str, Any] = {}
        if self.lifecycle_status:
            where["lifecycleStatus"] = self.lifecycle_status
        if self.class_name:
            where["className"] = self.class_name
        if self.executor:
            where["executor"] = self.executor
        if self.id_contains:
            where["id"] = {"$regex": re.escape(self.id_contains), "$options": "i"}
        return where


@dataclass(frozen=True)
class RecentActivity:
    created: int
    updated: int
    finished: int
    failed: int


def activity_since(store: TaskStore, cutoff_ms: int) -> RecentActivity:
    """How many tasks were created, changed, finished and failed since `cutoff_ms`."""
    since = {"$gte": cutoff_ms}
    return RecentActivity(
        created=store.count({"createDateTime": since}), updated=store.count({"updateDateTime": since}),
        finished=store.count({"lifecycleStatus": S.Finished.value, "updateDateTime": since}),
        failed=store.count({"lifecycleStatus": S.Failed.value, "updateDateTime": since}))
