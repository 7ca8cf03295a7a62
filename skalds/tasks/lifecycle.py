"""Every change of a task's state, in one place.

Each transition is a compare-and-set over the task-store port: it names the fields it expects (the
status and attempt it read, or the executor and attempt a node holds) and the change, writes the
history entry only when the change was applied, and returns a `Transition`: the new document, or
why it was refused. Callers (the API, the dispatcher and monitor, the node, edge mode) decide what
to announce; none of them builds a filter or an update document.

Ownership (design §6): every assignment increments `attempt`, a fencing token; a node's writes
expect the executor and attempt it holds, so a node that lost a task cannot overwrite the new
owner's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from skalds.model._time import now_ms
from skalds.model.task import ACTIVE_STATUSES, RETRYABLE_STATUSES, TERMINAL_STATUSES, HistoryType
from skalds.model.task import DesiredStatus as D
from skalds.model.task import TaskLifecycleStatus as S
from skalds.tasks.desired import (  # noqa: F401  (re-exported: read with the transitions)
    desired,
    is_pending,
    process_may_exist,
)
from skalds.tasks.status_change import StatusChange, write_changes
from skalds.transport.ports import DuplicateTaskError, TaskStore


class Refusal(str, Enum):
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    WRONG_STATUS = "wrong_status"  # the action does not fit the task's status
    CHANGED = "changed"  # someone changed the task between the read and the write
    NOT_OWNER = "not_owner"  # the executor or attempt the caller holds is no longer the task's


@dataclass(frozen=True)
class Transition:
    """The outcome of one transition: `document` (the task after it) when applied, else `refusal`."""

    document: dict[str, Any] | None
    refusal: Refusal | None = None
    reason: str = ""
    previous: dict[str, Any] | None = None  # the task as read before the change, when it was read

    @property
    def applied(self) -> bool:
        return self.refusal is None

    @classmethod
    def refused(cls, refusal: Refusal, reason: str, previous: dict[str, Any] | None = None) -> Transition:
        return cls(None, refusal, reason, previous)


def _entry(kind: HistoryType, **fields: Any) -> dict[str, Any]:
    return {"type": kind.value, **fields}


def _attempt(document: dict[str, Any]) -> Any:
    return document.get("attempt", 0)


def _read(store: TaskStore, task_id: str) -> dict[str, Any] | Transition:
    document = store.get(task_id)
    if document is None:
        return Transition.refused(Refusal.NOT_FOUND, f"task {task_id!r} not found")
    return document


# --- made by users (the API, the CLI, 0.3.8's TaskRepository) ------------------------------------------
def create(store: TaskStore, document: dict[str, Any]) -> Transition:
    """A new task, Created; refused when the id is taken."""
    try:
        store.insert(document)
    except DuplicateTaskError:
        return Transition.refused(Refusal.DUPLICATE, f"task {document['id']!r} already exists")
    store.append_history(document["id"], _entry(HistoryType.CREATED, className=document.get("className"),
                                                source=document.get("source")))
    return Transition(document)


def _by_user(store: TaskStore, document: dict[str, Any], fields: dict[str, Any]) -> Transition:
    """A user's status change, expecting the status and attempt read just before."""
    task_id = document["id"]
    updated = store.update(task_id, fields, expect={"lifecycleStatus": document.get("lifecycleStatus"),
                                                    "attempt": _attempt(document)})
    if updated is None:
        return Transition.refused(Refusal.CHANGED, f"task {task_id!r} changed meanwhile; try again", document)
    store.append_history(task_id, _entry(HistoryType.STATUS, status=fields["lifecycleStatus"], by="api",
                                         **{"from": document.get("lifecycleStatus"),
                                            "fromExecutor": document.get("executor")}))
    return Transition(updated, previous=document)


def _desire(store: TaskStore, document: dict[str, Any], wanted: D) -> Transition:
    """Store what the user wants of a task a node holds; the node carries it out and records the status."""
    task_id = document["id"]
    updated = store.update(task_id, {"desiredStatus": wanted.value},
                           expect={"lifecycleStatus": document.get("lifecycleStatus"), "attempt": _attempt(document)})
    if updated is None:
        return Transition.refused(Refusal.CHANGED, f"task {task_id!r} changed meanwhile; try again", document)
    store.append_history(task_id, _entry(HistoryType.DESIRED, desiredStatus=wanted.value, by="api"))
    return Transition(updated, previous=document)


