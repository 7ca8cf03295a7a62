"""The store reads behind a controller's live view: its start (or re-read after a gap) and the re-read
of the tasks a change message names. Both are bounded by what is live, never by history.

Indexes: `live_documents` filters on `lifecycleStatus` (the `status_updated` index); the re-read is by
`_id` (the key).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from skalds.model.task import DesiredStatus as D
from skalds.model.task import ModeEnum
from skalds.model.task import TaskLifecycleStatus as S
from skalds.tasks.desired import desired
from skalds.tasks.queries import ID_BATCH, usable
from skalds.transport.ports import TaskStore

# What the view keeps of a task: enough for the dispatcher, the monitor, lists and counts (not attachments).
VIEW_FIELDS = ("id", "name", "className", "executor", "attempt", "lifecycleStatus", "desiredStatus", "mode",
               "priority", "createDateTime", "updateDateTime", "assignedDateTime", "retryCount", "maxRetries",
               "source", "traceparent", "disconnect")  # traceparent: the dispatch span's parent (telemetry.flow)
# What the audit compares (and `in_view` needs): a task whose stamp differs from the view's is re-read.
AUDIT_FIELDS = ("id", "lifecycleStatus", "updateDateTime", "mode", "retryCount", "maxRetries", "desiredStatus")
LIVE_STATUSES = sorted(status.value for status in (S.Created, S.Assigning, S.Running, S.Paused))


def in_view(document: dict[str, Any]) -> bool:
    """Not over yet: live, or Failed with an automatic retry still to come."""
    status = document.get("lifecycleStatus")
    if status in LIVE_STATUSES:
        return True
    return status == S.Failed.value and document.get("mode") == ModeEnum.Passive.value \
        and _int(document.get("retryCount")) < _int(document.get("maxRetries")) and desired(document) == D.Running.value


def live_documents(store: TaskStore, fields: Sequence[str] = VIEW_FIELDS) -> list[dict[str, Any]]:
    """Every task the view holds: the live ones and the Failed ones with retries left (two indexed reads)."""
    documents = store.find({"lifecycleStatus": LIVE_STATUSES}, fields=fields)
    documents += store.find({"lifecycleStatus": S.Failed.value, "mode": ModeEnum.Passive.value,
                             "maxRetries": {"$gt": 0}}, fields=fields)
    return [document for document in usable(documents) if in_view(document)]


def view_documents(store: TaskStore, task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The view's fields of these tasks, by id (one key lookup per `ID_BATCH`); a missing id is absent."""
    found: dict[str, dict[str, Any]] = {}
    ids = list(dict.fromkeys(task_ids))
    for start in range(0, len(ids), ID_BATCH):
        found.update((document["id"], document)
                     for document in usable(store.find({"id": ids[start:start + ID_BATCH]}, fields=VIEW_FIELDS)))
    return found


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
