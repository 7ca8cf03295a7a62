"""What a new attempt starts from: the task's latest checkpoint, and the history entry that says so."""

from __future__ import annotations

from typing import Any

from skalds.model.task import HistoryType
from skalds.transport.checkpoint_docs import SUMMARY_FIELD
from skalds.transport.ports import TaskStore


def last_checkpoint(store: TaskStore | None, document: dict[str, Any]) -> dict[str, Any] | None:
    """The stored checkpoint of the task (`TaskStore.get_checkpoint`), read when its document says it has one
    or when an earlier attempt ran: a node killed between storing a save and writing its summary on the task
    leaves a checkpoint the document does not name. A first attempt has none (no extra query for most
    tasks). A store that fails raises: the attempt must not start from zero while a checkpoint exists."""
    if store is None:
        return None
    if not isinstance(document.get(SUMMARY_FIELD), dict) and _attempt(document) <= 1:
        return None
    return store.get_checkpoint(str(document["id"]))


def _attempt(document: dict[str, Any]) -> int:
    attempt = document.get("attempt")
    return attempt if isinstance(attempt, int) else 0


def restored_entry(executor: str, attempt: int, checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The history entry of an attempt that starts from `checkpoint`: which save it is (attempt, savedAt)."""
    return {"type": HistoryType.CHECKPOINT_RESTORED.value, "executor": executor, "attempt": attempt,
            "checkpoint": {"attempt": checkpoint.get("attempt"), "savedAt": checkpoint.get("savedAt"),
                           "sizeBytes": checkpoint.get("sizeBytes")}}
