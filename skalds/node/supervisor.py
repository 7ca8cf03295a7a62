"""The node-side owner of worker processes.

One supervisor per Skald owns every worker process and talks to each over a pipe. A
watcher thread reacts to worker messages and process exits (recording Running, Finished,
Failed, Cancelled for the attempt it holds); a pulse thread writes all heartbeats in one
pipelined round trip per period and checks that the node still owns its tasks.
Cancellation escalates: cooperative request -> SIGTERM (release hooks run) -> SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any

from skalds.model._time import now_ms
from skalds.model.task import HeartbeatCode, ModeEnum, Task, TaskLifecycleStatus, TaskWorkerSimpleMapList
from skalds.node.forkserver import ForkServer, ForkServerConfig, WorkerProcess, pickle_worker
from skalds.node.live_writer import LiveWriter
from skalds.node.standby import StandbyPool
from skalds.node.store_writer import StoreWriter
from skalds.tasks import lifecycle, queries
from skalds.tasks.status_change import StatusChange
from skalds.transport.ports import LiveBatch, LiveState, TaskStore
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger
from skalds.worker.protocol import ExitCode, Op, Outcome, describe_exit, outcome_for_exit_code
from skalds.worker.registry import WorkerRegistry
from skalds.worker.runtime import LaunchSettings

STATUS_LINGER_SECONDS = 0.02  # a status write waits this long for others to share its query
FRESH_KEYS_WAIT_SECONDS = 1.0  # Running waits at most this long for the task's fresh heartbeat to be written
RELEASING_STOPS = ("shutdown", "lost", "superseded")  # stops that record no Cancelled: the task lives on


@dataclass
class WorkerHandle:
    """What the supervisor knows about one running task."""

    task: Task
    attempt: int
    process: WorkerProcess
    connection: Connection
    started_at: float = field(default_factory=time.monotonic)
    running: bool = False
    counter: int = 0
    stop_reason: str | None = None  # "cancel", "shutdown", "lost", "superseded" (a newer attempt replaces it)
    term_at: float | None = None
    kill_at: float | None = None
    outcome: dict[str, Any] | None = None
    paused: bool = False
    exited: bool = False  # set before its terminal keys are queued: later heartbeats skip it
    fresh_keys_written: threading.Event | None = None  # its fresh heartbeat is in Redis (or failed)
    launched_as: str = "forked"  # or "standby": handed to a process forked ahead of time
    payload: bytes | None = None  # the pickled worker, kept until the process reports in (to start it again)
    reported_in: bool = False

    @property
    def task_id(self) -> str:
        return self.task.id


@dataclass
class SupervisorSettings:
    skald_id: str
    mode: str = "node"
    heartbeat_period: float = 3.0
    key_ttl: int = 3600
    cancel_request_timeout: float = 2.0
    cancel_grace_seconds: float = 10.0
    ownership_check_period: float = 5.0
    max_concurrent_tasks: int = 0
    launch: LaunchSettings = field(default_factory=LaunchSettings)
    record_in_store: bool = True
    register_node: bool = True
    standby_workers: int = 0


class Supervisor:
    def __init__(self, settings: SupervisorSettings, registry: WorkerRegistry,
                 store: TaskStore | None, live: LiveState | None) -> None:
        self.settings = settings
        self.registry = registry
        self.store = store
        self.live = live
        self._handles: dict[str, WorkerHandle] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = Pipe(duplex=False)
        self._writer = StoreWriter(store, self._attempt_lost, linger_seconds=STATUS_LINGER_SECONDS) \
            if store is not None and settings.record_in_store else None
        self._after_exit: dict[str, Callable[[], None]] = {}
        launch = settings.launch
        self._fork_server = ForkServer(ForkServerConfig(
            modules=["skalds.worker.baseclass", *registry.modules()],
            logging={"level": launch.log_level, "skald_id": launch.skald_id, "json": launch.log_json}))
        self._standby = StandbyPool(settings.standby_workers, self._fork_server)
        self._live_writer = LiveWriter(live) if live is not None else None
        self._started_at_ms = now_ms()
        self._threads: list[threading.Thread] = []
        self.on_task_finished: Callable[[str, str], None] | None = None

    # --- lifecycle of the supervisor ---------------------------------------------------------
    def start(self) -> None:
        self._start_fork_server()
        if self._writer is not None:
            self._writer.start()
        if self._live_writer is not None:
            self._live_writer.start()
        self._spawn(self._watch, "skalds-watcher")

    def _start_fork_server(self) -> None:
        """Start the template process now (not on the first task), with the main module and the
        worker modules imported once, so a worker starts in milliseconds."""
        started = time.perf_counter()
        self._fork_server.start()
        logger.debug(f"worker fork server started in {(time.perf_counter() - started) * 1000:.0f} ms")
        self._standby.start()

    def start_pulse(self) -> None:
        """Begin heartbeats and registration: call once the node can receive events, so that
        the controller never assigns work to a node that cannot hear it yet."""
        self.write_heartbeats(wait=5.0)
        self._spawn(self._pulse, "skalds-pulse")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._handles)

    def handle(self, task_id: str) -> WorkerHandle | None:
        with self._lock:
            return self._handles.get(task_id)

    def has_capacity(self) -> bool:
        limit = self.settings.max_concurrent_tasks
        return limit <= 0 or len(self._handles) < limit

    # --- commands ----------------------------------------------------------------------------
    def start_task(self, task: Task, attempt: int, attachments: dict[str, Any] | None) -> bool:
        """Start a worker process for `task`; False if it runs here already."""
        worker_class = self.registry.get(task.class_name)
        if worker_class is None:
            raise LookupError(f"worker class {task.class_name!r} is not registered on {self.settings.skald_id}")
        if self.handle(task.id) is not None:
            return False
        # Queued before the process exists, so its terminal keys can only be queued after these.
        # Not waited for here: Running is recorded only once they are written (see _on_message).
        fresh_keys_written = self._write_live(lambda batch: self._fresh_task_keys(batch, task.id))
        with self._lock:
            if task.id in self._handles:
                return False
            worker = worker_class(task=task)
            worker._skalds_supervise(None, self.settings.launch, attachments)
            payload = pickle_worker(worker)
            process, parent_end, how = self._launch(payload)
            self._handles[task.id] = WorkerHandle(task=task, attempt=attempt, process=process,
                                                  connection=parent_end, fresh_keys_written=fresh_keys_written,
                                                  launched_as=how, payload=payload)
        self._wake()  # "started" is logged when the worker reports in, with its pid
        return True

    def _launch(self, payload: bytes) -> tuple[WorkerProcess, Connection, str]:
        """Hand the pickled worker to a standby process if one is ready, else to a process forked now."""
        standby = self._standby.take()
        if standby is not None:
            process, parent_end = standby
            try:
                parent_end.send_bytes(payload)
                return process, parent_end, "standby"
            except OSError as error:  # it died just now: fork one
                logger.debug(f"standby process {process.pid} unusable ({error}); forking instead")
                StandbyPool.discard(process, parent_end)
        process, parent_end = self._fork_server.spawn()
        try:
            parent_end.send_bytes(payload)
        except OSError:
            StandbyPool.discard(process, parent_end)
            raise
        return process, parent_end, "forked"

    def after_exit(self, task_id: str, action: Callable[[], None]) -> bool:
        """Run `action` once the current copy of `task_id` has exited (a new attempt waits for the old one).

        Returns False when no copy is running, so the caller acts at once."""
        with self._lock:
            if task_id not in self._handles:
                return False
            self._after_exit[task_id] = action
            return True

    def cancel_task(self, task_id: str, reason: str = "cancel") -> bool:
        """Begin stopping a worker: cooperative request now, SIGTERM and SIGKILL on deadlines."""
        with self._lock:
            handle = self._handles.get(task_id)
            if handle is None:
                return False
            if handle.stop_reason is None:
                handle.stop_reason = reason
                if handle.paused and handle.process.pid is not None:
                    _signal(handle.process.pid, signal.SIGCONT)  # a stopped process cannot end itself
                    handle.paused = False
                now = time.monotonic()
                handle.term_at = now + self.settings.cancel_request_timeout
                handle.kill_at = handle.term_at + self.settings.cancel_grace_seconds
                self._send(handle, {"op": Op.CANCEL, "reason": reason})
        self._wake()
        return True

    def _attempt_lost(self, task_id: str, attempt: int) -> None:
        """The store has another owner for this attempt: stop the copy running it (not a newer one)."""
        handle = self.handle(task_id)
        if handle is not None and handle.attempt == attempt:
            self.cancel_task(task_id, "lost")

    def pause_task(self, task_id: str) -> bool:
        """Suspend the worker (SIGSTOP): it keeps its memory and state and uses no CPU until resumed."""
        with self._lock:
            handle = self._handles.get(task_id)
            if handle is None or handle.stop_reason is not None or handle.process.pid is None:
                return False
            if not handle.paused:
                _signal(handle.process.pid, signal.SIGSTOP)
                handle.paused = True
            # Queued under the lock: an exit seen after this is recorded after it, never before.
            self._record(handle, TaskLifecycleStatus.Paused)
        logger.info(f"task {task_id} paused")
        return True

    def resume_task(self, task_id: str) -> bool:
        with self._lock:
            handle = self._handles.get(task_id)
            if handle is None or handle.process.pid is None:
                return False
            was_paused = handle.paused
            if was_paused:  # recorded before the process runs again, so its Finished comes after
                self._record(handle, TaskLifecycleStatus.Running)
            _signal(handle.process.pid, signal.SIGCONT)
            handle.paused = False
        if was_paused:
            logger.info(f"task {task_id} resumed")
        return was_paused

    def deliver_update(self, task_id: str, attachments: dict[str, Any], version: int) -> bool:
        with self._lock:
            handle = self._handles.get(task_id)
            if handle is None:
                return False
            return self._send(handle, {"op": Op.UPDATE, "version": version, "attachments": attachments})

    def stop_all(self, reason: str = "shutdown", timeout: float | None = None) -> None:
        """Stop every worker within the grace period and wait for them."""
        for task_id in self.running_ids():
            self.cancel_task(task_id, reason)
        limit = timeout if timeout is not None else self.settings.cancel_request_timeout + \
            self.settings.cancel_grace_seconds + 2
        deadline = time.monotonic() + limit
        while self.running_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        self._wake()
        for thread in self._threads:
            thread.join(timeout=5)
        self._standby.close()
        self._fork_server.close()  # workers still running (past the grace) do not depend on it
        if self._writer is not None:
            self._writer.close(timeout=10)
        if self._live_writer is not None:
            self._live_writer.close()  # later writes (deregistration) go out inline

    def deregister(self) -> None:
        skald_id = self.settings.skald_id

        def fill(batch: LiveBatch) -> None:
            batch.hdel(RedisKey.SKALD_LIST_HASH, skald_id)
            batch.hdel(RedisKey.SKALD_MODE_LIST_HASH, skald_id)
            for key in (RedisKey.skald_heartbeat(skald_id), RedisKey.skald_all_task(skald_id),
                        RedisKey.skald_allow_task_class_name(skald_id), RedisKey.skald_info(skald_id)):
                batch.delete(key)
        self._write_live(fill)

    # --- watcher thread ----------------------------------------------------------------------
    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"!")

    def _send(self, handle: WorkerHandle, message: dict[str, Any]) -> bool:
        try:
            handle.connection.send(message)
            return True
        except (OSError, EOFError, BrokenPipeError) as error:
            logger.warning(f"task {handle.task_id}: could not reach the worker: {error}")
            return False

    def _watch(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                handles = list(self._handles.values())
            waitables: dict[Any, tuple[str, WorkerHandle | None]] = {self._wake_r: ("wake", None)}
            for handle in handles:
                waitables[handle.connection] = ("message", handle)
                waitables[handle.process.sentinel] = ("exit", handle)
            try:
                ready = wait(list(waitables), timeout=self._next_deadline(handles))
            except OSError:
                ready = []
            for item in ready:
                kind, handle = waitables[item]
                try:
                    if kind == "wake":
                        while self._wake_r.poll():
                            self._wake_r.recv_bytes()
                    elif kind == "message" and handle is not None:
                        self._drain_messages(handle)
                    elif handle is not None:
                        self._drain_messages(handle)
                        if handle.process.poll_exit() and not self._relaunch_if_never_ran(handle):
                            self._on_exit(handle)
                except Exception as error:  # the watcher must survive anything
                    logger.exception(f"supervisor watcher error: {error}")
            self._escalate()

    def _relaunch_if_never_ran(self, handle: WorkerHandle) -> bool:
        """A worker whose fork server died before forking it (no pid, never reported in, nobody on
        its pipe) is handed to a new process once, instead of failing a task that never ran."""
        if handle.payload is None or handle.reported_in or handle.stop_reason is not None \
                or handle.process.pid is not None or not _peer_gone(handle.connection):
            return False
        payload, handle.payload = handle.payload, None  # once
        logger.warning(f"task {handle.task_id}: the worker fork server died before starting it; starting it again")
        try:
            process, connection, how = self._launch(payload)
        except Exception as error:
            logger.error(f"task {handle.task_id}: could not start it again: {error}")
            return False
        with contextlib.suppress(OSError):
            handle.connection.close()
        handle.process.close()
        with self._lock:
            handle.process, handle.connection, handle.launched_as = process, connection, how
        return True

    def _next_deadline(self, handles: list[WorkerHandle]) -> float:
        now, soonest = time.monotonic(), 1.0
        for handle in handles:
            for moment in (handle.term_at, handle.kill_at):
                if moment is not None:
                    soonest = min(soonest, max(0.0, moment - now))
        return soonest

    def _drain_messages(self, handle: WorkerHandle) -> None:
        while True:
            try:
                if not handle.connection.poll():
                    return
                message = handle.connection.recv()
            except (EOFError, OSError):
                return
            self._on_message(handle, message)

    def _on_message(self, handle: WorkerHandle, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == Op.STARTED:
            handle.reported_in, handle.payload = True, None
            logger.info(f"task {handle.task_id} ({handle.task.class_name}) started, attempt {handle.attempt}, "
                        f"pid {message.get('pid')} ({handle.launched_as}, "
                        f"{(time.monotonic() - handle.started_at) * 1000:.0f} ms)")
        elif op == Op.RUNNING:
            handle.running = True
            if handle.fresh_keys_written is not None:  # a monitor that sees Running finds its heartbeat
                handle.fresh_keys_written.wait(FRESH_KEYS_WAIT_SECONDS)
            self._record(handle, TaskLifecycleStatus.Running)
        elif op == Op.OUTCOME:
            handle.outcome = message
        elif op == Op.UPDATE_ACK:
            logger.info(f"task {handle.task_id}: worker applied attachments v{message.get('version')}")
            self._store_call(lambda: lifecycle.record_attachments_result(self.store, handle.task_id,
                                                                         int(message["version"]), True))
        elif op == Op.UPDATE_REJECTED:
            logger.warning(f"task {handle.task_id}: worker rejected attachments v{message.get('version')}: "
                           f"{message.get('error')}")
            self._store_call(lambda: lifecycle.record_attachments_result(
                self.store, handle.task_id, int(message["version"]), False, str(message.get("error"))))

    def _on_exit(self, handle: WorkerHandle) -> None:
        handle.exited = True
        code = handle.process.exitcode
        with self._lock:
            self._handles.pop(handle.task_id, None)
        with contextlib.suppress(OSError):
            handle.connection.close()
        handle.process.close()
        outcome_message = handle.outcome or {}
        outcome = outcome_message.get("outcome") or outcome_for_exit_code(code)
        error = outcome_message.get("error")
        if handle.outcome is None and outcome == Outcome.FAILED:
            error = f"worker process ended without reporting an outcome: {self._describe_exit(handle)}"
            if handle.stop_reason is not None:
                outcome = Outcome.CANCELLED
        if outcome == Outcome.CANCELLED and handle.stop_reason in RELEASING_STOPS:
            self._finish_released(handle, code)
            return
        status, heartbeat = {
            Outcome.FINISHED: (TaskLifecycleStatus.Finished, HeartbeatCode.FINISHED),
            Outcome.CANCELLED: (TaskLifecycleStatus.Cancelled, HeartbeatCode.CANCELLED),
        }.get(outcome, (TaskLifecycleStatus.Failed, HeartbeatCode.FAILED))
        log = logger.success if status == TaskLifecycleStatus.Finished else logger.warning
        log(f"task {handle.task_id} {status.value} ({self._describe_exit(handle)})"
            + (f": {error.strip().splitlines()[-1]}" if error else ""))
        exception_text = error.strip().splitlines()[-1] if error else ""
        self._write_live(lambda batch: self._terminal_task_keys(batch, handle.task_id, heartbeat, exception_text))
        self._record(handle, status, error=error, exit_code=code)
        if self.on_task_finished is not None:
            self.on_task_finished(handle.task_id, status.value)
        self._run_after_exit(handle.task_id)

    @staticmethod
    def _describe_exit(handle: WorkerHandle) -> str:
        if handle.process.exit_unknown:
            return "exit code unknown: the worker fork server could not fork it or died before reporting it"
        return describe_exit(handle.process.exitcode)

    def _run_after_exit(self, task_id: str) -> None:
        with self._lock:
            action = self._after_exit.pop(task_id, None)
        if action is not None:
            try:
                action()
            except Exception as error:
                logger.exception(f"task {task_id}: deferred start failed: {error}")

    def _finish_released(self, handle: WorkerHandle, code: int | None) -> None:
        logger.info(f"task {handle.task_id} stopped ({handle.stop_reason}, {self._describe_exit(handle)})")

        def clear(batch: LiveBatch) -> None:
            batch.delete(RedisKey.task_heartbeat(handle.task_id))
            batch.delete(RedisKey.task_heartbeat_at(handle.task_id))
        self._write_live(clear)
        if handle.stop_reason == "shutdown" and self.store is not None and self.settings.record_in_store:
            self._store_call(lambda: lifecycle.release(self.store, handle.task_id, executor=self.settings.skald_id,
                                                       attempt=handle.attempt, reason="node shutdown"))
        self._run_after_exit(handle.task_id)

    def _escalate(self) -> None:
        now = time.monotonic()
        with self._lock:
            handles = list(self._handles.values())
        for handle in handles:
            pid = handle.process.pid
            if pid is None:
                continue
            if handle.kill_at is not None and now >= handle.kill_at:
                logger.warning(f"task {handle.task_id}: still alive after the grace period; SIGKILL")
                _signal(pid, signal.SIGKILL)
                handle.kill_at = None
            elif handle.term_at is not None and now >= handle.term_at:
                logger.info(f"task {handle.task_id}: did not stop on request; SIGTERM")
                _signal(pid, signal.SIGTERM)
                handle.term_at = None

    # --- recording ---------------------------------------------------------------------------
    def _record(self, handle: WorkerHandle, status: TaskLifecycleStatus, *, error: str | None = None,
                exit_code: int | None = None) -> None:
        if self._writer is None:
            return
        change = StatusChange.of(handle.task_id, status, executor=self.settings.skald_id, attempt=handle.attempt,
                                 error=error, exit_code=exit_code)
        self._writer.status(change, stop_if_lost=status == TaskLifecycleStatus.Running)

    def _store_call(self, write: Callable[[], None]) -> None:
        """Any other store write, in order with the status writes (queued while the store is unreachable)."""
        if self._writer is not None:
            self._writer.call(write)

    # --- pulse thread: heartbeats and ownership ----------------------------------------------
    def _pulse(self) -> None:
        next_ownership = time.monotonic() + self.settings.ownership_check_period
        while not self._stop.is_set():
            self.write_heartbeats()
            if time.monotonic() >= next_ownership:
                next_ownership = time.monotonic() + self.settings.ownership_check_period
                self._check_ownership()
            self._stop.wait(self.settings.heartbeat_period)

    def write_heartbeats(self, wait: float | None = None) -> None:
        """Node registration and every task's heartbeat in one pipelined round trip."""
        if self.live is None:
            return
        skald_id, period = self.settings.skald_id, self.settings.heartbeat_period
        with self._lock:
            handles = list(self._handles.values())
            for handle in handles:
                handle.counter = (handle.counter + 1) % 200
        now = now_ms()
        ttl = period + 5
        all_tasks = TaskWorkerSimpleMapList()
        for handle in handles:
            all_tasks.push(handle.task_id, handle.task.class_name)

        def fill(batch: LiveBatch) -> None:
            for handle in handles:
                if handle.stop_reason is None and not handle.exited:  # never over a terminal code
                    batch.set(RedisKey.task_heartbeat(handle.task_id), str(handle.counter), ttl)
                    batch.set(RedisKey.task_heartbeat_at(handle.task_id), str(now), ttl)
            if not self.settings.register_node:
                return
            batch.hset(RedisKey.SKALD_LIST_HASH, skald_id, str(now))
            batch.hset(RedisKey.SKALD_MODE_LIST_HASH, skald_id, self.settings.mode)
            batch.set(RedisKey.skald_heartbeat(skald_id), str(now // 1000 % 200), ttl)
            batch.set(RedisKey.skald_all_task(skald_id), all_tasks.to_json(), self.settings.key_ttl)
            batch.replace_list(RedisKey.skald_allow_task_class_name(skald_id), self.registry.names(),
                               self.settings.key_ttl)
            batch.hset(RedisKey.skald_info(skald_id), "capacity", str(self.settings.max_concurrent_tasks))
            batch.hset(RedisKey.skald_info(skald_id), "pid", str(os.getpid()))
            batch.hset(RedisKey.skald_info(skald_id), "started", str(self._started_at_ms))
        self._write_live(fill, wait=wait)

    def _check_ownership(self) -> None:
        """Stop local copies of tasks that were reassigned elsewhere (at most one live copy)."""
        if self.store is None or not self.settings.record_in_store:
            return
        with self._lock:
            held = {handle.task_id: handle.attempt for handle in self._handles.values()
                    if handle.stop_reason is None and handle.task.mode == ModeEnum.Passive.value}
        if not held:
            return
        try:
            owned = queries.owned_attempts(self.store, self.settings.skald_id, list(held))
        except Exception as error:
            logger.warning(f"ownership check skipped, task store unreachable: {error}")
            return
        for task_id, attempt in held.items():
            current = owned.get(task_id)
            if current is None:
                logger.warning(f"task {task_id} was reassigned to another node; stopping the local copy")
                self.cancel_task(task_id, "lost")
            elif current > attempt:
                logger.debug(f"task {task_id}: attempt {current} is assigned here; its assign event replaces "
                             f"attempt {attempt}")

    def _write_live(self, fill: Callable[[LiveBatch], None], wait: float | None = None) -> threading.Event | None:
        if self._live_writer is None:
            return None
        return self._live_writer.write(fill, wait=wait)

    def _fresh_task_keys(self, batch: LiveBatch, task_id: str) -> None:
        """A new run starts clean: no stale terminal code or exception from an earlier run."""
        ttl = self.settings.heartbeat_period + 5
        batch.set(RedisKey.task_heartbeat(task_id), "0", ttl)
        batch.set(RedisKey.task_heartbeat_at(task_id), str(now_ms()), ttl)
        batch.set(RedisKey.task_exception(task_id), "")

    def _terminal_task_keys(self, batch: LiveBatch, task_id: str, code: int, exception_text: str) -> None:
        batch.set(RedisKey.task_heartbeat(task_id), str(int(code)), self.settings.key_ttl)
        batch.delete(RedisKey.task_heartbeat_at(task_id))
        if code == HeartbeatCode.FAILED:
            batch.set(RedisKey.task_exception(task_id), exception_text, self.settings.key_ttl)


def _peer_gone(connection: Connection) -> bool:
    """True when the other end of the pipe is closed (nothing left to read, end of file)."""
    try:
        if not connection.poll():
            return False
        connection.recv_bytes()
    except (EOFError, OSError):
        return True
    return False


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


__all__ = ["ExitCode", "Supervisor", "SupervisorSettings", "WorkerHandle"]
