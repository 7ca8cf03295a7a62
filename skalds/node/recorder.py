"""The node's writes about its tasks, queued off the threads that decide them.

Statuses and other task-store writes go through the `StoreWriter` (in order, batched, retried);
live-state keys through the `LiveWriter` (one pipeline per batch). Neither ever blocks the
caller on a service, which is what lets the reactor thread react to every worker at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from skalds.config.skald_config import SkaldConfig
from skalds.model._time import now_ms
from skalds.model.task import HeartbeatCode, TaskLifecycleStatus
from skalds.node.fencing import Liveness
from skalds.node.live_writer import Fill, LiveWriter
from skalds.node.store_writer import StoreWriter
from skalds.tasks.status_change import StatusChange
from skalds.transport.node_registry import write_disconnect_default, write_fence
from skalds.transport.ports import LiveBatch, LiveState, TaskStore
from skalds.transport.wire_names import RedisKey

STATUS_LINGER_SECONDS = 0.02  # a status write waits this long for others to share its query
FRESH_KEYS_WAIT_SECONDS = 1.0  # Running waits at most this long for the task's fresh heartbeat to be written


class Recorder:
    def __init__(self, config: SkaldConfig, store: TaskStore | None, live: LiveState | None,
                 record_in_store: bool, on_lost: Callable[[str, int], None],
                 liveness: Liveness | None = None) -> None:
        self.config = config
        self.liveness = liveness  # a fencing node: its heartbeats renew it
        self.records = store is not None and record_in_store  # single_process records nothing
        self.store = store if self.records else None
        self._writer = StoreWriter(store, on_lost, linger_seconds=STATUS_LINGER_SECONDS,
                                   after_wait_seconds=FRESH_KEYS_WAIT_SECONDS) \
            if store is not None and self.records else None
        self._live_writer = LiveWriter(live) if live is not None else None

    def start(self) -> None:
        if self._writer is not None:
            self._writer.start()
        if self._live_writer is not None:
            self._live_writer.start()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close(timeout=10)
        if self._live_writer is not None:
            self._live_writer.close()  # later writes (deregistration) go out inline

    # --- the task store ------------------------------------------------------------------------
    def status(self, task_id: str, attempt: int, status: TaskLifecycleStatus, *, error: str | None = None,
               exit_code: int | None = None, after: threading.Event | None = None, reason: str | None = None) -> None:
        """Queue a status of this node's attempt; a Running that finds another owner stops the copy."""
        if self._writer is None:
            return
        change = StatusChange.of(task_id, status, executor=self.config.skald_id, attempt=attempt,
                                 error=error, exit_code=exit_code, reason=reason)
        self._writer.status(change, stop_if_lost=status == TaskLifecycleStatus.Running, after=after)

    def store_call(self, write: Callable[[TaskStore], None]) -> None:
        """Any other store write, in order with the status writes (queued while the store is unreachable)."""
        if self._writer is not None and self.store is not None:
            store = self.store
            self._writer.call(lambda: write(store))

    # --- live state ----------------------------------------------------------------------------
    @property
    def writes_live(self) -> bool:
        return self._live_writer is not None

    def live(self, fill: Fill, wait: float | None = None) -> threading.Event | None:
        """Queue live-state writes; the event is set once they were applied (or failed)."""
        if self._live_writer is None:
            return None
        return self._live_writer.write(fill, wait=wait)

    def heartbeat(self, fill: Fill, wait: float | None = None) -> threading.Event | None:
        """The node's heartbeat write: once it reached live state it renews the node's liveness
        (see `fencing`), and it carries the node's fence time in its registration."""
        liveness = self.liveness
        if self._live_writer is None or liveness is None:
            return self.live(fill, wait=wait)
        skald_id, fence = self.config.skald_id, liveness.fence_seconds

        lost_after, replace = self.config.disconnect_lost_after_seconds, self.config.disconnect_replace

        def with_fence(batch: LiveBatch) -> None:
            fill(batch)
            write_fence(batch, skald_id, fence)
            write_disconnect_default(batch, skald_id, lost_after, replace)
        return self._live_writer.write(with_fence, wait=wait, applied=liveness.renewed)

    def fresh_task_keys(self, task_id: str) -> threading.Event | None:
        """A new run starts clean: no stale terminal code or exception from an earlier run."""
        ttl = self.config.heartbeat_period + 5

        def fill(batch: LiveBatch) -> None:
            batch.set(RedisKey.task_heartbeat(task_id), "0", ttl)
            batch.set(RedisKey.task_heartbeat_at(task_id), str(now_ms()), ttl)
            batch.set(RedisKey.task_exception(task_id), "")
            batch.delete(RedisKey.task_progress(task_id))  # not an earlier attempt's progress
        return self.live(fill)

    def terminal_task_keys(self, task_id: str, code: HeartbeatCode, exception_text: str) -> None:
        key_ttl = self.config.redis_key_ttl

        def fill(batch: LiveBatch) -> None:
            batch.set(RedisKey.task_heartbeat(task_id), str(int(code)), key_ttl)
            batch.delete(RedisKey.task_heartbeat_at(task_id))
            if code == HeartbeatCode.FAILED:
                batch.set(RedisKey.task_exception(task_id), exception_text, key_ttl)
        self.live(fill)

    def clear_task_keys(self, task_id: str) -> None:
        """A released task's heartbeat goes: its next owner writes a fresh one."""
        def fill(batch: LiveBatch) -> None:
            batch.delete(RedisKey.task_heartbeat(task_id))
            batch.delete(RedisKey.task_heartbeat_at(task_id))
        self.live(fill)
