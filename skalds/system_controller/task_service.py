"""The controller's task actions: a lifecycle transition, then the event that tells the node.

Shared by the REST API, the dispatcher and the monitor. The transition (a compare-and-set in the
task store, with its history entry) is `skalds.tasks.lifecycle`'s; this module turns refusals into
HTTP answers and announces applied changes to nodes.

Pause is a suspension of the worker process (SIGSTOP on its node): the task keeps its memory and
its node, uses no CPU, and resume (SIGCONT) continues where it stopped. A task paused before it
ran, or whose node was lost, resumes by being dispatched again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from skalds.model.event import TaskEvent
from skalds.model.task import Task, TaskLifecycleStatus
from skalds.system_controller.listeners import NO_DISPATCH, DispatchListener
from skalds.tasks import batch_assign, lifecycle, retention
from skalds.tasks.lifecycle import Refusal, Transition
from skalds.telemetry import flow
from skalds.transport.ports import EventPublisher, ServiceUnavailableError, TaskStore, UnstorableError
from skalds.transport.wire_names import KafkaTopic
from skalds.utils.logging import logger

S = TaskLifecycleStatus
MAX_ATTACHMENTS_BYTES = 1024 * 1024
MAX_EVENT_TASK_IDS = 500  # ids per event: below a node's max_event_task_ids (1000 by default), which rejects more
ANNOUNCE_WAIT_SECONDS = 2.0  # how long a request waits for the broker's ack of its wake-up event
HTTP_STATUS = {Refusal.NOT_FOUND: 404, Refusal.DUPLICATE: 409, Refusal.WRONG_STATUS: 409, Refusal.CHANGED: 409,
               Refusal.NOT_OWNER: 409}


class TaskActionError(Exception):
    """An action that does not fit the task's current state (HTTP 409) or a missing task (404)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def _applied(transition: Transition) -> dict[str, Any]:
    """The new document, or the refusal as an HTTP error."""
    if transition.document is None:
        assert transition.refusal is not None
        raise TaskActionError(HTTP_STATUS[transition.refusal], transition.reason)
    return transition.document


