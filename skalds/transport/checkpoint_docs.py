"""A task's checkpoint in the store, the same on every backend.

The state (up to 1 MiB) lives in its own collection or table, `task_checkpoints`, one document per task
(`attempt`, `savedAt`, `sizeBytes`, `state` as JSON text), so that lists and the change feed, which read
task documents, never carry it; the task document holds only the summary (`checkpoint`).
"""

from __future__ import annotations

import json
from typing import Any

CHECKPOINTS = "task_checkpoints"
SUMMARY_FIELD = "checkpoint"  # on the task document: {savedAt, attempt, sizeBytes}


def summary(attempt: int, saved_at: int, size_bytes: int) -> dict[str, int]:
    return {"savedAt": int(saved_at), "attempt": int(attempt), "sizeBytes": int(size_bytes)}


def record(attempt: Any, saved_at: Any, size_bytes: Any, state: str) -> dict[str, Any]:
    """What `TaskStore.get_checkpoint` returns: the summary's fields and the state as a dict."""
    value = json.loads(state) if state else None
    return {**summary(attempt or 0, saved_at or 0, size_bytes or 0), "state": value if isinstance(value, dict) else {}}
