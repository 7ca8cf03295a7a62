"""Which tasks a drain asks its node to release now: a pure function over what the controller knows.

At most `parallelism` releases are under way at once; a release not answered within RESEND_SECONDS is sent
again (its event may be lost: the node ignores a repeat); once the deadline has passed every remaining task
is released at once and forcibly (its worker is killed rather than asked). A drain is done when its node holds
no task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skalds.model.task import ModeEnum

RESEND_SECONDS = 5.0


@dataclass(frozen=True)
class Sent:
    attempt: int
    at: float  # monotonic
    forced: bool = False


@dataclass
class DrainStep:
    release: list[tuple[str, int]] = field(default_factory=list)  # (task id, attempt), asked to release
    force: list[tuple[str, int]] = field(default_factory=list)  # released at once (past the deadline)
    done: bool = False


def held_by(node_id: str, active: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """The dispatched tasks `node_id` holds (task id -> attempt), oldest first by id order of the view."""
    return {task_id: int(document.get("attempt") or 0) for task_id, document in sorted(active.items())
            if document.get("executor") == node_id and document.get("mode") == ModeEnum.Passive.value}


def plan(held: Mapping[str, int], sent: Mapping[str, Sent], *, parallelism: int, past_deadline: bool,
         now: float) -> DrainStep:
    """What to send now. `sent` are the releases asked earlier (this controller's memory; a new leader starts
    with none and simply asks again)."""
    step = DrainStep(done=not held)
    if past_deadline:
        step.force = [(task_id, attempt) for task_id, attempt in held.items()
                      if not _recent(sent.get(task_id), attempt, now, forced=True)]
        return step
    under_way = [task_id for task_id, attempt in held.items()
                 if (previous := sent.get(task_id)) is not None and previous.attempt == attempt]
    for task_id in under_way:
        previous = sent[task_id]
        if now - previous.at >= RESEND_SECONDS:
            step.release.append((task_id, held[task_id]))
    room, busy = max(0, parallelism - len(under_way)), set(under_way)
    for task_id, attempt in held.items():
        if room <= 0:
            break
        if task_id not in busy:
            step.release.append((task_id, attempt))
            room -= 1
    return step


def _recent(previous: Sent | None, attempt: int, now: float, *, forced: bool) -> bool:
    return previous is not None and previous.attempt == attempt and previous.forced == forced \
        and now - previous.at < RESEND_SECONDS