def cancel(store: TaskStore, task_id: str) -> Transition:
    """Cancelled: at once when no process can exist, else desired (pending) until its node has stopped it.
    Cancelling a task whose cancel is pending changes nothing."""
    document = _read(store, task_id)
    if isinstance(document, Transition):
        return document
    status = document.get("lifecycleStatus")
    if status in TERMINAL_STATUSES:
        return Transition.refused(Refusal.WRONG_STATUS, f"task {task_id!r} is already {status}", document)
    if desired(document) == D.Cancelled.value:
        return Transition(document, previous=document)
    if process_may_exist(document):
        return _desire(store, document, D.Cancelled)
    return _by_user(store, document, {"lifecycleStatus": S.Cancelled.value, "desiredStatus": D.Cancelled.value})


def pause(store: TaskStore, task_id: str) -> Transition:
    """Paused. A task a node holds (Assigning or Running: a process may exist) keeps its node, which suspends
    it or, if it never started it, parks it (pending until then); one no node holds is Paused at once, so
    resuming dispatches it. Never a handoff: clearing the executor of a task whose process may run would let
    a second copy start elsewhere. Pausing a Paused task, or one whose pause is pending, changes nothing; pausing a
    Paused task whose resume is pending calls the resume off (else its node would carry it out: Running)."""
    document = _read(store, task_id)
    if isinstance(document, Transition):
        return document
    status, wanted = document.get("lifecycleStatus"), desired(document)
    if wanted == D.Paused.value or (status == S.Paused.value and not document.get("executor")):
        return Transition(document, previous=document)
    if status in TERMINAL_STATUSES or wanted == D.Cancelled.value:
        return Transition.refused(Refusal.WRONG_STATUS, f"task {task_id!r} is "
                                  f"{'being cancelled' if status not in TERMINAL_STATUSES else status}; "
                                  "only live tasks can be paused", document)
    if process_may_exist(document):
        return _desire(store, document, D.Paused)
    return _by_user(store, document, {"lifecycleStatus": S.Paused.value, "executor": None,
                                      "desiredStatus": D.Paused.value})


def resume(store: TaskStore, task_id: str) -> Transition:
    """A Paused task on a node runs again there (pending until the node resumed it); one without a node
    waits for the dispatcher (Created); a pending pause is called off. Repeating a resume changes nothing."""
    document = _read(store, task_id)
    if isinstance(document, Transition):
        return document
    status, wanted = document.get("lifecycleStatus"), desired(document)
    if status == S.Paused.value and not document.get("executor"):
        return _by_user(store, document, {"lifecycleStatus": S.Created.value, "desiredStatus": D.Running.value})
    if status == S.Paused.value and wanted == D.Running.value:
        return Transition(document, previous=document)
    if status == S.Paused.value or (wanted == D.Paused.value and status in ACTIVE_STATUSES):
        return _desire(store, document, D.Running)
    return Transition.refused(Refusal.WRONG_STATUS, f"task {task_id!r} is {status}, not Paused", document)


def restart(store: TaskStore, task_id: str) -> Transition:
    """From the beginning, as a new attempt. A task no node holds goes back to Created for the dispatcher. A task
    a node holds (a process may exist) gets its next attempt on the same node, which stops the old copy before
    it starts the new one: handing it to the dispatcher would let a second copy start elsewhere while the old
    one still runs (its stop event may be late or lost)."""
    document = _read(store, task_id)
    if isinstance(document, Transition):
        return document
    if not process_may_exist(document):
        return _by_user(store, document, {"lifecycleStatus": S.Created.value, "executor": None, "error": None,
                                          "exitCode": None, "desiredStatus": D.Running.value})
    executor = document["executor"]
    updated = store.update(task_id, {"lifecycleStatus": S.Assigning.value, "error": None, "exitCode": None,
                                     "desiredStatus": D.Running.value, "assignedDateTime": now_ms()},
                           expect={"lifecycleStatus": document.get("lifecycleStatus"), "attempt": _attempt(document)},
                           increment={"attempt": 1})
    if updated is None:
        return Transition.refused(Refusal.CHANGED, f"task {task_id!r} changed meanwhile; try again", document)
    store.append_history(task_id, _entry(HistoryType.ASSIGNED, executor=executor, attempt=updated.get("attempt"),
                                         reason="restart", by="api"))
    return Transition(updated, previous=document)


def retry(store: TaskStore, task_id: str) -> Transition:
    """A user's retry of a Failed or Cancelled task: a restart."""
    document = _read(store, task_id)
    if isinstance(document, Transition):
        return document
    if document.get("lifecycleStatus") not in RETRYABLE_STATUSES:
        return Transition.refused(Refusal.WRONG_STATUS, f"task {task_id!r} is {document.get('lifecycleStatus')}; "
                                  "only Failed or Cancelled tasks can be retried", document)
    return restart(store, task_id)


