"""0.3.8's `taskworker.update` topic: an event there is applied as an update of the task's attachments.

In 0.3.8 every worker consumed this topic itself (its own consumer group, from `latest`), so a script
could hand a running worker new parameters without touching MongoDB. Our workers hold no Kafka
connection. The controller consumes the topic instead and stores the attachments exactly as
`PUT /api/tasks/{id}/attachments` does (validated, size-checked, a new `attachmentsVersion`, history,
the `task.update.attachment` wake-up), so the node's reconciler delivers them like any update: the
store is the desired state, and the event only changes it.

All controllers share one consumer group, so each event is applied once. Events are committed after
they are applied; while the task store is unreachable the same event is retried, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from skalds.model.ids import is_valid_id, shown
from skalds.system_controller.api.models import TaskAttachmentsRequest
from skalds.system_controller.task_service import TaskActionError, TaskService
from skalds.transport.ports import Event, EventConsumer, ServiceUnavailableError
from skalds.utils.logging import logger

WORKER_UPDATES_GROUP = "skalds-controller"  # with KAFKA_TOPIC_PREFIX in front: one group per system
MAX_EVENT_BYTES = 2 * 1024 * 1024  # the attachments limit (1 MiB of JSON) with room for the envelope
POLL_SECONDS = 0.5


class WorkerUpdates:
    """Applies `taskworker.update` events ({"attachments": {...}}, key = task id) through the task service."""

    def __init__(self, service: TaskService, consumer: EventConsumer, stop: threading.Event,
                 retry_delay: Callable[[int], float] = lambda tries: min(5.0, 0.25 * 2 ** tries)) -> None:
        self.service = service
        self.consumer = consumer
        self.stop = stop
        self.retry_delay = retry_delay
        self.applied = 0
        self.rejected = 0

    def run(self) -> None:
        """Poll, apply, commit, until `stop` is set; an event waiting for the store is not committed."""
        try:
            self._consume()
        finally:
            self.consumer.close()

    def _consume(self) -> None:
        while not self.stop.is_set():
            try:
                event = self.consumer.poll(POLL_SECONDS)
            except Exception as error:
                logger.warning(f"taskworker.update consumer failed: {error}; retrying")
                self.stop.wait(1)
                continue
            if event is None:
                continue
            if not self._apply_until_done(event):
                return
            self.consumer.commit(event)

    def _apply_until_done(self, event: Event) -> bool:
        """False when the controller stops while the event still waits for the store (it comes again)."""
        tries = 0
        while True:
            try:
                self.apply(event)
                return True
            except ServiceUnavailableError as error:
                logger.warning(f"taskworker.update of task {shown(event.key)} waits for the task store: {error}")
            except Exception as error:  # a bug must not stop the consumer; the event is dropped, loudly
                logger.exception(f"taskworker.update of task {shown(event.key)} failed: {error}; dropped")
                self.rejected += 1
                return True
            if self.stop.wait(self.retry_delay(tries)):
                return False
            tries += 1

    def apply(self, event: Event) -> None:
        """Store the event's attachments as the task's; a malformed event or an unknown task is logged and
        skipped (a client's mistake, as the same request to the API would be a 4xx)."""
        attachments, reason = parse(event)
        if attachments is not None:
            try:
                updated = self.service.update_attachments(event.key or "", attachments)
            except TaskActionError as error:
                reason = error.message
            else:
                self.applied += 1
                logger.info(f"taskworker.update: task {shown(event.key)} has new attachments "
                            f"(version {updated.get('attachmentsVersion')})")
                return
        self.rejected += 1
        logger.warning(f"taskworker.update skipped: {reason}")


def parse(event: Event) -> tuple[dict[str, Any] | None, str]:
    """The event's attachments (checked as the API checks them), or None and why not."""
    if not is_valid_id(event.key):
        return None, f"its key {shown(event.key)} is not a task id"
    size = len(event.value or b"")
    if size > MAX_EVENT_BYTES:
        return None, f"the event of task {shown(event.key)} is {size} bytes; the limit is {MAX_EVENT_BYTES}"
    try:
        return TaskAttachmentsRequest.model_validate_json(event.value or b"").attachments, ""
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, issue['loc']))}: {issue['msg']}" for issue in error.errors())
        return None, f"the event of task {shown(event.key)} has no usable attachments ({shown(problems, 300)})"
