"""Giving a task back on request (`task.release`, sent by a drain): stop its worker as a release, never Cancelled.

The worker is stopped with the stop reason DRAIN, a releasing stop: once its process is gone the node records
the task given back for the attempt it held (Created, no executor: `lifecycle.release`), and only then can the
dispatcher start the next attempt elsewhere, so the task never runs twice. A drain's copy is
stopped through `Supervisor.release_tasks`, which lets the worker checkpoint first. A forced
release (past the drain's deadline) kills the worker at once.

Waiting for checkpoints (up to `checkpoint_timeout_seconds`) happens on a releaser thread of its own, never on
the node's events thread, so assignments, cancels and updates go on meanwhile. Releases that arrive while one
waits are taken together: their workers checkpoint side by side, under one deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from skalds.model.event import TaskEvent
from skalds.model.ids import shown
from skalds.model.task import STARTABLE_STATUSES
from skalds.node.stopping import StopDeadlines
from skalds.node.supervisor import Supervisor
from skalds.tasks import lifecycle
from skalds.transport.ports import Event, TaskStore
from skalds.transport.wire_names import KafkaTopic
from skalds.utils.logging import logger

DRAIN = "drain"  # the stop reason of a released copy (outcomes.RELEASING_STOPS, reactor's give-back)
FORCED_KILL_SECONDS = 1.0  # a forced release: SIGTERM now, SIGKILL after this


def release_now(supervisor: Supervisor, task_id: str) -> bool:
    """Past the drain's deadline: stop the running copy of `task_id` as a release at once, without asking it
    to checkpoint; False if none runs. A copy already stopping for another reason (a cancel) keeps it."""
    if not supervisor.cancel_task(task_id, DRAIN):
        return False
    handle = supervisor.handle(task_id)
    if handle is not None and handle.stop_reason == DRAIN:
        now = time.monotonic()
        handle.deadlines = StopDeadlines(term_at=now, kill_at=now + FORCED_KILL_SECONDS)
    return True


class Releaser:
    """The thread that stops copies for a drain after they checkpointed. Each task is queued once with the
    attempt it was asked for; a copy of another attempt by the time its turn comes is left alone."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self._cond = threading.Condition()
        self._queued: dict[str, int] = {}  # task id -> attempt to release
        self._thread: threading.Thread | None = None

    def offer(self, task_id: str, attempt: int) -> None:
        with self._cond:
            self._queued[task_id] = attempt
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="skalds-releases", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queued))
                queued, self._queued = self._queued, {}
            try:
                self._release(queued)
            except Exception as error:  # the thread must outlive one bad release
                logger.exception(f"releasing {len(queued)} task(s) for a drain failed: {error}")

    def _release(self, queued: dict[str, int]) -> None:
        current = [task_id for task_id, attempt in queued.items()
                   if (handle := self.supervisor.handle(task_id)) is not None and handle.attempt == attempt]
        for task_id in self.supervisor.release_tasks(current, DRAIN):
            logger.info(f"task {shown(task_id)}: releasing it for a drain")


class Releases:
    """The node's handler of `task.release` events (routed by `CommandHandler`)."""

    def __init__(self, skald_id: str, supervisor: Supervisor, store: TaskStore | None,
                 parse: Callable[[Event], TaskEvent | None], started: dict[str, int]) -> None:
        self.skald_id = skald_id
        self.supervisor = supervisor
        self.store = store
        self.parse = parse
        self.started = started  # the CommandHandler's: an attempt given back here is never started here
        self.releaser = Releaser(supervisor)

    def handle(self, event: Event) -> None:
        parsed = self.parse(event)
        if parsed is None or (parsed.recipient and parsed.recipient != self.skald_id):
            return
        forced = parsed.title == KafkaTopic.RELEASE_NOW
        for task_id in parsed.task_ids:
            handle = self.supervisor.handle(task_id)
            if handle is not None:
                if parsed.attempt is not None and parsed.attempt != handle.attempt:
                    logger.info(f"release of task {shown(task_id)} attempt {parsed.attempt} ignored: attempt "
                                f"{handle.attempt} runs here")
                elif not forced:
                    self.releaser.offer(task_id, handle.attempt)
                elif release_now(self.supervisor, task_id):
                    logger.info(f"task {shown(task_id)}: releasing it for a drain at once")
            else:
                self._give_back_unstarted(task_id, parsed.attempt)

    def _give_back_unstarted(self, task_id: str, attempt: int | None) -> None:
        """A task assigned here that no worker runs (not started yet) is given back at once."""
        if self.store is None:
            return
        document: dict[str, Any] | None = self.store.get(task_id)
        if document is None or document.get("executor") != self.skald_id \
                or document.get("lifecycleStatus") not in STARTABLE_STATUSES:
            return
        held = int(document.get("attempt") or 0)
        if attempt is not None and attempt != held:
            return
        self.started[task_id] = max(held, self.started.get(task_id, 0))
        if lifecycle.release(self.store, task_id, executor=self.skald_id, attempt=held, reason=DRAIN).document:
            logger.info(f"task {shown(task_id)}: given back for a drain before it started")
