"""What a node must do so the tasks it holds match the store: a pure function.

Events (assign, cancel, pause, resume, update) only wake a node up; the store says what is wanted (the
task's `executor`, `attempt`, `desiredStatus` and `attachmentsVersion`). Every reconcile period the node
reads the tasks that name it (`queries.held_by`) and compares them with the copies it runs, so an event
that was lost only delays the change until the next period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skalds.model.task import DesiredStatus as D
from skalds.model.task import TaskLifecycleStatus as S
from skalds.node.ownership import lost_copies
from skalds.tasks import lifecycle


@dataclass(frozen=True)
class Copy:
    """One copy of a task running here, as the node sees it."""

    attempt: int
    passive: bool = True  # only dispatched (passive) copies are stopped for a lost ownership
    paused: bool = False
    stopping: bool = False  # a stop was requested: the copy is on its way out, nothing more is asked of it
    delivered: int | None = None  # the attachments version last sent to (or rejected for) this copy


@dataclass
class Plan:
    """What to do, by task id (`start`: the documents of assigned attempts no event started here;
    `orphaned`: the documents of Paused attempts this run of the node never held, left by an earlier run)."""

    lost: list[str] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    pause: list[str] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    start: list[dict[str, Any]] = field(default_factory=list)
    orphaned: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.lost, self.cancel, self.pause, self.resume, self.update, self.start, self.orphaned))

    def summary(self) -> str:
        parts = [f"{name} {len(items)}" for name, items in (("lost", self.lost), ("cancel", self.cancel),
                 ("pause", self.pause), ("resume", self.resume), ("update", self.update), ("start", self.start),
                 ("orphaned", self.orphaned))
                 if items]
        return ", ".join(parts) or "nothing"


def _number(document: dict[str, Any], name: str) -> int:
    return int(document.get(name) or 0)


def plan(copies: dict[str, Copy], held: list[dict[str, Any]], owned: dict[str, int],
         started: dict[str, int]) -> Plan:
    """The actions that bring the copies here in line with the store.

    `copies`: what runs here; `held`: the tasks the store shows active on this node; `owned`: for copies
    not in `held`, the attempt of those the store still gives this node (any status); `started`: the
    highest attempt of each task this node started (an attempt starts once, even if its status write is
    still queued)."""
    result = Plan()
    by_id = {document["id"]: document for document in held}
    for task_id, document in by_id.items():
        copy = copies.get(task_id)
        if copy is None:
            status, never_started = document.get("lifecycleStatus"), started.get(task_id, 0) < _number(
                document, "attempt")
            if status == S.Assigning.value and never_started:
                result.start.append(document)
            elif status == S.Paused.value and never_started:  # its process died with an earlier run of the node
                result.orphaned.append(document)
        elif not copy.stopping:
            _compare(task_id, copy, document, result)
    elsewhere = {task_id: copy.attempt for task_id, copy in copies.items()
                 if task_id not in by_id and copy.passive and not copy.stopping}
    result.lost.extend(lost_copies(elsewhere, owned))
    return result


def _compare(task_id: str, copy: Copy, document: dict[str, Any], result: Plan) -> None:
    """One copy running here against its document, which names this node."""
    attempt, status = _number(document, "attempt"), document.get("lifecycleStatus")
    if attempt > copy.attempt:  # a newer attempt: started in place of this copy, or this copy is stale
        if status == S.Assigning.value:
            result.start.append(document)
        elif copy.passive:
            result.lost.append(task_id)
        return
    if attempt < copy.attempt:  # the store has not seen this copy's attempt yet
        return
    wanted = lifecycle.desired(document)
    if wanted == D.Cancelled.value:
        result.cancel.append(task_id)
        return
    if wanted == D.Paused.value and not copy.paused:
        result.pause.append(task_id)
    elif wanted == D.Running.value and copy.paused:
        result.resume.append(task_id)
    delivered = copy.delivered if copy.delivered is not None else max(  # a rejected version is not sent again
        _number(document, "appliedAttachmentsVersion"), _number(document, "rejectedAttachmentsVersion"))
    if _number(document, "attachmentsVersion") > delivered:
        result.update.append(task_id)
