"""A node's status writes: one change per (task, attempt), merged while queued, written in groups.

Changes with the same attempt and fields go out as one compare-and-set over all their tasks (one
query instead of one per task), and their history entries in one insert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from skalds.model._time import now_ms
from skalds.model.task import HistoryType, TaskLifecycleStatus
from skalds.transport.ports import TaskStore


@dataclass
class StatusChange:
    """One task's status write (several statuses merged into their final fields) and its history entries."""

    task_id: str
    executor: str
    attempt: int
    fields: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, task_id: str, status: TaskLifecycleStatus, *, executor: str, attempt: int,
           error: str | None = None, exit_code: int | None = None, reason: str | None = None) -> StatusChange:
        fields: dict[str, Any] = {"lifecycleStatus": status.value}
        if status == TaskLifecycleStatus.Assigning:  # back to starting (a fenced copy): timed from now
            fields["assignedDateTime"] = now_ms()
        elif status == TaskLifecycleStatus.Running:
            fields.update({"error": None, "exitCode": None})
        elif status == TaskLifecycleStatus.Finished:
            # Same fields as a merged Running + Finished, so a batch holding both kinds is one update.
            fields["error"] = None
        if error is not None:
            fields["error"] = error
        if exit_code is not None:
            fields["exitCode"] = exit_code
        entry: dict[str, Any] = {"type": HistoryType.STATUS.value, "status": status.value, "executor": executor,
                                 "attempt": attempt}
        if error:
            entry["error"] = error
        if exit_code is not None:
            entry["exitCode"] = exit_code
        if reason:
            entry["reason"] = reason
        return cls(task_id, executor, attempt, fields, [entry])

    def copy(self) -> StatusChange:
        return StatusChange(self.task_id, self.executor, self.attempt, dict(self.fields), list(self.history))

    def merge(self, later: StatusChange) -> None:
        """Fold a later status of the same attempt into this one (e.g. Running then Finished: one write)."""
        self.fields.update(later.fields)
        self.history.extend(later.history)


def write_changes(store: TaskStore, changes: list[StatusChange]) -> set[tuple[str, int]]:
    """Write the changes; returns the (id, attempt) pairs whose executor no longer owns that attempt
    (their fields and history are not written)."""
    groups: dict[tuple[int, str], list[StatusChange]] = {}
    for change in changes:
        key = (change.attempt, json.dumps(change.fields, sort_keys=True, default=str))
        groups.setdefault(key, []).append(change)
    lost: set[tuple[str, int]] = set()
    for (attempt, _fields), group in groups.items():
        lost |= {(task_id, attempt) for task_id in _write_group(store, group)}
    history = [(change.task_id, entry) for change in changes if (change.task_id, change.attempt) not in lost
               for entry in change.history]
    store.append_history_many(history)
    return lost


def _write_group(store: TaskStore, group: list[StatusChange]) -> set[str]:
    first = group[0]
    expect = {"executor": first.executor, "attempt": first.attempt}
    ids = [change.task_id for change in group]  # one update even for one task: no document sent back
    if store.update_where(ids, first.fields, expect=expect) == len(ids):
        return set()
    # Some were not ours: the ones still matching the executor, attempt and new status were written.
    written = {document["id"] for document in store.find({"id": ids}, fields=(
        "id", "executor", "attempt", "lifecycleStatus"))
        if document.get("executor") == first.executor and _int(document.get("attempt")) == first.attempt
        and document.get("lifecycleStatus") == first.fields.get("lifecycleStatus")}
    return set(ids) - written


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return -1
