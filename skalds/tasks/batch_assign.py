"""Many Created tasks assigned at once: the dispatcher's batch form of `lifecycle.assign`.

One compare-and-set round trip for the whole batch (`TaskStore.update_each`), each task fenced as
alone: it must still be Created with the attempt it was read with, and gets that attempt + 1. A
task changed meanwhile (cancelled, paused, taken by another controller) is skipped, never
overwritten, and only the applied ones get their history entry (one insert for the batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from skalds.model._time import now_ms
from skalds.model.task import HistoryType
from skalds.model.task import TaskLifecycleStatus as S
from skalds.transport.ports import Change, TaskStore


def _read_attempt(document: dict[str, Any]) -> int | None:
    """The attempt the task was read with; None when it is not a count (such a task is not tried)."""
    attempt = document.get("attempt") or 0
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        return None
    return attempt


def assign_many(store: TaskStore, pairs: Sequence[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    """Give each task (as read) to its node; returns the applied ones with what the batch wrote, in batch order.

    Each task appears at most once; a task whose read status is not Created, or whose attempt is not a
    count, is not tried."""
    if len({document["id"] for document, _node in pairs}) < len(pairs):
        raise ValueError("a batch names each task at most once")
    stamp = now_ms()
    wanted: dict[str, dict[str, Any]] = {}
    changes: list[Change] = []
    for document, node_id in pairs:
        attempt = _read_attempt(document)
        if document.get("lifecycleStatus") != S.Created.value or attempt is None:
            continue
        fields = {"executor": node_id, "lifecycleStatus": S.Assigning.value, "assignedDateTime": stamp}
        changes.append(Change(document["id"], fields, expect={"lifecycleStatus": S.Created.value, "attempt": attempt},
                              increment={"attempt": 1}))
        wanted[document["id"]] = {**document, **fields, "attempt": attempt + 1}
    if not changes:
        return []
    applied = [wanted[task_id] for task_id in store.update_each(changes)]
    store.append_history_many([(document["id"], {"type": HistoryType.ASSIGNED.value, "executor": document["executor"],
                                                 "attempt": document["attempt"]}) for document in applied])
    return applied
