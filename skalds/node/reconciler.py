"""The node's reconciler: every `reconcile_period` (and once a second while the task store is unreachable,
so at once after it comes back) it reads the tasks that name this node in one query and carries out
`reconcile.plan`. It runs on the events thread, between polls: never at the same time as an event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from skalds.model.ids import shown
from skalds.model.task import ModeEnum
from skalds.node.commands import CommandHandler
from skalds.node.reconcile import Copy, Plan, plan
from skalds.tasks import lifecycle, queries
from skalds.transport.ports import ServiceUnavailableError
from skalds.utils.logging import logger

RETRY_SECONDS = 1.0  # while the task store is unreachable


class Reconciler:
    def __init__(self, handler: CommandHandler, period: float,
                 clock: Callable[[], float] = time.monotonic, starts: bool = True) -> None:
        self.handler = handler
        self.starts = starts  # False on an edge node: its tasks start from its YAML file, never from the store
        self.supervisor = handler.supervisor
        self.skald_id = handler.skald_id
        self.period = period
        self.clock = clock
        self._next = 0.0
        self._failing = False

    def run(self, stop: threading.Event, poll: float = 0.2) -> None:
        """On its own thread, for a node that consumes no events (an edge node without Kafka)."""
        while not stop.wait(poll):
            self.maybe_run()

    def soon(self) -> None:
        """Reconcile at the next chance (a service came back)."""
        self._next = 0.0

    def maybe_run(self) -> None:
        """Reconcile if due; a failed read is tried again after `RETRY_SECONDS`."""
        if self.clock() < self._next:
            return
        try:
            result = self.run_once()
        except Exception as error:
            if not self._failing:
                logger.warning(f"reconcile skipped, the task store is unreachable: {error}; retrying every "
                               f"{RETRY_SECONDS:.0f}s")
            self._failing = True
            self._next = self.clock() + min(RETRY_SECONDS, self.period)
            return
        if self._failing:
            logger.info(f"task store reachable again: reconciled ({result.summary()})")
        self._failing = False
        self._next = self.clock() + self.period

    def copies(self) -> dict[str, Copy]:
        copies = {}
        for task_id in self.supervisor.running_ids():
            handle = self.supervisor.handle(task_id)
            if handle is None:
                continue
            attempt, version = self.handler.delivered.get(task_id, (None, None))
            copies[task_id] = Copy(attempt=handle.attempt, passive=handle.task.mode == ModeEnum.Passive.value,
                                   paused=handle.paused, stopping=handle.stop_reason is not None or handle.exited,
                                   delivered=version if attempt == handle.attempt else None)
        return copies

    def run_once(self) -> Plan:
        store = self.handler.store
        if store is None:
            return Plan()
        copies = self.copies()
        held = queries.held_by(store, self.skald_id)
        held_ids = {document["id"] for document in held}
        others = [task_id for task_id, copy in copies.items()
                  if task_id not in held_ids and copy.passive and not copy.stopping]
        owned = queries.owned_attempts(store, self.skald_id, others) if others else {}
        result = plan(copies, held, owned, self.handler.started)
        if not self.starts:
            result.start, result.orphaned = [], []
        self._forget(held_ids | set(copies))
        if result:
            logger.info(f"reconcile: {result.summary()}")
            self.apply(result)
        return result

    def _forget(self, keep: set[str]) -> None:
        """What the handler remembers of tasks that no longer name this node and do not run here."""
        for memory in (self.handler.started, self.handler.delivered):
            for task_id in [task_id for task_id in memory if task_id not in keep]:
                memory.pop(task_id, None)

    def apply(self, result: Plan) -> None:
        """Each kind of action in turn; one that fails (other than for an outage) does not stop the others."""
        for action in (self._stop_lost, self._cancel, self._pause_or_resume, self._update, self._start,
                       self._release_orphans):
            try:
                action(result)
            except ServiceUnavailableError:
                raise  # the whole reconcile is tried again soon
            except Exception as error:
                logger.exception(f"reconcile: {action.__name__.strip('_')} failed: {error}")

    def _stop_lost(self, result: Plan) -> None:
        for task_id in result.lost:
            logger.warning(f"task {shown(task_id)} was reassigned to another node (or is gone, or "
                           "superseded); stopping the local copy")
            self.supervisor.cancel_task(task_id, "lost")

    def _cancel(self, result: Plan) -> None:
        for task_id in result.cancel:
            logger.info(f"task {shown(task_id)}: cancel found in the task store; stopping it")
            self.supervisor.cancel_task(task_id, "cancel")

    def _pause_or_resume(self, result: Plan) -> None:
        supervisor = self.supervisor
        for task_id in result.pause:
            if supervisor.pause_task(task_id):
                logger.info(f"task {shown(task_id)}: pause found in the task store")
        for task_id in result.resume:
            if supervisor.resume_task(task_id):
                logger.info(f"task {shown(task_id)}: resume found in the task store")

    def _update(self, result: Plan) -> None:
        if result.update:
            logger.info(f"{len(result.update)} task(s) have newer attachments in the task store")
            self.handler.deliver_latest(result.update)

    def _start(self, result: Plan) -> None:
        """Assigned attempts no event started: read whole (attachments included) and assigned as by an event."""
        task_ids = [document["id"] for document in result.start]
        documents = self.handler.documents(task_ids) if task_ids else {}
        for task_id in task_ids:
            document = documents.get(task_id)
            if document is not None:
                logger.info(f"task {shown(task_id)}: attempt {document.get('attempt')} is assigned here and no "
                            "event started it; starting it")
                self.handler.assign_document(document)

    def _release_orphans(self, result: Plan) -> None:
        """Paused tasks whose process died with an earlier run of this node: no copy is left to resume, so
        each leaves this node as a lost task does (Created when its user resumed it, Paused otherwise, so a
        later resume dispatches it). A stopped process cannot run, so no copy is left to fence first."""
        store = self.handler.store
        for document in result.orphaned:
            if store is not None and lifecycle.mark_lost(store, document, f"{self.skald_id} restarted").applied:
                logger.info(f"task {shown(document['id'])}: paused here before this node restarted; its process "
                            f"is gone, so it no longer names {self.skald_id}")
