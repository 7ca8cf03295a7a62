"""What runs inside a worker process: the hooks in order, updates, cancellation, the outcome.

Order (spec §6.2): before -> main -> after, release always (once). An exception in before,
main or initialize makes the task Failed with its text and traceback; SIGTERM or a cancel
request makes it Cancelled (after hook skipped, release hooks run). A cancel interrupts the main
thread (`interrupt`): at once for a worker that never polled `is_cancel_requested()`, after a short
grace for one that did. Update handler calls
run one at a time on their own thread, so the pipe reader always hears the supervisor's keep-alives;
a supervisor silent for longer than the fence time, or a closed pipe, ends the process at once
with `ExitCode.FENCED` and no hooks (see `watchdog`).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ValidationError

from skalds import telemetry
from skalds.telemetry import flow
from skalds.utils.logging import configure_logging, logger
from skalds.utils.signal_relay import SignalRelay
from skalds.worker.checkpoints import encode_checkpoint
from skalds.worker.hooks import AFTER, BEFORE, CHECKPOINT, MAIN, RELEASE, UPDATE
from skalds.worker.interrupt import INTERRUPT_SIGNAL, Interrupter, interrupt_deferred
from skalds.worker.launch_settings import LaunchSettings
from skalds.worker.progress import ProgressReporter
from skalds.worker.protocol import (
    Cancel,
    Checkpoint,
    CheckpointHandled,
    CheckpointRequest,
    ExitCode,
    Fence,
    KeepAlive,
    Outcome,
    OutcomeReport,
    Running,
    Started,
    ToSupervisor,
    Update,
    UpdateResult,
)
from skalds.worker.watchdog import SupervisorWatch

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


class RunnableWorker(Protocol):
    """What the runtime needs of a worker (`AbstractTaskWorker` is one; named here so that the
    runtime does not import the class that imports it)."""

    task_id: str
    attachments_version: int
    cancel_requested: threading.Event
    _skalds_hooks: dict[str, str]
    _skalds_runtime: Any
    _skalds_progress: ProgressReporter | None

    @classmethod
    def get_data_model(cls) -> type[BaseModel]: ...

    def initialize(self, data: Any) -> None: ...


class TaskCancelled(BaseException):
    """Raised in the main thread when the task is cancelled (SIGTERM, or the interrupt a cancel sends)."""


class WorkerRuntime:
    def __init__(self, worker: RunnableWorker, connection: Connection | None,
                 settings: LaunchSettings, attachments: dict[str, Any] | None, attachments_version: int) -> None:
        self.worker = worker
        self.connection = connection
        self.settings = settings
        self.attachments = attachments
        self.attachments_version = attachments_version
        self._send_lock = threading.Lock()
        self._in_hooks = False
        self._releasing = False
        self._watch = SupervisorWatch(settings.fence_seconds, time.monotonic())
        self._updates: queue.SimpleQueue[Update] | None = None
        self._initialized = threading.Event()  # updates wait for `initialize`
        self._interrupter = Interrupter(threading.main_thread().ident or 0, self._may_interrupt)
        self._checkpointing = threading.Lock()  # one @checkpoint_handler run at a time
        worker._skalds_runtime = self  # `save_checkpoint` sends through it
        worker._skalds_progress = self.progress = ProgressReporter(self.send if connection is not None else None)

    # --- checkpoints -----------------------------------------------------------------------------
    def save_checkpoint(self, state: Any) -> dict[str, Any]:
        """Check and send one save (returns at once: the node writes it); ValueError when it cannot be saved."""
        text = encode_checkpoint(state, self.settings.checkpoint_max_bytes)
        self.send(Checkpoint(text, len(text.encode("utf-8")), int(time.time() * 1000)))
        return json.loads(text)  # a copy: later changes to `state` are not what was saved

    def _checkpoint_requested(self, request: CheckpointRequest) -> None:
        """Run the hook on its own thread (the main one runs `main`); answer once it returned."""
        if self._checkpointing.locked():
            return  # the running one answers
        threading.Thread(target=self._run_checkpoint_hook, args=(request.reason,), name="skalds-checkpoint",
                         daemon=True).start()

    def _run_checkpoint_hook(self, reason: str) -> None:
        with self._checkpointing:
            error = None
            name = self.worker._skalds_hooks.get(CHECKPOINT)
            if name is not None and self._initialized.wait(5.0):
                logger.info(f"checkpoint requested ({reason})")
                try:
                    getattr(self.worker, name)()
                except Exception as failure:
                    logger.exception(f"checkpoint handler failed: {failure}")
                    error = f"{type(failure).__name__}: {failure}"
            self.send(CheckpointHandled(error))

    # --- messaging ---------------------------------------------------------------------------
    def send(self, message: ToSupervisor) -> None:
        if self.connection is None:
            return
        try:
            with interrupt_deferred(), self._send_lock:
                self.connection.send(message)
        except (OSError, EOFError, BrokenPipeError):
            pass  # supervisor gone: the reader thread handles that

    def _reader(self) -> None:
        """Read the supervisor's messages, and watch that it is still there (the process's only
        waiting on the pipe: a keep-alive is heard at once, whatever the hooks are doing)."""
        connection, watch = self.connection, self._watch
        assert connection is not None
        while True:
            try:
                message = connection.recv() if connection.poll(watch.check_seconds) else None
            except (EOFError, OSError):
                self._fence("its supervisor's pipe closed (the node is gone)")
                return
            now = time.monotonic()
            if message is not None:
                watch.heard(now)
                self._on_message(message)
            if watch.overdue(now):
                self._fence(f"its supervisor was silent for {watch.silent_for(now):.1f}s "
                            f"(fence {watch.fence_seconds:g}s: the node is frozen or cut off)")

    def _on_message(self, message: object) -> None:
        if isinstance(message, KeepAlive):
            return
        if isinstance(message, Cancel):
            self._request_cancel(message.reason, message.grace_seconds)
        elif isinstance(message, Update):
            self._queue_update(message)
        elif isinstance(message, Fence):
            self._fence(f"its node fenced it: {message.reason}")
        elif isinstance(message, CheckpointRequest):
            self._checkpoint_requested(message)
        else:
            logger.warning(f"worker ignored an unknown supervisor message {type(message).__name__}")

    def _fence(self, why: str) -> None:
        """Stop now, without hooks (one could hang): another copy may already be starting elsewhere."""
        logger.warning(f"fenced: {why}; stopping at once")
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # nothing may keep it from exiting
                stream.flush()
        os._exit(ExitCode.FENCED)

    def _queue_update(self, message: Update) -> None:
        """Updates run one at a time, in order, after `initialize`, on a thread started on the first one."""
        if self._updates is None:
            self._updates = queue.SimpleQueue()
            threading.Thread(target=self._apply_updates, args=(self._updates,), name="skalds-updates",
                             daemon=True).start()
        self._updates.put(message)

    def _apply_updates(self, updates: queue.SimpleQueue[Update]) -> None:
        self._initialized.wait()
        while True:
            self._apply_update(updates.get())

    def _request_cancel(self, reason: str, grace_seconds: float) -> None:
        """Set the flag, then interrupt the main thread (after `grace_seconds` if the worker polls the flag)."""
        if not self.worker.cancel_requested.is_set():
            logger.info(f"cancel requested: {reason}")
            self.worker.cancel_requested.set()
        cooperative = bool(getattr(self.worker, "_skalds_polled_cancel", False))
        self._interrupter.request(cooperative, grace_seconds)

    def _may_interrupt(self) -> bool:
        return self._in_hooks and not self._releasing

    def _apply_update(self, message: Update) -> None:
        version = message.version
        handler_name = self.worker._skalds_hooks.get(UPDATE)
        try:
            model = type(self.worker).get_data_model().model_validate(message.attachments or {})
        except ValidationError as error:
            logger.error(f"update v{version} rejected: attachments invalid: {error}")
            self.send(UpdateResult(version, _short(error)))
            return
        if handler_name is None:
            logger.warning(f"update v{version} received but the worker has no @update_event_handler")
            self.send(UpdateResult(version, "worker has no update handler"))
            return
        try:
            getattr(self.worker, handler_name)(model)
        except Exception as error:
            logger.exception(f"update handler failed on v{version}: {error}")
            self.send(UpdateResult(version, f"{type(error).__name__}: {error}"))
            return
        self.worker.attachments_version = version
        self.send(UpdateResult(version))

    # --- lifecycle ---------------------------------------------------------------------------
    def _on_stop_signal(self, signum: int) -> None:
        """SIGTERM (and Ctrl-C unsupervised), on the relay's thread: no handler takes the flag's lock, and the
        interrupt it sends waits out a message being written to the pipe, as a cancel's does."""
        self.worker.cancel_requested.set()
        self._interrupter.interrupt_now(f"signal {signum}")

    def _on_interrupt(self, _signum: int, frame: Any) -> None:
        """The cancel's interrupt: raised once, only in the task's hooks (never in a release hook), and not in
        `execute` itself, where it could land between an exception and its `except` (it is sent again)."""
        if self._in_hooks and not self._releasing and getattr(frame, "f_code", None) is not _EXECUTE_CODE:
            self._in_hooks = False
            raise TaskCancelled(self._interrupter.reason)

    def _configure_process(self) -> None:
        signal.signal(INTERRUPT_SIGNAL, self._on_interrupt)
        if self.settings.supervised:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the node, which stops us
        stops = (signal.SIGTERM,) if self.settings.supervised else (signal.SIGTERM, signal.SIGINT)
        SignalRelay(self._on_stop_signal, stops, exit_on_repeat=False).install()
        task_id = self.worker.task_id
        configure_logging(
            level=self.settings.log_level, skald_id=self.settings.skald_id, task_id=task_id,
            log_path=self.settings.log_path if self.settings.log_split else None,
            file_name=f"{self.settings.skald_id}_{task_id}", rotation_mb=self.settings.log_rotation_mb,
            retention=self.settings.log_retention, json=self.settings.log_json,
        )
        telemetry.setup("skalds-worker")  # after the fork: this process's own exporter thread

    def _call(self, kind: str) -> None:
        name = self.worker._skalds_hooks.get(kind)
        if name is None:
            if kind == MAIN:
                raise NotImplementedError(f"{type(self.worker).__name__} has no @run_main_handler")
            return
        with self._hook_span(kind):
            getattr(self.worker, name)()

    def _hook_span(self, kind: str) -> contextlib.AbstractContextManager[Any]:
        task = getattr(self.worker, "task", None)
        return flow.hook_span(kind, getattr(self.worker, "_skalds_traceparent", None), {
            "task.id": self.worker.task_id, "task.class": getattr(task, "class_name", type(self.worker).__name__),
            "task.attempt": getattr(task, "attempt", 0), "skald.id": self.settings.skald_id})

    def execute(self) -> int:
        """Run the task to its end; returns the process exit code."""
        self._configure_process()
        outcome, error_text, code = Outcome.FINISHED, None, ExitCode.FINISHED
        self._in_hooks = True
        try:
            self.send(Started(os.getpid()))
            if self.connection is not None:
                threading.Thread(target=self._reader, name="skalds-supervisor-pipe", daemon=True).start()
            if self.settings.supervised:
                model = type(self.worker).get_data_model().model_validate(self.attachments or {})
                self.worker.attachments_version = self.attachments_version
                with self._hook_span("initialize"):
                    self.worker.initialize(model)
            self._initialized.set()
            self._call(BEFORE)
            if self.worker.cancel_requested.is_set():
                raise TaskCancelled("cancel requested")
            self.send(Running())
            self._call(MAIN)
            if self.worker.cancel_requested.is_set():
                raise TaskCancelled("cancel requested")
            self._in_hooks = False
            self._run_after()
        except TaskCancelled as cancelled:
            self._in_hooks = False  # first: an interrupt still being sent must not land in the logger below
            outcome, code = Outcome.CANCELLED, ExitCode.CANCELLED
            logger.warning(f"task cancelled ({cancelled})")
        except Exception as error:
            self._in_hooks = False  # no interrupt while the error is handled
            outcome, code = Outcome.FAILED, ExitCode.FAILED
            error_text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            logger.error(f"task failed: {type(error).__name__}: {error}")
            self._call_error_handler(error)
        finally:
            self._in_hooks = False
            self._releasing = True
            self._release()
        self.progress.flush()  # the last values reach the node before the outcome
        self.send(OutcomeReport(outcome, error_text))
        if outcome == Outcome.FINISHED:
            logger.debug("task finished successfully")
        return int(code)

    def _run_after(self) -> None:
        try:
            self._call(AFTER)
        except Exception as error:
            logger.exception(f"after hook failed (task still counts as finished): {error}")

    def _call_error_handler(self, error: Exception) -> None:
        handler = getattr(self.worker, "_error_handler", None)
        if handler is None:
            return
        try:
            handler(error)
        except Exception as inner:
            logger.warning(f"_error_handler raised: {inner}")

    def _release(self) -> None:
        try:
            self._call(RELEASE)
        except BaseException as error:
            logger.warning(f"release hook failed: {error}")


def _short(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in item['loc']) or '<root>'}: {item['msg']}"
                     for item in error.errors())


def exit_with(code: int) -> None:
    """End the worker process with `code` (through SystemExit, so multiprocessing records it)."""
    telemetry.shutdown()  # export the spans still queued
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


_EXECUTE_CODE = WorkerRuntime.execute.__code__
