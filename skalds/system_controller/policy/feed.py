"""What a history entry written anywhere (an API, a node, another controller) means for the dispatcher."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from skalds.model.task import TERMINAL_STATUSES, HistoryType, TaskLifecycleStatus

S = TaskLifecycleStatus
H = HistoryType
RELEASING_ENTRIES = frozenset({H.RELEASED.value, H.LOST.value})
WAKING_ENTRIES = frozenset({H.CREATED.value, H.LOST.value, H.RETRY.value, H.RELEASED.value})


class Signal(Enum):
    WORK_WAITING = "work_waiting"  # a task became Created: assign it
    TASK_FAILED = "task_failed"  # it may have retries left: its retry falls due after the backoff
    CAPACITY_FREED = "capacity_freed"  # a task ended or paused: a waiting task may fit now


def signal_of(entry: dict[str, Any]) -> Signal | None:
    kind, status = entry.get("type"), entry.get("status")
    if kind in WAKING_ENTRIES or status == S.Created.value:
        return Signal.WORK_WAITING
    if status == S.Failed.value:
        return Signal.TASK_FAILED
    if status in TERMINAL_STATUSES or status == S.Paused.value:
        return Signal.CAPACITY_FREED
    return None


def ended_tasks(entries: Iterable[dict[str, Any]]) -> set[str]:
    """Tasks that no longer hold a node: ended, back to Created, released or lost."""
    return {entry["taskId"] for entry in entries
            if entry.get("status") in TERMINAL_STATUSES or entry.get("status") == S.Created.value
            or entry.get("type") in RELEASING_ENTRIES}