class TaskService:
    def __init__(self, store: TaskStore, publisher: EventPublisher | None, topic_prefix: str = "",
                 listener: DispatchListener = NO_DISPATCH,
                 on_created: Callable[[dict[str, Any]], None] = lambda _document: None) -> None:
        self.store = store
        self.publisher = publisher
        self.topic_prefix = topic_prefix
        self.listener = listener  # told when a task becomes Created, so it is assigned at once
        # Why a request for a task could not reach its (edge) node, or None: set by the controller (edge_reach).
        self.unreachable: Callable[[dict[str, Any]], str | None] = lambda _document: None
        # Told of each task this service created, before the listener: the controller's view, so that a list read
        # right after the create counts it (the feed's message comes later).
        self.on_created = on_created

    # --- events ----------------------------------------------------------------------------------
    def announce(self, topic: str, task_id: str, attempt: int | None = None, flush: bool = True,
                 recipient: str | None = None) -> None:
        """Publish a TaskEvent (serialised by alias, as 0.3.8's controller did); with `flush`, wait briefly for
        the broker's ack. Batch callers pass flush=False and call `flush_events` once at the end.

        An event is only a wake-up: the change it announces is stored already and nodes reconcile with the
        store, so a broker that is slow or down delays the change but never fails the request."""
        self.announce_many(topic, [task_id], attempt, flush=flush, recipient=recipient)

    def announce_many(self, topic: str, task_ids: list[str], attempt: int | None = None, flush: bool = True,
                      recipient: str | None = None) -> None:
        """One TaskEvent naming several tasks of the same attempt (keyed by the first): 0.3.8's nodes read every
        id of `taskIds` and start those whose executor they are, ours check `attempt` against each document."""
        if self.publisher is None or not task_ids:
            return
        if len(task_ids) > MAX_EVENT_TASK_IDS:
            raise ValueError(f"an event names at most {MAX_EVENT_TASK_IDS} tasks, not {len(task_ids)}")
        event = TaskEvent(id=task_ids[0], task_ids=task_ids, attempt=attempt, initiator="SystemController",
                          recipient=recipient)
        try:
            with flow.publishing(self.topic_prefix + topic, task_ids) as headers:
                self.publisher.publish(self.topic_prefix + topic, task_ids[0], event.model_dump_json(by_alias=True),
                                       headers)
        except ServiceUnavailableError as error:
            logger.warning(f"{topic} of {len(task_ids)} task(s) from {task_ids[0]} not announced ({error}); their "
                           "node picks them up when it reconciles")
            return
        if flush:
            self.flush_events()

    def flush_events(self) -> None:
        if self.publisher is None:
            return
        try:
            self.publisher.flush(ANNOUNCE_WAIT_SECONDS)
        except ServiceUnavailableError as error:
            logger.warning(f"events not acknowledged by the broker yet ({error}); nodes pick the changes up when "
                           "they reconcile")

    # --- reads -----------------------------------------------------------------------------------
    def get(self, task_id: str) -> dict[str, Any]:
        document = self.store.get(task_id)
        if document is None:
            raise TaskActionError(404, f"task {task_id!r} not found")
        return document

    # --- actions of users --------------------------------------------------------------------------
    def create(self, *, task_id: str | None, class_name: str, attachments: dict[str, Any] | None,
               priority: int = 0, name: str | None = None, description: str | None = None,
               max_retries: int = 0, source: str = "API", memory_limit_mb: int | None = None,
               disconnect: dict[str, Any] | None = None) -> dict[str, Any]:
        task = Task(id=task_id or f"task-{uuid.uuid4().hex[:12]}", class_name=class_name, source=source,
                    name=name, description=description, priority=priority, max_retries=max_retries,
                    memory_limit_mb=memory_limit_mb)
        document = task.to_document()
        document["disconnect"] = disconnect  # validated by the API (DisconnectPolicy)
        document["attachments"] = _checked_attachments(attachments or {})
        document.update(flow.document_fields())  # the create span's traceparent: the task's trace
        with _storable(f"task {task.id!r}"):
            created = _applied(lifecycle.create(self.store, document))
        self.on_created(created)
        self.listener.work_waiting()
        return created

    def _reachable(self, task_id: str) -> None:
        """409 before anything is stored when the request could not reach the node that must carry it out."""
        why = self.unreachable(self.get(task_id))
        if why is not None:
            raise TaskActionError(409, why)

    def cancel(self, task_id: str) -> dict[str, Any]:
        self._reachable(task_id)
        transition = lifecycle.cancel(self.store, task_id)
        updated = _applied(transition)
        previous = transition.previous or {}
        if previous.get("executor"):
            self.announce(KafkaTopic.TASK_CANCEL, task_id, attempt=previous.get("attempt"))
        return updated

    def delete(self, task_id: str) -> dict[str, Any]:
        """Remove a terminal task with its history; returns the task as it was."""
        transition = retention.delete(self.store, task_id)
        if not transition.applied:
            assert transition.refusal is not None
            raise TaskActionError(HTTP_STATUS[transition.refusal], transition.reason)
        return transition.previous or {"id": task_id}

    def pause(self, task_id: str) -> dict[str, Any]:
        self._reachable(task_id)
        transition = lifecycle.pause(self.store, task_id)
        updated = _applied(transition)
        if (transition.previous or {}).get("lifecycleStatus") != S.Paused.value and updated.get("executor"):
            self.announce(KafkaTopic.TASK_PAUSE, task_id)  # it runs on a node: the node suspends it
        return updated

    def resume(self, task_id: str) -> dict[str, Any]:
        self._reachable(task_id)
        updated = _applied(lifecycle.resume(self.store, task_id))
        if updated.get("executor"):
            self.announce(KafkaTopic.TASK_RESUME, task_id)
        else:
            self.listener.work_waiting()
        return updated

    def restart(self, task_id: str) -> dict[str, Any]:
        """A new attempt: on the same node when a node holds the task (its assign replaces the running copy),
        else through the dispatcher."""
        updated = _applied(lifecycle.restart(self.store, task_id))
        if updated.get("lifecycleStatus") == S.Assigning.value:
            self.announce(KafkaTopic.TASK_ASSIGN, task_id, attempt=updated.get("attempt"),
                          recipient=updated.get("executor"))
        else:
            self.listener.work_waiting()
        return updated

    def retry(self, task_id: str) -> dict[str, Any]:
        """A Failed or Cancelled task (no process left) goes back to the dispatcher."""
        updated = _applied(lifecycle.retry(self.store, task_id))
        self.listener.work_waiting()
        return updated

    def set_status(self, task_id: str, status: str) -> dict[str, Any]:
        actions: dict[str, Callable[[str], dict[str, Any]]] = {
            S.Created.value: self.restart, S.Cancelled.value: self.cancel,
            S.Paused.value: self.pause, S.Running.value: self.resume,
        }
        return actions[status](task_id)

    def update_attachments(self, task_id: str, attachments: dict[str, Any]) -> dict[str, Any]:
        self._reachable(task_id)
        with _storable(f"attachments of task {task_id!r}"):
            updated = _applied(lifecycle.update_attachments(self.store, task_id, _checked_attachments(attachments)))
        if lifecycle.process_may_exist(updated):
            self.announce(KafkaTopic.TASK_UPDATE_ATTACHMENT, task_id)
        return updated

    # --- used by the dispatcher and monitor --------------------------------------------------------
    def assign(self, document: dict[str, Any], node_id: str, flush: bool = True) -> dict[str, Any] | None:
        """Give a Created task to `node_id` with a new attempt; None if someone else changed it first."""
        updated = lifecycle.assign(self.store, document, node_id).document
        if updated is not None:
            self.announce(KafkaTopic.TASK_ASSIGN, document["id"], attempt=updated.get("attempt"), flush=flush,
                          recipient=node_id)
        return updated

    def assign_many(self, pairs: list[tuple[dict[str, Any], str]], flush: bool = True) -> list[dict[str, Any]]:
        """Give each Created task (as read) to its node in one compare-and-set round trip; the applied ones.

        One assign event per node and attempt (nearly always one per node: a burst is attempt 1), at most
        `MAX_EVENT_TASK_IDS` ids each."""
        with flow.dispatching(document for document, _node in pairs) as dispatch:
            applied = batch_assign.assign_many(self.store, pairs)
            flow.dispatched(dispatch, applied)
            groups: dict[tuple[str, int], list[str]] = {}
            for document in applied:
                groups.setdefault((document["executor"], document["attempt"]), []).append(document["id"])
            for (node_id, attempt), task_ids in groups.items():
                for start in range(0, len(task_ids), MAX_EVENT_TASK_IDS):
                    self.announce_many(KafkaTopic.TASK_ASSIGN, task_ids[start:start + MAX_EVENT_TASK_IDS], attempt,
                                       flush=False, recipient=node_id)
        if flush and applied:
            self.flush_events()
        return applied

    def mark_lost(self, document: dict[str, Any], reason: str, flush: bool = True) -> dict[str, Any] | None:
        """The task's node or process is gone: back to Created (Paused stays Paused) for a new attempt."""
        updated = lifecycle.mark_lost(self.store, document, reason).document
        if updated is None:
            return None
        if document.get("executor"):
            # A stalled-but-alive copy stops; a copy of a later attempt (same id) does not.
            self.announce(KafkaTopic.TASK_CANCEL, document["id"], attempt=document.get("attempt"), flush=flush)
        if updated.get("lifecycleStatus") == S.Created.value:
            self.listener.work_waiting()
        return updated

    def retry_failed(self, document: dict[str, Any]) -> dict[str, Any] | None:
        """Within its retry budget, a Failed task goes back to Created."""
        updated = lifecycle.retry_failed(self.store, document).document
        if updated is not None:
            self.listener.work_waiting()
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
    except (UnstorableError, UnicodeEncodeError, OverflowError) as error:
        raise TaskActionError(422, f"{what} cannot be stored: {str(error)[:300]}") from error
