"""The node-side owner of worker processes: the commands, and the parts that carry them out.

One supervisor per Skald. Its parts, each in its own module: the `Launcher` puts a worker into a
process, the `Reactor` thread reacts to worker messages and exits (recording Running, Finished,
Failed, Cancelled for the attempt it holds, see `outcomes`), the `Pulse` thread writes all
heartbeats in one round trip per period (the reconciler, on the events thread, checks that the node
still owns its tasks and carries out what the store wants of them), the `Recorder` queues every write,
the `KeepAliveThread` tells every worker the node is alive and fences them when it cannot prove it is
(see `fencing`). Cancellation escalates (`stopping`): cooperative request -> SIGTERM (release hooks
run) -> SIGKILL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from skalds.config.skald_config import SkaldConfig
from skalds.model.task import Task, TaskLifecycleStatus
from skalds.node.checkpoint_summaries import Summary
from skalds.node.checkpoint_writer import CheckpointWriter
from skalds.node.deferred import Deferred
from skalds.node.fencing import FENCE_KILL_SECONDS, Liveness, StartDocument, fence_after
from skalds.node.forkserver import ForkServer, pickle_worker
from skalds.node.handles import HandleTable, WorkerHandle
from skalds.node.keepalive import KeepAliveThread
from skalds.node.launcher import Launcher
from skalds.node.log_capture import LogCapture
from skalds.node.log_shipper import LogShipper
from skalds.node.memory_limits import MEMORY_STOP
from skalds.node.pulse import Pulse
from skalds.node.reactor import Reactor
from skalds.node.recorder import Recorder
from skalds.node.release_checkpoints import checkpoint_before_release
from skalds.node.resource_watch import ResourceWatch
from skalds.node.resume import restored_entry
from skalds.node.settings import NodeRole, launch_settings
from skalds.node.stopping import StopDeadlines, StopPolicy, kill, pause, resume
from skalds.transport.ports import LiveState, TaskLogs, TaskStore
from skalds.utils.logging import logger
from skalds.worker.protocol import Cancel, Fence, Outcome, OutcomeReport, ToWorker, Update
from skalds.worker.registry import WorkerRegistry

STALE_STOPS = frozenset({"lost", "superseded"})  # stops of a copy whose task now belongs to another attempt
MAX_UNANSWERED_UPDATES = 16  # attachments versions a worker was sent and has not answered, kept per task


class Supervisor:
    def __init__(self, config: SkaldConfig, registry: WorkerRegistry,
                 store: TaskStore | None, live: LiveState | None, logs: TaskLogs | None = None) -> None:
        self.config = config
        self.role = NodeRole.of(config)
        self.registry = registry
        self.launch_settings = launch_settings(config)
        self.stop_policy = StopPolicy(config.cancel_request_timeout, config.cancel_grace_seconds,
                                      config.cancel_interrupt_grace_seconds)
        self.on_task_finished: Callable[[str, str], None] | None = None
        self._handles = HandleTable()
        self._stop = threading.Event()
        liveness = Liveness(config.fence_seconds) if self.role.fences else None
        self._recorder = Recorder(config, store, live, self.role.record_in_store, self._attempt_lost, liveness)
        self._launcher = Launcher(registry.modules(), self.launch_settings, self.role.standby_workers)
        self._shipper = LogShipper(logs) if logs is not None else None
        self._capture = LogCapture(self._shipper, config.task_log_lines_per_second, config.skald_id)
        self._launcher.capture = self._capture
        self._deferred = Deferred()
        self._checkpoints = CheckpointWriter(store, config.skald_id, self._record_summary) \
            if store is not None and self.role.record_in_store else None
        self._keepalive = KeepAliveThread(self._handles, liveness, self.fence_all, self._deferred,
                                          config.skald_id) if liveness is not None else None
        self._reactor = Reactor(self._handles, self._launcher, self._recorder, self._deferred, config.skald_id,
                                self._finished, self._keepalive.fenced if self._keepalive is not None else None,
                                self._checkpoints)
        self._resources = ResourceWatch(config, self._handles, self._over_memory_limit)
        self._pulse = Pulse(config, self.role, self._handles, registry, self._recorder, self._resources,
                            log_drops=self._log_drops)
        self._threads: list[threading.Thread] = []
        self.draining = False  # set by the node's self-drain (skalds/node/self_drain.py)

    def _log_drops(self) -> int:
        return self._capture.dropped_total + (self._shipper.dropped_total if self._shipper is not None else 0)

    @property
    def _fork_server(self) -> ForkServer:
        return self._launcher.fork_server

    # --- lifecycle of the supervisor ---------------------------------------------------------
    def start(self) -> None:
        self._launcher.start()
        if self._shipper is not None:
            self._shipper.start()
        self._spawn(lambda: self._capture.run(self._stop), "skalds-log-capture")
        self._recorder.start()
        if self._checkpoints is not None:
            self._checkpoints.start()
        self._deferred.start()
        self._spawn(lambda: self._reactor.run(self._stop), "skalds-watcher")
        self._spawn(lambda: self._resources.run(self._stop), "skalds-resources")
        if self._keepalive is not None:
            keepalive = self._keepalive
            self._spawn(lambda: keepalive.run(self._stop), "skalds-keepalive")

    def restart_fenced_with(self, start: StartDocument) -> None:
        """How a fenced task that is still this node's starts again (with a new attempt)."""
        if self._keepalive is not None:
            self._keepalive.store, self._keepalive.start = self._recorder.store, start

    def announce_requests(self, path: str) -> None:
        """How this node hears its users' requests ("events", "store": by reconciling, "none"), published in its
        registration: the controller refuses (409) a request for an edge task that could not reach its node."""
        self._pulse.node = replace(self._pulse.node, requests=path)

    def start_pulse(self) -> None:
        """Begin heartbeats and registration: call once the node can receive events, so that
        the controller never assigns work to a node that cannot hear it yet."""
        self._pulse.write_heartbeats(wait=5.0)
        self._spawn(lambda: self._pulse.run(self._stop), "skalds-pulse")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop_all(self, reason: str = "shutdown", timeout: float | None = None) -> None:
        """Stop every worker within the grace period and wait for them (a shutdown is a release: each
        worker's @checkpoint_handler runs first, see `release_tasks`)."""
        if reason == "shutdown":
            self.release_tasks(self.running_ids(), reason)
        for task_id in self.running_ids():
            self.cancel_task(task_id, reason)
        deadline = time.monotonic() + (timeout if timeout is not None else self.stop_policy.patience())
        while self.running_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._deferred.close()  # what the exits asked for runs while the reactor still watches
        self._stop.set()
        self._reactor.wake()
        for thread in self._threads:
            thread.join(timeout=5)
        self._launcher.close()
        if self._checkpoints is not None:
            self._checkpoints.close()
        if self._shipper is not None:
            self._shipper.close()
        self._recorder.close()

    def deregister(self) -> None:
        self._pulse.deregister()

    def write_live(self, fill: Callable[[Any], None]) -> threading.Event | None:
        """Queue a live-state write of the node's own (its draining flag); the event is set once applied."""
        return self._recorder.live(fill)

    def write_heartbeats(self, wait: float | None = None) -> None:
        self._pulse.write_heartbeats(wait=wait)

    # --- what runs here ----------------------------------------------------------------------
    def running_ids(self) -> list[str]:
        return self._handles.ids()

    def handle(self, task_id: str) -> WorkerHandle | None:
        return self._handles.get(task_id)

    def has_capacity(self) -> bool:
        if self.draining:
            return False  # it drains itself before exiting: an assign that arrives now is given back
        limit = self.config.max_concurrent_tasks
        return limit <= 0 or len(self._handles) < limit

    # --- commands ----------------------------------------------------------------------------
    def start_task(self, task: Task, attempt: int, attachments: dict[str, Any] | None,
                   checkpoint: dict[str, Any] | None = None) -> bool:
        """Start a worker process for `task`; False if it runs here already. `checkpoint` (a stored one, see
        `TaskStore.get_checkpoint`) becomes the worker's `last_checkpoint`, and the history says so."""
        worker_class = self.registry.get(task.class_name)
        if worker_class is None:
            raise LookupError(f"worker class {task.class_name!r} is not registered on {self.config.skald_id}")
        if task.id in self._handles:
            return False
        # Queued before the process exists, so its terminal keys can only be queued after these.
        # Not waited for here: Running is recorded only once they are written (see StoreWriter).
        fresh_keys_written = self._recorder.fresh_task_keys(task.id)
        with self._handles.lock:
            if task.id in self._handles:
                return False
            worker = worker_class(task=task)
            worker._skalds_supervise(None, self.launch_settings, attachments)
            if checkpoint is not None:
                worker.last_checkpoint = checkpoint.get("state")
                entry = restored_entry(self.config.skald_id, attempt, checkpoint)
                self._recorder.store_call(lambda store: store.append_history(task.id, entry))
            payload = pickle_worker(worker)
            process, parent_end, how = self._launcher.launch(payload, task.id, attempt)
            self._handles.add(WorkerHandle(task=task, attempt=attempt, process=process, connection=parent_end,
                                           fresh_keys_written=fresh_keys_written, launched_as=how, payload=payload,
                                           held=(task.attachments_version, attachments or {})))
        self._reactor.wake()  # "started" is logged when the worker reports in, with its pid
        return True

    def after_exit(self, task_id: str, action: Callable[[], None]) -> bool:
        """Run `action` once the current copy of `task_id` has exited (a new attempt waits for the old one).

        Returns False when no copy is running, so the caller acts at once."""
        return self._handles.after_exit(task_id, action)

    def cancel_task(self, task_id: str, reason: str = "cancel") -> bool:
        """Begin stopping a worker: cooperative request now, SIGTERM and SIGKILL on deadlines.

        A paused copy whose task now belongs elsewhere ("lost", "superseded") is killed where it stands:
        resuming it so it could end itself would let it run beside the copy that replaced it."""
        with self._handles.lock:
            handle = self._handles.get(task_id)
            if handle is None:
                return False
            if handle.stop_reason is None:
                handle.stop_reason = reason
                handle.deadlines = self.stop_policy.deadlines(time.monotonic())
                if handle.paused and handle.process.pid is not None and reason in STALE_STOPS:
                    kill(handle.process.pid)
                    logger.info(f"task {task_id}: paused copy killed without resuming it ({reason})")
                else:
                    if handle.paused and handle.process.pid is not None:
                        resume(handle.process.pid)  # a stopped process cannot end itself
                        handle.paused = False
                    self._send(handle, Cancel(reason, self.stop_policy.interrupt_grace))
        self._reactor.wake()
        return True

    def release_tasks(self, task_ids: list[str], reason: str = "shutdown",
                      checkpoint_timeout: float | None = None) -> list[str]:
        """Ask each worker to run its @checkpoint_handler, wait until each answered and its saves are written
        (at most `checkpoint_timeout`, default the config's), then stop them as a release; returns those stopped.
        A paused worker cannot answer: it is stopped without asking."""
        timeout = self.config.checkpoint_timeout_seconds if checkpoint_timeout is None else checkpoint_timeout
        checkpoint_before_release(self._handles, self._send, self._checkpoints, task_ids, reason, timeout)
        return [task_id for task_id in task_ids if self.cancel_task(task_id, reason)]

    def _record_summary(self, summary: Summary) -> None:
        """In order with this node's status writes (one writer thread: they never race each other)."""
        executor = self.config.skald_id

        def write(store: TaskStore) -> None:
            store.set_checkpoint_summary(summary.task_id, executor=executor, attempt=summary.attempt,
                                         summary=summary.fields)
        self._recorder.store_call(write)

    def fence_all(self, why: str, silence: float = float("inf")) -> None:
        """Stop every running worker at once, without hooks, as a release: the node cannot prove it
        is alive (for `silence` seconds), so the controller may be giving its tasks to other nodes. Paused
        workers run nothing; a task whose disconnect policy lets it outlive the silence keeps running."""
        fenced = 0
        with self._handles.lock:
            for handle in self._handles.all():
                if handle.paused or handle.exited or handle.stop_reason == "fenced" or \
                        silence < self.fence_after(handle):
                    continue
                handle.stop_reason = "fenced"
                handle.deadlines = StopDeadlines(term_at=None, kill_at=time.monotonic() + FENCE_KILL_SECONDS)
                self._send(handle, Fence(why))
                fenced += 1
        if fenced:
            logger.warning(f"fenced {fenced} worker(s): {why}")
            self._reactor.wake()

    def fence_after(self, handle: WorkerHandle) -> float:
        """How long this node may be cut off before it fences the task's worker (`fencing.fence_after`), by the
        task's disconnect policy, else this node's default: never for `replace: false` (no other copy can start
        while this node is unreachable), later than the fence time for a long `lostAfterSeconds`."""
        policy = handle.task.disconnect
        lost_after = policy.lost_after_seconds if policy is not None else self.config.disconnect_lost_after_seconds
        replace = policy.replace if policy is not None else self.config.disconnect_replace
        return fence_after(self.config.fence_seconds, lost_after, replace)

    def _over_memory_limit(self, handle: WorkerHandle, error: str, kill_tree: Callable[[], int]) -> None:
        """Kill a worker tree over its memory limit at once (a leak leaves it no time to recover), its
        outcome recorded first: the reactor then records Failed with `error` and the retry policy applies."""
        with self._handles.lock:
            if self._handles.get(handle.task_id) is not handle or handle.exited or handle.imposed_outcome:
                return
            handle.imposed_outcome = OutcomeReport(Outcome.FAILED, error)
            handle.stop_reason = handle.stop_reason or MEMORY_STOP
            handle.deadlines = None
            killed = kill_tree()
        logger.warning(f"task {handle.task_id}: {error}; killed its {killed} process(es)")
        self._reactor.wake()

    def _attempt_lost(self, task_id: str, attempt: int) -> None:
        """The store has another owner for this attempt: stop the copy running it (not a newer one)."""
        handle = self.handle(task_id)
        if handle is not None and handle.attempt == attempt:
            self.cancel_task(task_id, "lost")

    def pause_task(self, task_id: str) -> bool:
        """Suspend the worker (SIGSTOP): it keeps its memory and state and uses no CPU until resumed."""
        with self._handles.lock:
            handle = self._handles.get(task_id)
            if handle is None or handle.stop_reason is not None or handle.process.pid is None:
                return False
            if not handle.paused:
                pause(handle.process.pid)
                handle.paused = True
            # Queued under the lock: an exit seen after this is recorded after it, never before.
            self._recorder.status(task_id, handle.attempt, TaskLifecycleStatus.Paused)
        logger.info(f"task {task_id} paused")
        return True

    def resume_task(self, task_id: str) -> bool:
        with self._handles.lock:
            handle = self._handles.get(task_id)
            if handle is None or handle.process.pid is None:
                return False
            was_paused = handle.paused
            if was_paused:  # recorded before the process runs again, so its Finished comes after
                self._recorder.status(task_id, handle.attempt, TaskLifecycleStatus.Running)
            resume(handle.process.pid)
            handle.paused = False
        if was_paused:
            logger.info(f"task {task_id} resumed")
        return was_paused

    def deliver_update(self, task_id: str, attachments: dict[str, Any], version: int) -> bool:
        with self._handles.lock:
            handle = self._handles.get(task_id)
            if handle is None:
                return False
            if len(handle.sent) >= MAX_UNANSWERED_UPDATES:
                handle.sent.pop(min(handle.sent))
            handle.sent[version] = attachments  # what it holds once it applies them (see the reactor)
            return self._send(handle, Update(version, attachments))

    def _send(self, handle: WorkerHandle, message: ToWorker) -> bool:
        try:
            handle.connection.send(message)
            return True
        except (OSError, EOFError, BrokenPipeError) as error:
            logger.warning(f"task {handle.task_id}: could not reach the worker: {error}")
            return False

    def _finished(self, task_id: str, status: str) -> None:
        if self.on_task_finished is not None:
            self.on_task_finished(task_id, status)


__all__ = ["Supervisor", "WorkerHandle"]
