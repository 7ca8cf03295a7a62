"""The node's checkpoint writes: off the reactor thread, latest-only, fenced by attempt.

A worker may save faster than the store can write. Each task keeps one pending save: a newer one
replaces it while a write is in flight, so the store sees at most one write per task at a time and
never falls behind by more than one state. Each save is written for the attempt the node held when the
worker sent it; the store refuses it once another attempt owns the task (`TaskStore.save_checkpoint`).
While the store is unreachable the latest save per task waits and is retried. The summary on the task
document follows each stored save at the pace of `checkpoint_summaries`, through `on_summary` (the node's
status writer, so it never races the node's own status writes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from skalds.node.checkpoint_summaries import Summary, SummaryPacer
from skalds.transport.checkpoint_docs import summary
from skalds.transport.ports import ServiceUnavailableError, TaskStore
from skalds.utils.logging import logger

RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class PendingSave:
    task_id: str
    attempt: int
    state: str
    saved_at: int
    number: int  # the how-manieth save of the task on this node: `written` compares these


class CheckpointWriter:
    def __init__(self, store: TaskStore, skald_id: str, on_summary: Callable[[Summary], None],
                 retry_seconds: float = RETRY_SECONDS, pacer: SummaryPacer | None = None) -> None:
        self.store = store
        self.skald_id = skald_id
        self.on_summary = on_summary
        self.retry_seconds = retry_seconds
        self._pacer = pacer or SummaryPacer()
        self._cond = threading.Condition()
        self._pending: dict[str, PendingSave] = {}
        self._offered: dict[str, int] = {}  # task id -> number of its latest save
        self._done: dict[str, int] = {}  # task id -> number of its latest save written or refused
        self._gone: set[str] = set()  # tasks whose copy exited: their counters go once their saves are done
        self._closing = False
        self._thread: threading.Thread | None = None
        self.written = 0  # counters, for the log and the bench
        self.refused = 0
        self.coalesced = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="skalds-checkpoints", daemon=True)
        self._thread.start()

    def offer(self, task_id: str, attempt: int, state: str, saved_at: int) -> None:
        """Queue a save (never waits); an unwritten older save of the task is dropped."""
        with self._cond:
            self._gone.discard(task_id)  # a new copy of the task runs here
            number = self._offered.get(task_id, 0) + 1
            self._offered[task_id] = number
            if task_id in self._pending:
                self.coalesced += 1
            self._pending[task_id] = PendingSave(task_id, attempt, state, saved_at, number)
            self._cond.notify_all()

    def wait_written(self, task_ids: list[str], deadline: float) -> bool:
        """Wait until every save offered so far for `task_ids` is written or refused (False at `deadline`)."""
        with self._cond:
            wanted = {task_id: self._offered.get(task_id, 0) for task_id in task_ids}
            written = self._cond.wait_for(
                lambda: all(self._done.get(task_id, 0) >= number or task_id not in self._offered  # forgotten: done
                            for task_id, number in wanted.items()),
                max(0.0, deadline - time.monotonic()))
            summaries = self._pacer.take(list(task_ids), time.monotonic())
        self._send(summaries)
        return written

    def forget(self, task_id: str) -> None:
        """The task's copy is gone and its saves are done: drop its counters (a long-lived node runs many)."""
        with self._cond:
            self._gone.add(task_id)
            summaries = self._pacer.take([task_id], time.monotonic())
            self._drop_if_settled(task_id)
        self._send(summaries)

    def _drop_if_settled(self, task_id: str) -> None:
        if task_id in self._gone and task_id not in self._pending \
                and self._done.get(task_id, 0) >= self._offered.get(task_id, 0):
            self._gone.discard(task_id)
            self._offered.pop(task_id, None)
            self._done.pop(task_id, None)
            self._pacer.forget(task_id)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending (up to `timeout`), then stop."""
        with self._cond:
            pending = list(self._pending)
        self.wait_written(pending, time.monotonic() + timeout)
        with self._cond:
            self._closing, unwritten = True, len(self._pending)
            self._cond.notify_all()
        if unwritten:
            logger.error(f"{unwritten} checkpoint(s) not written: the task store stayed unreachable")
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _next(self) -> PendingSave | None:
        """The save pending longest (None once closing); meanwhile the summaries whose time came go out."""
        while True:
            with self._cond:
                due = self._pacer.next_due()
                self._cond.wait_for(lambda: self._pending or self._closing,
                                    None if due is None else max(0.0, due - time.monotonic()))
                if self._closing:
                    return None
                if self._pending:
                    return self._pending.pop(next(iter(self._pending)))
                summaries = self._pacer.due(time.monotonic())
            self._send(summaries)

    def _run(self) -> None:
        while (save := self._next()) is not None:
            stored = self._write(save)
            if stored is None:
                with self._cond:  # back, unless a newer save came meanwhile
                    self._pending.setdefault(save.task_id, save)
                time.sleep(self.retry_seconds)
                continue
            with self._cond:
                self._done[save.task_id] = max(self._done.get(save.task_id, 0), save.number)
                summaries = self._pacer.written(Summary(save.task_id, save.attempt, summary(
                    save.attempt, save.saved_at, len(save.state.encode("utf-8")))), time.monotonic()) if stored else []
                self._drop_if_settled(save.task_id)
                self._cond.notify_all()
            self._send(summaries)

    def _send(self, summaries: list[Summary]) -> None:
        for item in summaries:
            self.on_summary(item)

    def _write(self, save: PendingSave) -> bool | None:
        """True once written, False when refused; None to try again later (the store is away)."""
        try:
            stored = self.store.save_checkpoint(save.task_id, executor=self.skald_id, attempt=save.attempt,
                                                state=save.state, saved_at=save.saved_at)
        except ServiceUnavailableError as error:
            logger.warning(f"task {save.task_id}: checkpoint not written yet, the task store is away: {error}")
            return None
        except Exception as error:  # unstorable: retrying cannot help
            logger.error(f"task {save.task_id}: checkpoint could not be stored: {type(error).__name__}: {error}")
            self.refused += 1
            return False
        if stored:
            self.written += 1
        else:
            self.refused += 1
            logger.warning(f"task {save.task_id}: checkpoint of attempt {save.attempt} refused, "
                           "this node no longer owns that attempt")
        return bool(stored)
