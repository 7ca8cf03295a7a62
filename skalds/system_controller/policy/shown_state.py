"""The state a task is shown in: its stored status, or what is under way when the user's request has not
landed yet (`Cancelling`, `Pausing`) or a retry is due (`Retrying`).

The store keeps 0.3.8's `lifecycleStatus` (what the processes did) and `desiredStatus` (what the user
asked); the API adds `state` so a reader never sees a task as Cancelled while its process still runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skalds.model.task import TERMINAL_STATUSES
from skalds.model.task import DesiredStatus as D
from skalds.model.task import TaskLifecycleStatus as S
from skalds.system_controller.policy.retries import retry_due_ms
from skalds.tasks.desired import desired

CANCELLING, PAUSING, RETRYING = "Cancelling", "Pausing", "Retrying"
SHOWN_STATES = (*S.list(), CANCELLING, PAUSING, RETRYING)


@dataclass(frozen=True)
class ShownState:
    state: str
    next_attempt_at: int | None = None  # ms: when a Retrying task goes back to Created


def entry_state(entry: dict[str, Any]) -> str | None:
    """The state a history entry puts its task in, for SSE clients (None: it does not say)."""
    if entry.get("type") == "desired":
        return {D.Cancelled.value: CANCELLING, D.Paused.value: PAUSING}.get(str(entry.get("desiredStatus")))
    status = entry.get("status")
    return str(status) if status in S.list() else None


def shown_state(document: dict[str, Any], retry_backoff_ms: int | None) -> ShownState:
    """`retry_backoff_ms`: the controller's retry backoff (None: not known here, no Retrying is shown)."""
    status, wanted = document.get("lifecycleStatus") or S.Created.value, desired(document)
    if wanted == D.Cancelled.value and status not in TERMINAL_STATUSES:
        return ShownState(CANCELLING)
    if wanted == D.Paused.value and status in (S.Assigning.value, S.Running.value):
        return ShownState(PAUSING)
    if status == S.Failed.value and wanted == D.Running.value and retry_backoff_ms is not None:
        due = retry_due_ms(document, retry_backoff_ms)
        if due is not None:
            return ShownState(RETRYING, due)
    return ShownState(status)