def update_attachments(store: TaskStore, task_id: str, attachments: dict[str, Any] | None) -> Transition:
    """New desired attachments with the next `attachmentsVersion` (compare-and-set on the version read); a node
    holding the task delivers them, and its worker accepts or rejects them (`record_attachments_result`). The
    applied ones stay apart (`attachments_view`): a rejected version never becomes what an attempt starts with."""
    document = _read(store, task_id)
    if isinstance(document, Transition):
        return document
    updated = store.update(task_id, {"attachments": attachments}, increment={"attachmentsVersion": 1},
                           expect={"attachmentsVersion": document.get("attachmentsVersion") or 0})
    if updated is None:
        return Transition.refused(Refusal.CHANGED, f"task {task_id!r} changed meanwhile; try again", document)
    store.append_history(task_id, _entry(HistoryType.ATTACHMENTS_UPDATED, version=updated.get("attachmentsVersion", 0)))
    return Transition(updated, previous=document)


# --- made by the controller's dispatcher and monitor -----------------------------------------------------
def assign(store: TaskStore, document: dict[str, Any], node_id: str) -> Transition:
    """A Created task goes to `node_id` with a new attempt (Assigning)."""
    task_id = document["id"]
    updated = store.update(task_id, {"executor": node_id, "lifecycleStatus": S.Assigning.value,
                                     "assignedDateTime": now_ms()},
                           expect={"lifecycleStatus": S.Created.value, "attempt": _attempt(document)},
                           increment={"attempt": 1})
    if updated is None:
        return Transition.refused(Refusal.CHANGED, f"task {task_id!r} is no longer waiting", document)
    store.append_history(task_id, _entry(HistoryType.ASSIGNED, executor=node_id, attempt=updated.get("attempt")))
    return Transition(updated, previous=document)


def mark_lost(store: TaskStore, document: dict[str, Any], reason: str) -> Transition:
    """The task's node or process is gone (and fenced): back to Created for a new attempt, without a node;
    Paused if it was to be paused, Cancelled if it was to be cancelled (no process is left to stop). What the
    user wants decides, not what the node last did: a Paused task whose resume was pending runs again. A Paused
    0.3.8 document (no `desiredStatus`) stays Paused."""
    task_id, status, wanted = document["id"], document.get("lifecycleStatus"), desired(document)
    target = S.Created.value
    if wanted == D.Cancelled.value:
        target = S.Cancelled.value
    elif wanted == D.Paused.value or (status == S.Paused.value and "desiredStatus" not in document):
        target = S.Paused.value
    updated = store.update(task_id, {"lifecycleStatus": target, "executor": None},
                           expect={"lifecycleStatus": status, "executor": document.get("executor"),
                                   "attempt": _attempt(document)})
    if updated is None:
        return Transition.refused(Refusal.CHANGED, f"task {task_id!r} changed meanwhile", document)
    store.append_history(task_id, _entry(HistoryType.LOST, executor=document.get("executor"),
                                         attempt=document.get("attempt"), reason=reason))
    return Transition(updated, previous=document)


def retry_failed(store: TaskStore, document: dict[str, Any]) -> Transition:
    """An automatic retry: a Failed task within its budget goes back to Created, one retry used (never one
    the user asked to pause or cancel)."""
    task_id = document["id"]
    if desired(document) != D.Running.value:
        return Transition.refused(Refusal.WRONG_STATUS, f"task {task_id!r} is to be {desired(document)}", document)
    updated = store.update(task_id, {"lifecycleStatus": S.Created.value, "executor": None},
                           expect={"lifecycleStatus": S.Failed.value, "attempt": _attempt(document),
                                   "retryCount": document.get("retryCount", 0)},
                           increment={"retryCount": 1})
    if updated is None:
        return Transition.refused(Refusal.CHANGED, f"task {task_id!r} changed meanwhile", document)
    store.append_history(task_id, _entry(HistoryType.RETRY, retry=updated.get("retryCount")))
    return Transition(updated, previous=document)


# --- made by nodes ---------------------------------------------------------------------------------------
def assign_to(store: TaskStore, task_id: str, executor: str) -> Transition:
    """Unconditionally give the task to `executor` with a new attempt (0.3.8's `update_executor`; edge
    nodes taking their YAML tasks)."""
    updated = store.update(task_id, {"executor": executor, "lifecycleStatus": S.Assigning.value},
                           increment={"attempt": 1})
    if updated is None:
        return Transition.refused(Refusal.NOT_FOUND, f"task {task_id!r} not found")
    store.append_history(task_id, _entry(HistoryType.ASSIGNED, executor=executor, attempt=updated.get("attempt", 0)))
    return Transition(updated)


