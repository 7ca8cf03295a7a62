"""Task actions shared by the REST API and the dispatcher: every change is a compare-and-set
in the task store, recorded in the task's history, then announced to nodes over events.

Pause is a suspension of the worker process (SIGSTOP on its node): the task keeps its
memory and its node, uses no CPU, and resume (SIGCONT) continues where it stopped. A
task paused before it ran, or whose node was lost, resumes by being dispatched again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bson.errors import InvalidDocument
from pymongo.errors import OperationFailure

from skalds.model._time import now_ms
from skalds.model.event import TaskEvent
from skalds.model.task import TERMINAL_STATUSES, Task, TaskLifecycleStatus
from skalds.repository.repository import TaskRepository
from skalds.transport.ports import DuplicateTaskError, EventPublisher
from skalds.transport.wire_names import KafkaTopic

S = TaskLifecycleStatus
ACTIVE = [S.Assigning.value, S.Running.value, S.Paused.value]


MAX_ATTACHMENTS_BYTES = 1024 * 1024


class TaskActionError(Exception):
    """An action that does not fit the task's current state (HTTP 409) or a missing task (404)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class TaskService:
    def __init__(self, repository: TaskRepository, publisher: EventPublisher | None, topic_prefix: str = "",
                 on_created: Callable[[], None] | None = None) -> None:
        self.repository = repository
        self.store = repository.store
        self.publisher = publisher
        self.topic_prefix = topic_prefix
        self.on_created = on_created or (lambda: None)

    # --- events ----------------------------------------------------------------------------------
    def announce(self, topic: str, task_id: str, attempt: int | None = None, flush: bool = True,
                 recipient: str | None = None) -> None:
        """Publish a TaskEvent (serialised by alias, as 0.3.8's controller did); with `flush`, wait for the
        broker's ack. Batch callers pass flush=False and call `flush_events` once at the end."""
        if self.publisher is None:
            return
        event = TaskEvent(id=task_id, task_ids=[task_id], attempt=attempt, initiator="SystemController",
                          recipient=recipient)
        self.publisher.publish(self.topic_prefix + topic, task_id, event.model_dump_json(by_alias=True))
        if flush:
            self.publisher.flush(10)

    def flush_events(self) -> None:
        if self.publisher is not None:
            self.publisher.flush(10)

    # --- reads -----------------------------------------------------------------------------------
    def get(self, task_id: str) -> dict[str, Any]:
        document = self.store.get(task_id)
        if document is None:
            raise TaskActionError(404, f"task {task_id!r} not found")
        return document

    # --- actions ---------------------------------------------------------------------------------
    def create(self, *, task_id: str | None, class_name: str, attachments: dict[str, Any] | None,
               priority: int = 0, name: str | None = None, description: str | None = None,
               max_retries: int = 0, source: str = "API") -> dict[str, Any]:
        task = Task(id=task_id or f"task-{uuid.uuid4().hex[:12]}", class_name=class_name, source=source,
                    name=name, description=description, priority=priority, max_retries=max_retries)
        document = task.to_document()
        document["attachments"] = _checked_attachments(attachments or {})
        try:
            with _storable(f"task {task.id!r}"):
                self.store.insert(document)
        except DuplicateTaskError as error:
            raise TaskActionError(409, f"task {task.id!r} already exists") from error
        self.store.append_history(task.id, {"type": "created", "className": class_name, "source": source})
        self.on_created()
        return document

    def cancel(self, task_id: str) -> dict[str, Any]:
        document = self.get(task_id)
        if document.get("lifecycleStatus") in TERMINAL_STATUSES:
            raise TaskActionError(409, f"task {task_id!r} is already {document.get('lifecycleStatus')}")
        updated = self.store.update(task_id, {"lifecycleStatus": S.Cancelled.value},
                                    expect={"lifecycleStatus": document.get("lifecycleStatus"),
                                            "attempt": document.get("attempt", 0)})
        if updated is None:
            raise TaskActionError(409, f"task {task_id!r} changed meanwhile; try again")
        self.store.append_history(task_id, {"type": "status", "status": S.Cancelled.value, "by": "api"})
        if document.get("executor"):
            self.announce(KafkaTopic.TASK_CANCEL, task_id, attempt=document.get("attempt"))
        return updated

    def pause(self, task_id: str) -> dict[str, Any]:
        document = self.get(task_id)
        status = document.get("lifecycleStatus")
        if status == S.Paused.value:
            return document
        if status in TERMINAL_STATUSES:
            raise TaskActionError(409, f"task {task_id!r} is {status}; only live tasks can be paused")
        running = status == S.Running.value and document.get("executor")
        fields: dict[str, Any] = {"lifecycleStatus": S.Paused.value}
        if not running:
            fields["executor"] = None  # not started anywhere: resume dispatches it
        updated = self._transition(task_id, document, fields)
        if running:
            self.announce(KafkaTopic.TASK_PAUSE, task_id)
        return updated

    def resume(self, task_id: str) -> dict[str, Any]:
        document = self.get(task_id)
        if document.get("lifecycleStatus") != S.Paused.value:
            raise TaskActionError(409, f"task {task_id!r} is {document.get('lifecycleStatus')}, not Paused")
        if document.get("executor"):
            updated = self._transition(task_id, document, {"lifecycleStatus": S.Running.value})
            self.announce(KafkaTopic.TASK_RESUME, task_id)
            return updated
        updated = self._transition(task_id, document, {"lifecycleStatus": S.Created.value})
        self.on_created()
        return updated

    def restart(self, task_id: str) -> dict[str, Any]:
        """Back to Created for the dispatcher; a running copy is told to stop (fencing stops it anyway)."""
        document = self.get(task_id)
        updated = self._transition(task_id, document, {"lifecycleStatus": S.Created.value, "executor": None,
                                                       "error": None, "exitCode": None})
        if document.get("executor") and document.get("lifecycleStatus") in ACTIVE:
            # Names the attempt it stops: a node that already runs the next one keeps it.
            self.announce(KafkaTopic.TASK_CANCEL, task_id, attempt=document.get("attempt"))
        self.on_created()
        return updated

    def retry(self, task_id: str) -> dict[str, Any]:
        document = self.get(task_id)
        if document.get("lifecycleStatus") not in (S.Failed.value, S.Cancelled.value):
            raise TaskActionError(409, f"task {task_id!r} is {document.get('lifecycleStatus')}; "
                                       "only Failed or Cancelled tasks can be retried")
        return self.restart(task_id)

    def set_status(self, task_id: str, status: str) -> dict[str, Any]:
        actions: dict[str, Callable[[str], dict[str, Any]]] = {
            S.Created.value: self.restart, S.Cancelled.value: self.cancel,
            S.Paused.value: self.pause, S.Running.value: self.resume,
        }
        return actions[status](task_id)

    def update_attachments(self, task_id: str, attachments: dict[str, Any]) -> dict[str, Any]:
        self.get(task_id)
        with _storable(f"attachments of task {task_id!r}"):
            updated = self.store.update(task_id, {"attachments": _checked_attachments(attachments)},
                                        increment={"attachmentsVersion": 1})
        if updated is None:
            raise TaskActionError(404, f"task {task_id!r} not found")
        self.store.append_history(task_id, {"type": "attachments_updated",
                                            "version": updated.get("attachmentsVersion", 0)})
        if updated.get("executor") and updated.get("lifecycleStatus") in ACTIVE:
            self.announce(KafkaTopic.TASK_UPDATE_ATTACHMENT, task_id)
        return updated

    def _transition(self, task_id: str, document: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        updated = self.store.update(task_id, fields, expect={"lifecycleStatus": document.get("lifecycleStatus"),
                                                             "attempt": document.get("attempt", 0)})
        if updated is None:
            raise TaskActionError(409, f"task {task_id!r} changed meanwhile; try again")
        entry: dict[str, Any] = {"type": "status", "status": fields["lifecycleStatus"], "by": "api"}
        self.store.append_history(task_id, entry)
        return updated

    # --- used by the dispatcher and monitor --------------------------------------------------------
    def assign(self, document: dict[str, Any], node_id: str, flush: bool = True) -> dict[str, Any] | None:
        """Give a Created task to `node_id` with a new attempt; None if someone else changed it first."""
        updated = self.store.update(
            document["id"], {"executor": node_id, "lifecycleStatus": S.Assigning.value,
                             "assignedDateTime": now_ms()},
            expect={"lifecycleStatus": S.Created.value, "attempt": document.get("attempt", 0)},
            increment={"attempt": 1},
        )
        if updated is None:
            return None
        self.store.append_history(document["id"], {"type": "assigned", "executor": node_id,
                                                   "attempt": updated.get("attempt")})
        self.announce(KafkaTopic.TASK_ASSIGN, document["id"], attempt=updated.get("attempt"), flush=flush,
                      recipient=node_id)
        return updated

    def mark_lost(self, document: dict[str, Any], reason: str, flush: bool = True) -> dict[str, Any] | None:
        """The task's node or process is gone: back to Created (Paused stays Paused) for a new attempt."""
        status = document.get("lifecycleStatus")
        target = S.Paused.value if status == S.Paused.value else S.Created.value
        updated = self.store.update(document["id"], {"lifecycleStatus": target, "executor": None},
                                    expect={"lifecycleStatus": status, "executor": document.get("executor"),
                                            "attempt": document.get("attempt", 0)})
        if updated is None:
            return None
        self.store.append_history(document["id"], {"type": "lost", "executor": document.get("executor"),
                                                   "attempt": document.get("attempt"), "reason": reason})
        if document.get("executor"):
            # A stalled-but-alive copy stops; a copy of a later attempt (same id) does not.
            self.announce(KafkaTopic.TASK_CANCEL, document["id"], attempt=document.get("attempt"), flush=flush)
        if target == S.Created.value:
            self.on_created()
        return updated

    def retry_failed(self, document: dict[str, Any]) -> dict[str, Any] | None:
        """Within its retry budget, a Failed task goes back to Created."""
        updated = self.store.update(document["id"], {"lifecycleStatus": S.Created.value, "executor": None},
                                    expect={"lifecycleStatus": S.Failed.value, "attempt": document.get("attempt", 0),
                                            "retryCount": document.get("retryCount", 0)},
                                    increment={"retryCount": 1})
        if updated is not None:
            self.store.append_history(document["id"], {"type": "retry", "retry": updated.get("retryCount")})
            self.on_created()
        return updated


def _checked_attachments(attachments: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(attachments, default=str, allow_nan=True))
    if size > MAX_ATTACHMENTS_BYTES:
        raise TaskActionError(413, f"attachments are {size} bytes; the limit is {MAX_ATTACHMENTS_BYTES}")
    return attachments


@contextmanager
def _storable(what: str) -> Iterator[None]:
    """Content the task store refuses (NUL bytes, lone surrogates, NaN, `$` keys...) is the client's error."""
    try:
        yield
    except (OperationFailure, InvalidDocument, UnicodeEncodeError, ValueError, OverflowError) as error:
        reason = str(error).split(", full error:")[0][:300]
        raise TaskActionError(422, f"{what} cannot be stored: {reason}") from error
