"""What a task's user wants of it (`desiredStatus`) against what its processes did (`lifecycleStatus`).

Read by the lifecycle's transitions, the API (is a request still pending?) and the node's reconciler.
"""

from __future__ import annotations

from typing import Any

from skalds.model.task import ACTIVE_STATUSES, TERMINAL_STATUSES
from skalds.model.task import DesiredStatus as D
from skalds.model.task import TaskLifecycleStatus as S

DESIRED_STATUSES = frozenset(D.list())


def desired(document: dict[str, Any]) -> str:
    """What the user asked of the task; a document without `desiredStatus` (0.3.8's) wants to run."""
    value = document.get("desiredStatus")
    return value if value in DESIRED_STATUSES else D.Running.value


def is_pending(document: dict[str, Any]) -> bool:
    """The user's last request is stored but its node has not carried it out yet."""
    status, wanted = document.get("lifecycleStatus"), desired(document)
    if wanted == D.Cancelled.value:
        return status not in TERMINAL_STATUSES
    if wanted == D.Paused.value:
        return status in (S.Assigning.value, S.Running.value)
    return status == S.Paused.value and bool(document.get("executor"))


def process_may_exist(document: dict[str, Any]) -> bool:
    """A node holds the task and may run a process for it: only that node can end or suspend it."""
    return bool(document.get("executor")) and document.get("lifecycleStatus") in ACTIVE_STATUSES