def claim(store: TaskStore, task_id: str, *, executor: str, attempt: int) -> Transition:
    """A new attempt on the same executor: a node recovering its own task after it restarted."""
    updated = store.update(task_id, {"lifecycleStatus": S.Assigning.value},
                           expect={"executor": executor, "attempt": attempt}, increment={"attempt": 1})
    if updated is None:
        return Transition.refused(Refusal.NOT_OWNER, f"task {task_id!r} attempt {attempt} is no longer {executor}'s")
    store.append_history(task_id, _entry(HistoryType.ASSIGNED, executor=executor, attempt=updated.get("attempt", 0),
                                         reason="recovered"))
    return Transition(updated)


def record_status(store: TaskStore, change: StatusChange) -> Transition:
    """One status of the attempt a node holds; refused when it no longer owns that attempt."""
    if store.update(change.task_id, change.fields, expect={"executor": change.executor,
                                                            "attempt": change.attempt}) is None:
        return Transition.refused(Refusal.NOT_OWNER, f"task {change.task_id}: attempt {change.attempt} on "
                                  f"{change.executor} is no longer the owner")
    for entry in change.history:
        store.append_history(change.task_id, entry)
    return Transition({"id": change.task_id, **change.fields})


def record_statuses(store: TaskStore, changes: list[StatusChange]) -> set[tuple[str, int]]:
    """Many statuses of one node at once (see `status_change`); returns the (id, attempt) pairs refused
    because the node no longer owns that attempt (one batch may hold an old attempt's last status and
    the next attempt's first)."""
    return write_changes(store, changes)


def release(store: TaskStore, task_id: str, *, executor: str, attempt: int, reason: str) -> Transition:
    """A node gives a task back for reassignment (shutdown, no capacity): Created, no executor; Cancelled when its
    user wants it cancelled (no process is left to stop: a shutdown never undoes a cancel)."""
    document = store.get(task_id) or {}
    target = S.Cancelled.value if desired(document) == D.Cancelled.value else S.Created.value
    updated = store.update(task_id, {"lifecycleStatus": target, "executor": None},
                           expect={"executor": executor, "attempt": attempt})
    if updated is None:
        return Transition.refused(Refusal.NOT_OWNER, f"task {task_id!r} attempt {attempt} is no longer {executor}'s")
    store.append_history(task_id, _entry(HistoryType.RELEASED, executor=executor, attempt=attempt, reason=reason,
                                         status=target))
    return Transition(updated)


def park(store: TaskStore, task_id: str, *, executor: str, attempt: int) -> Transition:
    """A node assigned a task its user wants paused starts nothing: Paused without a node (a resume
    dispatches it again), for the attempt the node was given."""
    updated = store.update(task_id, {"lifecycleStatus": S.Paused.value, "executor": None},
                           expect={"executor": executor, "attempt": attempt})
    if updated is None:
        return Transition.refused(Refusal.NOT_OWNER, f"task {task_id!r} attempt {attempt} is no longer {executor}'s")
    store.append_history(task_id, _entry(HistoryType.STATUS, status=S.Paused.value, by=executor))
    return Transition(updated)


def record_attachments_result(store: TaskStore, task_id: str, version: int, accepted: bool, error: str | None = None,
                              *, executor: str, attempt: int, held: tuple[int, dict[str, Any]] | None) -> Transition:
    """The worker of `attempt` applied (or rejected) attachments `version`; `held` is the version and values it
    runs with after that (the applied ones): kept apart from the desired ones, they are what a new attempt
    starts with when the desired ones were rejected. Refused when `executor` no longer owns the attempt."""
    fields: dict[str, Any] = {} if accepted else {"rejectedAttachmentsVersion": version}
    if held is not None:
        fields.update({"appliedAttachmentsVersion": held[0], "appliedAttachments": held[1]})
    if store.update(task_id, fields, expect={"executor": executor, "attempt": attempt}) is None:
        return Transition.refused(Refusal.NOT_OWNER, f"task {task_id!r} attempt {attempt} is no longer {executor}'s")
    entry = _entry(HistoryType.ATTACHMENTS_APPLIED if accepted else HistoryType.ATTACHMENTS_REJECTED, version=version)
    if error:
        entry["error"] = error
    store.append_history(task_id, entry)
    return Transition({"id": task_id, **fields})


def record_yaml_digest(store: TaskStore, task_id: str, digest: str) -> None:
    """Which YAML attachments an edge task's stored attachments came from (a changed file wins at boot)."""
    store.update(task_id, {"yamlDigest": digest})
