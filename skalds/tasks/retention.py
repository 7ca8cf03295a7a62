"""Removing finished work: a user's delete of one terminal task, and the retention job that removes
terminal tasks (with their history) once they have been unchanged for the retention time.

Both delete under the condition that the task is still terminal, so a task restarted meanwhile is
never removed. The job is bounded: at most `batch` ids per query and `max_batches` per cycle, over
the `status_updated` index (lifecycleStatus, updateDateTime) on MongoDB and the expression indexes
on SQLite.
"""

from __future__ import annotations

from skalds.model.task import TERMINAL_STATUSES
from skalds.tasks.lifecycle import Refusal, Transition
from skalds.transport.ports import TaskStore

TERMINAL = {"lifecycleStatus": sorted(TERMINAL_STATUSES)}
BATCH = 500


def delete(store: TaskStore, task_id: str) -> Transition:
    """Delete a Finished, Failed or Cancelled task and its history; a live one is refused (cancel it first)."""
    document = store.get(task_id)
    if document is None:
        return Transition.refused(Refusal.NOT_FOUND, f"task {task_id!r} not found")
    status = document.get("lifecycleStatus")
    if status not in TERMINAL_STATUSES:
        return Transition.refused(Refusal.WRONG_STATUS, f"task {task_id!r} is {status}; only a finished, failed "
                                  "or cancelled task can be deleted (cancel it first)", document)
    if not store.delete_where([task_id], expect=TERMINAL):
        return Transition.refused(Refusal.CHANGED, f"task {task_id!r} changed meanwhile; try again", document)
    return Transition(None, previous=document)


def expired(store: TaskStore, before_ms: int, limit: int = BATCH) -> list[str]:
    """Ids of terminal tasks last changed before `before_ms`, oldest first (a malformed one too: it is old
    and terminal, and skipping it would keep the job behind it for ever)."""
    where = {**TERMINAL, "updateDateTime": {"$lt": before_ms}}
    found = store.find(where, sort=[("updateDateTime", 1)], limit=limit, fields=("id",))
    return [document["id"] for document in found if isinstance(document.get("id"), str) and document["id"]]


def oldest_ended_ms(store: TaskStore) -> int | None:
    """When the task that ended longest ago last changed (one indexed read per terminal status), or None."""
    stamps = []
    for status in sorted(TERMINAL_STATUSES):
        found = store.find({"lifecycleStatus": status}, sort=[("updateDateTime", 1)], limit=1,
                           fields=("updateDateTime",))
        stamps += [document["updateDateTime"] for document in found
                   if isinstance(document.get("updateDateTime"), (int, float))]
    return int(min(stamps)) if stamps else None


def remove_expired(store: TaskStore, before_ms: int, batch: int = BATCH, max_batches: int = 10) -> int:
    """One cycle of the retention job; returns how many tasks it removed."""
    removed = 0
    for _ in range(max_batches):
        ids = expired(store, before_ms, batch)
        if not ids:
            break
        removed += len(store.delete_where(ids, expect={**TERMINAL, "updateDateTime": {"$lt": before_ms}}))
        if len(ids) < batch:
            break
    return removed
