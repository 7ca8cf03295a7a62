"""The reactor: one thread that reacts to every worker's messages and exit, and sends the stop
signals that are due.

It never waits on a service: statuses and keys are queued (`Recorder`), a Running waits for the
task's fresh heartbeat in the store writer, and work that reads the store after an exit (the
next attempt's start) runs on the `Deferred` thread.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Pipe, wait
from typing import Any

from skalds.model.task import TaskLifecycleStatus
from skalds.node import progress
from skalds.node.checkpoint_writer import CheckpointWriter
from skalds.node.deferred import Deferred
from skalds.node.handles import HandleTable, WorkerHandle
from skalds.node.launcher import Launcher
from skalds.node.outcomes import GIVING_BACK, judge_exit
from skalds.node.recorder import Recorder
from skalds.node.stopping import next_wait, send_signal
from skalds.tasks import lifecycle
from skalds.utils.logging import logger
from skalds.worker.protocol import (
    Checkpoint,
    CheckpointHandled,
    OutcomeReport,
    Progress,
    Running,
    Started,
    ToSupervisor,
    UpdateResult,
    describe_exit,
)


class Reactor:
    def __init__(self, handles: HandleTable, launcher: Launcher, recorder: Recorder, deferred: Deferred,
                 skald_id: str, on_finished: Callable[[str, str], None],
                 on_fenced: Callable[[str, int], None] | None = None,
                 checkpoints: CheckpointWriter | None = None) -> None:
        self.handles = handles
        self.launcher = launcher
        self.recorder = recorder
        self.deferred = deferred
        self.skald_id = skald_id
        self.on_finished = on_finished  # (task id, status): once per recorded end
        self.on_fenced = on_fenced  # (task id, attempt): a copy ended fenced, the task may start again here
        self.checkpoints = checkpoints  # writes the workers' saves (None: nothing records them)
        self._wake_r, self._wake_w = Pipe(duplex=False)

    def wake(self) -> None:
        """Make the reactor look again (a new worker to watch, a new deadline)."""
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"!")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            handles = self.handles.all()
            waitables: dict[Any, tuple[str, WorkerHandle | None]] = {self._wake_r: ("wake", None)}
            for handle in handles:
                waitables[handle.connection] = ("message", handle)
                waitables[handle.process.sentinel] = ("exit", handle)
            try:
                ready = wait(list(waitables), timeout=next_wait((h.deadlines for h in handles), time.monotonic()))
            except OSError:
                ready = []
            for item in ready:
                kind, handle = waitables[item]
                try:
                    self._react(kind, handle)
                except Exception as error:  # the reactor must survive anything
                    logger.exception(f"supervisor watcher error: {error}")
            self._escalate()

    def _react(self, kind: str, handle: WorkerHandle | None) -> None:
        if handle is None:
            while self._wake_r.poll():
                self._wake_r.recv_bytes()
            return
        self._drain_messages(handle)
        if kind == "exit" and handle.process.poll_exit() and not self._relaunch(handle):
            self._on_exit(handle)

    def _relaunch(self, handle: WorkerHandle) -> bool:
        fresh = self.launcher.relaunch_if_never_ran(handle)
        if fresh is None:
            return False
        with contextlib.suppress(OSError):
            handle.connection.close()
        handle.process.close()
        with self.handles.lock:
            handle.process, handle.connection, handle.launched_as = fresh
        return True

    # --- messages ------------------------------------------------------------------------------
    def _drain_messages(self, handle: WorkerHandle) -> None:
        while True:
            try:
                if not handle.connection.poll():
                    return
                message = handle.connection.recv()
            except (EOFError, OSError):
                return
            self._on_message(handle, message)

    def _on_message(self, handle: WorkerHandle, message: ToSupervisor) -> None:
        task_id = handle.task_id
        if isinstance(message, Running):  # recorded once its fresh heartbeat is written: see StoreWriter
            self.recorder.status(task_id, handle.attempt, TaskLifecycleStatus.Running,
                                 after=handle.fresh_keys_written)
        elif isinstance(message, Started):
            handle.reported_in, handle.payload = True, None
            logger.info(f"task {task_id} ({handle.task.class_name}) started, attempt {handle.attempt}, "
                        f"pid {message.pid} ({handle.launched_as}, "
                        f"{(time.monotonic() - handle.started_at) * 1000:.0f} ms)")
        elif isinstance(message, OutcomeReport):
            handle.outcome = message
        elif isinstance(message, UpdateResult):
            self._on_update_result(handle, message)
        elif isinstance(message, Checkpoint):
            if self.checkpoints is not None:  # for the attempt this copy holds: the store fences it
                self.checkpoints.offer(task_id, handle.attempt, message.state, message.saved_at)
        elif isinstance(message, CheckpointHandled):
            if message.error:
                logger.warning(f"task {task_id}: checkpoint handler failed: {message.error}")
            handle.checkpoint_answered.set()
        elif isinstance(message, Progress):
            progress.take(handle, message)

    def _on_update_result(self, handle: WorkerHandle, result: UpdateResult) -> None:
        """Record the worker's answer with the attachments it holds after it (kept apart from the desired ones)."""
        task_id, values = handle.task_id, handle.sent.pop(result.version, None)
        if result.applied:
            logger.info(f"task {task_id}: worker applied attachments v{result.version}")
            if values is not None:
                handle.held = (result.version, values)
        else:
            logger.warning(f"task {task_id}: worker rejected attachments v{result.version}: {result.error}")
        held, attempt, executor = handle.held, handle.attempt, self.skald_id
        self.recorder.store_call(lambda store: lifecycle.record_attachments_result(
            store, task_id, result.version, result.applied, result.error, executor=executor, attempt=attempt,
            held=held))

    # --- exits ---------------------------------------------------------------------------------
    def _on_exit(self, handle: WorkerHandle) -> None:
        handle.exited = True
        handle.checkpoint_answered.set()  # nobody waits for a checkpoint of a process that is gone
        if self.checkpoints is not None:
            self.checkpoints.forget(handle.task_id)
        code = handle.process.exitcode
        self.handles.remove(handle.task_id)
        with contextlib.suppress(OSError):
            handle.connection.close()
        handle.process.close()
        how = _describe_exit(handle)
        if handle.progress is not None:  # its last report, which the next heartbeat will not carry
            ttl = self.recorder.config.heartbeat_period + 5
            self.recorder.live(lambda batch: progress.fill(batch, handle, ttl))
        verdict = judge_exit(handle.imposed_outcome or handle.outcome, code, handle.stop_reason, how)
        if verdict.status is None or verdict.heartbeat is None:
            self._finish_released(handle, how)
            return
        status = verdict.status
        log = logger.success if status == TaskLifecycleStatus.Finished else logger.warning
        log(f"task {handle.task_id} {status.value} ({how})" + (f": {verdict.error_line}" if verdict.error else ""))
        self.recorder.terminal_task_keys(handle.task_id, verdict.heartbeat, verdict.error_line)
        self.recorder.status(handle.task_id, handle.attempt, status, error=verdict.error, exit_code=code)
        self.on_finished(handle.task_id, status.value)
        self._run_after_exit(handle.task_id)

    def _finish_released(self, handle: WorkerHandle, how: str) -> None:
        """The task lives on: its heartbeat goes, and on shutdown the store gives it back. A fenced
        copy leaves its heartbeat keys to expire (another node may be writing them already), and its
        attempt is recorded Assigning: no process runs it until this node starts it again or the
        controller moves it, and the store must not say Running meanwhile."""
        fenced = handle.stop_reason in (None, "fenced")
        logger.info(f"task {handle.task_id} stopped ({handle.stop_reason or 'fenced itself'}, {how})")
        if not fenced:
            self.recorder.clear_task_keys(handle.task_id)
        if handle.stop_reason in GIVING_BACK:
            task_id, attempt, skald_id = handle.task_id, handle.attempt, self.skald_id
            why = GIVING_BACK[handle.stop_reason]
            self.recorder.store_call(lambda store: lifecycle.release(store, task_id, executor=skald_id,
                                                                     attempt=attempt, reason=why))
        elif fenced:
            self.recorder.status(handle.task_id, handle.attempt, TaskLifecycleStatus.Assigning, reason="fenced")
            if self.on_fenced is not None:
                self.on_fenced(handle.task_id, handle.attempt)  # fenced by the node or by itself
        self._run_after_exit(handle.task_id)

    def _run_after_exit(self, task_id: str) -> None:
        action = self.handles.take_after_exit(task_id)
        if action is not None:
            self.deferred.run(action, f"task {task_id}: deferred start")

    # --- stop signals --------------------------------------------------------------------------
    def _escalate(self) -> None:
        now = time.monotonic()
        for handle in self.handles.all():
            if handle.deadlines is None:
                continue
            pid = handle.process.pid
            if pid is None:
                continue
            signum = handle.deadlines.due(now)
            if signum is None:
                continue
            if signum == signal.SIGKILL:
                logger.warning(f"task {handle.task_id}: still alive after the grace period; SIGKILL")
            else:
                logger.info(f"task {handle.task_id}: did not stop on request; SIGTERM")
            send_signal(pid, signum)


def _describe_exit(handle: WorkerHandle) -> str:
    if handle.process.exit_unknown:
        return "exit code unknown: the worker fork server could not fork it or died before reporting it"
    return describe_exit(handle.process.exitcode)
