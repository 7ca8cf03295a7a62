"""What a new attempt starts from: the task's latest checkpoint, and the history entry that says so."""

from __future__ import annotations

from typing import Any

from skalds.model.task import HistoryType
from skalds.transport.checkpoint_docs import SUMMARY_FIELD
from skalds.transport.ports import TaskStore


def last_checkpoint(store: TaskStore | None, document: dict[str, Any]) -> dict[str, Any] | None:
    """The stored checkpoint of the task (`TaskStore.get_checkpoint`), read only when its document says it
    has one (most tasks have none: no extra query for them). A store that fails raises: the attempt must
    not start from zero while a checkpoint exists."""
    if store is None or not isinstance(document.get(SUMMARY_FIELD), dict):
        return None
    return store.get_checkpoint(str(document["id"]))


def restored_entry(executor: str, attempt: int, checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The history entry of an attempt that starts from `checkpoint`: which save it is (attempt, savedAt)."""
    return {"type": HistoryType.CHECKPOINT_RESTORED.value, "executor": executor, "attempt": attempt,
            "checkpoint": {"attempt": checkpoint.get("attempt"), "savedAt": checkpoint.get("savedAt"),
                           "sizeBytes": checkpoint.get("sizeBytes")}}
