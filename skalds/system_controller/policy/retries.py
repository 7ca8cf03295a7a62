"""When a Failed task with retries left goes back to Created: after a backoff that doubles per retry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def retry_due_ms(document: dict[str, Any], backoff_ms: int) -> int | None:
    """The wall-clock ms when the task may be retried, or None once its retry budget is spent.

    Timed from the failure (updateDateTime), so a controller that restarts keeps the schedule."""
    retries, budget = int(document.get("retryCount") or 0), int(document.get("maxRetries") or 0)
    if retries >= budget:
        return None
    return int(document.get("updateDateTime") or 0) + backoff_ms * (2 ** retries)


@dataclass
class RetryPlan:
    """The tasks to retry now, and how long until the next one that is not due yet (None: none waits)."""

    due: list[dict[str, Any]] = field(default_factory=list)
    next_due_in: float | None = None


def plan_retries(documents: Iterable[dict[str, Any]], now_ms: int, backoff_ms: int) -> RetryPlan:
    plan = RetryPlan()
    next_due_ms: int | None = None
    for document in documents:
        due_ms = retry_due_ms(document, backoff_ms)
        if due_ms is None:
            continue
        if now_ms < due_ms:
            next_due_ms = due_ms if next_due_ms is None else min(next_due_ms, due_ms)
        else:
            plan.due.append(document)
    plan.next_due_in = None if next_due_ms is None else (next_due_ms - now_ms) / 1000
    return plan
