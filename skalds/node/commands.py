"""Turns consumed events (assign, cancel, update, testing) into supervisor actions.

Every event is handled and then committed, whatever its content: bad input is logged
with its reason and never blocks the partition or crashes the node.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from skalds.model.attachment_registry import validate_attachments
from skalds.model.event import TaskEvent
from skalds.model.ids import shown
from skalds.model.task import STARTABLE_STATUSES, ModeEnum, Task, TaskLifecycleStatus
from skalds.model.task import DesiredStatus as D
from skalds.node.release import Releases
from skalds.node.resume import last_checkpoint
from skalds.node.supervisor import Supervisor
from skalds.tasks import lifecycle, queries
from skalds.tasks.attachments_view import start_attachments
from skalds.tasks.status_change import StatusChange
from skalds.telemetry import flow
from skalds.transport.ports import Event, ServiceUnavailableError, TaskStore
from skalds.transport.wire_names import KafkaTopic
from skalds.utils.logging import logger


class CommandHandler:
    def __init__(self, skald_id: str, supervisor: Supervisor, store: TaskStore | None,
                 topic_prefix: str = "", accept_assign: bool = True) -> None:
        self.skald_id = skald_id
        self.supervisor = supervisor
        self.store = store
        self.accept_assign = accept_assign
        self._prefetched: dict[str, dict[str, Any]] = {}
        self.started: dict[str, int] = {}  # the highest attempt of each task started here: it starts once
        self.delivered: dict[str, tuple[int, int]] = {}  # task id -> (attempt, attachments version sent)
        self.pending: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()  # run by the events thread
        self._routes = {
            topic_prefix + KafkaTopic.TASK_ASSIGN: self._assign,
            topic_prefix + KafkaTopic.TASK_CANCEL: self._cancel,
            topic_prefix + KafkaTopic.TASK_UPDATE_ATTACHMENT: self._update,
            topic_prefix + KafkaTopic.TESTING: self._testing,
            topic_prefix + KafkaTopic.TASK_PAUSE: self._pause,
            topic_prefix + KafkaTopic.TASK_RESUME: self._resume,
            topic_prefix + KafkaTopic.TASK_RELEASE: Releases(skald_id, supervisor, store, self._parse,
                                                             self.started).handle,
        }

    def handle(self, event: Event) -> None:
        """Handle one event. Raises when it could not be handled, so the caller can retry it (without end
        while a service is unreachable, `ServiceUnavailableError`; a few times for any other reason)."""
        route = self._routes.get(event.topic)
        if route is None:
            logger.warning(f"event on unexpected topic {shown(event.topic)} ignored")
            return
        route(event)

    def run_pending(self) -> None:
        """Run what waited for a copy to exit (the next attempt's start), on the events thread."""
        while True:
            try:
                action = self.pending.get_nowait()
            except queue.Empty:
                return
            try:
                action()
            except Exception as error:
                if isinstance(error, ServiceUnavailableError):
                    self.pending.put(action)  # tried again after the next poll
                    return
                logger.exception(f"a follow-up action failed: {error}")

    # --- parsing -------------------------------------------------------------------------------
    def _parse(self, event: Event, quiet: bool = False) -> TaskEvent | None:
        if quiet:
            try:
                return TaskEvent.model_validate_json(event.value or b"")
            except ValidationError:
                return None
        if event.key is None:
            logger.error(f"event on {event.topic} has no key (the task id); dropped")
            return None
        key = shown(event.key)
        if not event.value:
            logger.error(f"event on {event.topic} (key {key}) has an empty value; dropped")
            return None
        try:
            payload = json.loads(event.value)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            logger.error(f"event on {event.topic} (key {key}) is not JSON ({error}); dropped")
            return None
        try:
            parsed = TaskEvent.model_validate(payload)
        except ValidationError as error:
            logger.error(f"event on {event.topic} (key {key}) is not a TaskEvent: "
                         f"{shown(error.errors()[0]['msg'], 200)} at {shown(error.errors()[0]['loc'], 200)}; dropped")
            return None
        return parsed if self._bounded(event, parsed) else None

    def _bounded(self, event: Event, parsed: TaskEvent, quiet: bool = False) -> bool:
        """An event names at most `max_event_task_ids` tasks: a longer one is rejected, never worked through."""
        limit = self.supervisor.config.max_event_task_ids
        if len(parsed.task_ids) <= limit:
            return True
        if not quiet:
            logger.error(f"event on {event.topic} (key {shown(event.key)}) names {len(parsed.task_ids)} tasks, more "
                         f"than max_event_task_ids ({limit}); rejected")
        return False

    def prefetch(self, events: list[Event]) -> None:
        """Read the documents of many assign events in one query; `_document` uses each once.

        Both stores look a list of ids up in their key index, so two ids already make one query
        cheaper than two lookups."""
        if self.store is None:
            return
        ids: list[str] = []
        for event in events:
            if self._routes.get(event.topic) != self._assign:
                continue
            parsed = self._parse(event, quiet=True)
            if parsed is not None and not (parsed.recipient and parsed.recipient != self.skald_id) and \
                    self._bounded(event, parsed, quiet=True):
                ids.extend(parsed.task_ids)
        if len(ids) > 1:
            try:
                self._prefetched = queries.documents_by_id(self.store, ids)
                logger.debug(f"prefetched {len(self._prefetched)} of {len(ids)} task documents in one query")
            except Exception as error:  # handling reads them one by one and retries as usual
                logger.debug(f"prefetch of {len(ids)} task documents failed: {error}")

    def _document(self, task_id: str) -> dict[str, Any] | None:
        return self.documents([task_id]).get(task_id)

    def documents(self, task_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The documents of `task_ids`: prefetched ones once, the others read in batches (never one by one)."""
        if self.store is None:
            return {}
        found = {task_id: self._prefetched.pop(task_id) for task_id in task_ids if task_id in self._prefetched}
        missing = [task_id for task_id in task_ids if task_id not in found]
        if missing:
            found.update(queries.documents_by_id(self.store, missing))
        for task_id in task_ids:
            if task_id not in found:
                logger.warning(f"task {shown(task_id)} does not exist in the task store; ignored")
        return found

    # --- handlers --------------------------------------------------------------------------------
    def _assign(self, event: Event) -> None:
        parsed = self._parse(event)
        if parsed is None or not self.accept_assign:
            return
        if parsed.recipient and parsed.recipient != self.skald_id:
            # The controller names the node it chose: every other node skips the task-store read
            # (0.3.8 producers leave `recipient` empty, and then the document's executor decides).
            logger.debug(f"assign of {len(parsed.task_ids)} task(s) is for {shown(parsed.recipient)}; skipped")
            return
        started = time.perf_counter()
        documents = self.documents(parsed.task_ids)
        logger.debug(f"{len(parsed.task_ids)} document(s) read in {(time.perf_counter() - started) * 1000:.1f} ms")
        with flow.received(event.headers):
            for task_id in parsed.task_ids:
                if task_id in documents:
                    self.assign_document(documents[task_id], parsed.attempt)

    def assign_document(self, document: dict[str, Any], event_attempt: int | None = None) -> None:
        """Start the attempt `document` assigns here, unless it runs or ran here, or its user wants it
        paused or cancelled (an assign event, or the reconciler for an assign whose event was lost)."""
        task_id = document["id"]
        executor, attempt = document.get("executor"), int(document.get("attempt") or 0)
        if executor != self.skald_id:
            logger.debug(f"task {shown(task_id)} is for executor {executor!r}, not {self.skald_id}; ignored")
            return
        if event_attempt is not None and event_attempt < attempt:
            logger.info(f"assign of task {shown(task_id)} for old attempt {event_attempt} (now {attempt}); ignored")
            return
        handle = self.supervisor.handle(task_id)
        if handle is not None and handle.stop_reason is None and handle.attempt >= attempt:
            logger.info(f"task {shown(task_id)} already runs here; repeated assign ignored")
            return
        status = document.get("lifecycleStatus")
        if status not in STARTABLE_STATUSES:
            logger.info(f"task {shown(task_id)} is {status}; assign ignored (only Created/Assigning tasks start)")
            return
        if self.started.get(task_id, 0) >= attempt:
            logger.info(f"task {shown(task_id)}: attempt {attempt} was started here already; assign ignored")
            return
        if lifecycle.desired(document) != D.Running.value:
            self._not_wanted(document, attempt, handle is not None and handle.stop_reason is None)
            return
        if handle is not None and handle.stop_reason is None:
            # A newer attempt (a restart, or a redispatch after the task was declared lost) is a
            # fresh run: the old copy stops first, whichever of this assign and its cancel comes first.
            logger.info(f"task {shown(task_id)}: attempt {attempt} replaces the running attempt {handle.attempt}")
            self.supervisor.cancel_task(task_id, "superseded")
        if handle is not None and self.supervisor.after_exit(
                task_id, lambda: self.pending.put(lambda: self._start_latest(task_id))):
            logger.info(f"task {shown(task_id)}: attempt {attempt} starts once the stopping copy has exited")
            return
        self.start_document(document, attempt)

    def _start_latest(self, task_id: str) -> None:
        """Start the task as it is now in the store (it may have moved on while the old copy stopped)."""
        document = self._document(task_id)
        if document is not None and self.supervisor.handle(task_id) is None:
            self.assign_document(document)

    def _not_wanted(self, document: dict[str, Any], attempt: int, replaces_copy: bool) -> None:
        """An attempt whose user wants it cancelled or paused starts nothing: it is recorded Cancelled, or
        Paused without a node (a resume dispatches it again); an older copy running here stops."""
        task_id, wanted = document["id"], lifecycle.desired(document)
        self.started[task_id] = attempt
        if replaces_copy:
            self.supervisor.cancel_task(task_id, "superseded")
        if self.store is None:
            return
        if wanted == D.Cancelled.value:
            lifecycle.record_status(self.store, StatusChange.of(task_id, TaskLifecycleStatus.Cancelled,
                                                                executor=self.skald_id, attempt=attempt))
        else:
            lifecycle.park(self.store, task_id, executor=self.skald_id, attempt=attempt)
        logger.info(f"task {shown(task_id)}: attempt {attempt} not started, its user wants it {wanted}")

    def start_document(self, document: dict[str, Any], attempt: int) -> bool:
        """Validate and start one task document on this node; failures are recorded on the task."""
        task_id, class_name = document["id"], document.get("className", "")
        self.started[task_id] = max(attempt, self.started.get(task_id, 0))
        self.delivered[task_id] = (attempt, int(document.get("attachmentsVersion") or 0))
        if self.supervisor.registry.get(class_name) is None:
            logger.warning(f"task {shown(task_id)}: class {class_name!r} is not registered on {self.skald_id}; ignored")
            return False
        if not self.supervisor.has_capacity():
            why = "node draining" if self.supervisor.draining else "node at capacity"
            logger.warning(f"task {shown(task_id)}: {why} ({self.supervisor.config.max_concurrent_tasks}); "
                           "releasing it for another node")
            if self.store is not None:
                lifecycle.release(self.store, task_id, executor=self.skald_id, attempt=attempt, reason=why)
            return False
        values, version = start_attachments(document)  # never a version its worker rejected
        try:
            attachments = validate_attachments(class_name, values)
        except ValidationError as error:
            logger.error(f"task {shown(task_id)}: attachments do not validate for {class_name}: {error}")
            self._record_failed(task_id, attempt, f"invalid attachments: {error}")
            return False
        task = Task.from_document({**document, "attachmentsVersion": version}, attachments)
        raw = attachments.model_dump(mode="json", by_alias=True)
        checkpoint = last_checkpoint(self.store, document)  # before the try: a store outage is retried
        try:
            with flow.starting(document):  # current while the worker is handed its start
                return self.supervisor.start_task(task, attempt, raw, checkpoint)
        except Exception as error:  # the worker's constructor raised or it could not be sent to its process
            logger.exception(f"task {shown(task_id)}: worker process could not start: {error}")
            self._record_failed(task_id, attempt, f"worker could not start: {error!r}")
            return False

    def _record_failed(self, task_id: str, attempt: int, error: str) -> None:
        if self.store is not None:
            lifecycle.record_status(self.store, StatusChange.of(task_id, TaskLifecycleStatus.Failed,
                                                                executor=self.skald_id, attempt=attempt, error=error))

    def _cancel(self, event: Event) -> None:
        parsed = self._parse(event)
        if parsed is None:
            return
        for task_id in parsed.task_ids:
            handle = self.supervisor.handle(task_id)
            if handle is not None and parsed.attempt is not None and parsed.attempt < handle.attempt:
                logger.info(f"cancel of task {shown(task_id)} attempt {parsed.attempt} ignored: "
                            f"attempt {handle.attempt} runs here")
                continue
            if not self.supervisor.cancel_task(task_id, "cancel"):
                logger.info(f"cancel of task {shown(task_id)}: it is not running on {self.skald_id}")

    def _pause(self, event: Event) -> None:
        parsed = self._parse(event)
        for task_id in parsed.task_ids if parsed else []:
            if not self.supervisor.pause_task(task_id):
                logger.info(f"pause of task {shown(task_id)}: it is not running on {self.skald_id}")

    def _resume(self, event: Event) -> None:
        """Resume only what the store still gives this copy and wants running: a resume that waited in the
        event bus (the node was frozen) may be older than the task's move to another node."""
        parsed = self._parse(event)
        task_ids = parsed.task_ids if parsed else []
        here = [task_id for task_id in task_ids if self.supervisor.handle(task_id) is not None]
        documents = self.documents(here) if here and self.store is not None else {}
        for task_id in task_ids:
            handle = self.supervisor.handle(task_id)
            document = documents.get(task_id)
            if handle is not None and self.store is not None and not _wants_this_copy_running(
                    document, self.skald_id, handle.attempt):
                logger.info(f"resume of task {shown(task_id)} ignored: the task store no longer wants attempt "
                            f"{handle.attempt} running on {self.skald_id}")
            elif not self.supervisor.resume_task(task_id):
                logger.info(f"resume of task {shown(task_id)}: it is not paused on {self.skald_id}")

    def _update(self, event: Event) -> None:
        parsed = self._parse(event)
        here = [task_id for task_id in (parsed.task_ids if parsed else []) if self.supervisor.handle(task_id)]
        if parsed is not None and len(here) < len(parsed.task_ids):
            logger.debug(f"update of {len(parsed.task_ids) - len(here)} task(s) not running here; ignored")
        self.deliver_latest(here)

    def deliver_latest(self, task_ids: list[str]) -> None:
        """Send the stored attachments to the copies of `task_ids` running here (documents read in batches)."""
        documents = self.documents(task_ids) if task_ids else {}
        for task_id, document in documents.items():
            handle = self.supervisor.handle(task_id)
            if handle is None:
                continue
            if document.get("executor") != self.skald_id and handle.task.mode == ModeEnum.Passive.value:
                logger.warning(f"update of task {shown(task_id)}: executor is {shown(document.get('executor'))}; "
                               "ignored")
                continue
            version = int(document.get("attachmentsVersion") or 0)
            self.delivered[task_id] = (handle.attempt, version)  # sent or rejected: once per version
            try:
                attachments = validate_attachments(handle.task.class_name, document.get("attachments"))
            except ValidationError as error:
                logger.error(f"update of task {shown(task_id)} rejected: attachments v{version} invalid: {error}")
                if self.store is not None:
                    lifecycle.record_attachments_result(self.store, task_id, version, False, str(error),
                                                        executor=self.skald_id, attempt=handle.attempt,
                                                        held=handle.held)
                continue
            self.supervisor.deliver_update(task_id, attachments.model_dump(mode="json", by_alias=True), version)
            logger.info(f"update of task {shown(task_id)}: attachments v{version} sent to the worker")

    def _testing(self, event: Event) -> None:
        value = (event.value or b"").decode("utf-8", errors="replace")
        logger.info(f"Kafka producer test message: {value[:500]}")


def _wants_this_copy_running(document: dict[str, Any] | None, skald_id: str, attempt: int) -> bool:
    return (document is not None and document.get("executor") == skald_id
            and int(document.get("attempt") or 0) == attempt and lifecycle.desired(document) == D.Running.value)
