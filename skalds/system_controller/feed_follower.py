"""Follows the change feed: keeps the live view current, streams the changes to SSE, wakes the dispatcher.

The controller reads its starting state once (`rebuild`, after its consumer is positioned, so nothing
published meanwhile is missed), then only what messages name: each batch of messages becomes one
re-read by key of the tasks they name. A gap — the event bus away (the consumer reported an outage), a
writer that could not publish (`skalds:feed-gap` changed), a malformed message — costs one bounded
re-read of what is live, never a periodic scan.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from skalds.model._time import now_ms
from skalds.model.task import HistoryType, TaskLifecycleStatus
from skalds.system_controller import ended_counts
from skalds.system_controller.hub import EventHub
from skalds.system_controller.listeners import DispatchListener
from skalds.system_controller.live_view import LiveView
from skalds.system_controller.policy.feed import Signal, ended_tasks, signal_of
from skalds.system_controller.policy.shown_state import entry_state
from skalds.tasks import change_feed, live_reads, queries
from skalds.tasks.change_feed import ChangeBatch
from skalds.transport.ports import EventConsumer, LiveState, ServiceUnavailableError, TaskStore
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger

S = TaskLifecycleStatus
H = HistoryType
HISTORY_TO_EVENT = {kind.value: name for kind, name in {
    H.STATUS: "task_status", H.CREATED: "task_created", H.ASSIGNED: "task_assigned",
    H.ATTACHMENTS_UPDATED: "task_attachments", H.ATTACHMENTS_APPLIED: "task_attachments",
    H.ATTACHMENTS_REJECTED: "task_attachments", H.LOST: "task_lost", H.RELEASED: "task_status",
    H.RETRY: "task_status", H.DESIRED: "task_status", H.SIGNAL: "task_signal"}.items()}
COALESCE_SECONDS = 0.02  # messages arriving together become one re-read
MAX_BATCH_IDS = 2000  # tasks re-read per round; more pending than `MAX_PENDING` means a rebuild instead
MAX_PENDING = 20000
GAP_CHECK_SECONDS = 2.0
QUIET_AFTER_OUTAGE = 2.0  # the consumer's outage is over when it reported none for this long
RECOUNT_SECONDS = 30.0
MIN_REBUILD_GAP = 10.0  # a flood of malformed messages costs one re-read per this many seconds, not one each

OpenConsumer = Callable[[Callable[[list[str]], None]], EventConsumer]
Observer = Callable[[list[dict[str, Any]]], None]


class FeedFollower:
    def __init__(self, store: TaskStore, view: LiveView, hub: EventHub, listener: DispatchListener,
                 open_consumer: OpenConsumer, live: LiveState, stop: threading.Event, *,
                 observers: Iterable[Observer] = (), on_rebuild: Callable[[], None] = lambda: None,
                 audit_seconds: float = 30.0) -> None:
        self.store, self.view, self.hub, self.listener = store, view, hub, listener
        self.open_consumer, self.stop = open_consumer, stop
        self.observers, self.on_rebuild = list(observers), on_rebuild
        self.gaps = GapWatch(live)
        self._pending: dict[str, list[dict[str, Any]]] = {}  # ids to re-read, with the entries that named them
        self._lock = threading.Lock()
        self._rebuild_wanted = True
        self._last_rebuild = 0.0
        self.audit_seconds = audit_seconds  # how often the view is compared with the store's live tasks (0: never)
        self._audited_at = time.monotonic()
        self.rebuilds = 0

    # --- asked by other parts -------------------------------------------------------------------------
    def refresh(self, task_ids: Iterable[str]) -> None:
        """Re-read these tasks soon (a refused compare-and-set, or a node that reports what the view lacks)."""
        with self._lock:
            for task_id in task_ids:
                self._pending.setdefault(task_id, [])
            if len(self._pending) > MAX_PENDING:
                self._pending.clear()
                self._rebuild_wanted = True

    # --- the thread -----------------------------------------------------------------------------------
    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._follow()
            except Exception as error:  # the store or the bus is away: start over once it answers
                logger.warning(f"change feed: {type(error).__name__}: {error}; following again shortly")
                self._rebuild_wanted = True
                self.stop.wait(1.0)

    def _follow(self) -> None:
        assigned = threading.Event()
        consumer = self.open_consumer(lambda _topics: assigned.set())
        try:
            batches: list[ChangeBatch] = []
            while not assigned.is_set() and not self.stop.is_set():
                batches += self._poll(consumer, 0.2)  # Kafka assigns inside poll
            outages, quiet_since = consumer.outages, time.monotonic()
            while not self.stop.is_set():
                now = time.monotonic()
                if consumer.outages != outages:
                    outages, quiet_since = consumer.outages, now
                    self._rebuild_wanted = True
                try:
                    if self._rebuild_wanted and now - quiet_since >= QUIET_AFTER_OUTAGE * (outages > 0) \
                            and (self.rebuilds == 0 or now - self._last_rebuild >= MIN_REBUILD_GAP):
                        self._rebuild()
                    if batches or self._pending:
                        self._apply(batches)
                    self._housekeeping(now)
                except ServiceUnavailableError as error:  # the store: what is pending stays pending
                    logger.warning(f"change feed: {error}; trying again")
                    self.stop.wait(0.5)
                batches = self._collect(consumer)
        finally:
            consumer.close()

    def _poll(self, consumer: EventConsumer, timeout: float) -> list[ChangeBatch]:
        event = consumer.poll(timeout)
        if event is None:
            return []
        batch = change_feed.decode(event.value)
        if batch is None:
            if not self._rebuild_wanted:  # said once per re-read, not once per message
                logger.warning(f"change feed: a message that is not a change batch ({len(event.value or b'')} "
                               "bytes); re-reading what is live")
            self._rebuild_wanted = True
            return []
        return [batch]

    def _collect(self, consumer: EventConsumer) -> list[ChangeBatch]:
        """The next messages: waits up to 0.2 s for the first, then `COALESCE_SECONDS` for more."""
        batches = self._poll(consumer, 0.2)
        if not batches:
            return []
        deadline = time.monotonic() + COALESCE_SECONDS
        while time.monotonic() < deadline and sum(len(batch.task_ids()) for batch in batches) < MAX_BATCH_IDS:
            batches += self._poll(consumer, max(0.0, deadline - time.monotonic()))
        return batches

    # --- what it does ---------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        started = time.perf_counter()
        with self._lock:
            self._pending.clear()  # the rebuild reads them all
        counted_at = now_ms()  # the totals first, then the live tasks: see LiveView._apply_one
        totals = queries.totals(self.store, ended_counts.FIELDS, only_over=True)
        self.view.rebuild(live_reads.live_documents(self.store), totals, counted_at)
        self._rebuild_wanted = False
        self._last_rebuild = time.monotonic()
        self.rebuilds += 1
        self.on_rebuild()
        logger.info(f"live view read from the store: {len(self.view.tasks())} live task(s) in "
                    f"{(time.perf_counter() - started) * 1000:.0f} ms")
        self.listener.work_waiting()

    def _apply(self, batches: list[ChangeBatch]) -> None:
        """Re-read the tasks these messages (and earlier refreshes) name, then tell the view and the listeners."""
        entries = [entry for batch in batches for entry in batch.entries]
        deleted = {task_id: held for batch in batches for task_id, held in batch.deleted.items()}
        with self._lock:
            for entry in entries:
                self._pending.setdefault(entry["taskId"], []).append(entry)
            for task_id in deleted:
                self._pending.setdefault(task_id, [])
            ids = list(self._pending)[:MAX_BATCH_IDS]
        found = live_reads.view_documents(self.store, ids)  # may raise: the ids stay pending
        with self._lock:
            taken = {task_id: self._pending.pop(task_id, []) for task_id in ids}
        named = [entry for task_entries in taken.values() for entry in task_entries]
        self.view.apply({task_id: found.get(task_id) for task_id in ids}, named, deleted)
        self._announce(entries)
        if any(not task_entries and task_id not in deleted for task_id, task_entries in taken.items()):
            self.listener.work_waiting()  # re-read without a message (the audit, a refusal): it may be waiting

    def _announce(self, entries: list[dict[str, Any]]) -> None:
        """To SSE clients, the dispatcher and the observers (the dashboard's timeline)."""
        ended = ended_tasks(entries)
        if ended:
            self.listener.tasks_ended(ended)
        for entry in entries:
            name = HISTORY_TO_EVENT.get(entry.get("type", ""))
            if name is None:
                continue
            data = {key: value for key, value in entry.items() if key not in ("_id", "taskId")}
            if "status" in entry:
                data["lifecycleStatus"] = entry["status"]
            elif name == "task_status":  # a stored request: 0.3.8's clients read the status it leaves the task in
                status = self.view.status_of(entry["taskId"])
                if status is None:  # not a live task any more: its own status message says what it is
                    continue
                data["lifecycleStatus"] = status
            state = entry_state(entry)
            if state is not None:
                data["state"] = state  # Cancelling / Pausing from a stored request, else the recorded status
            self.hub.publish("tasks", name, entry["taskId"], data)
            _signal(self.listener, signal_of(entry))
            if entry.get("error") and entry.get("status") == S.Failed.value:
                self.hub.publish("tasks", "task_exception", entry["taskId"],
                                 {"exception": entry["error"], "lifecycleStatus": S.Failed.value})
        for observer in self.observers:
            observer(entries)

    def _audit(self) -> None:
        """The anti-entropy pass: the store's live tasks (a few fields, the two indexed reads of a rebuild) against
        the view; a task whose status or last change differs, or that only one side holds, is re-read. A change
        whose message never came (lost on a broker restart, or written by a program that publishes none)
        reaches the view here, within `audit_seconds`, whatever the feed did."""
        stored = {document["id"]: (document.get("lifecycleStatus"), document.get("updateDateTime"))
                  for document in live_reads.live_documents(self.store, live_reads.AUDIT_FIELDS)}
        held = {document["id"]: (document.get("lifecycleStatus"), document.get("updateDateTime"))
                for document in self.view.tasks()}
        differ = [task_id for task_id in stored.keys() | held.keys() if stored.get(task_id) != held.get(task_id)]
        if differ:
            logger.info(f"live view: {len(differ)} task(s) differ from the store (e.g. {sorted(differ)[:3]}); "
                        "re-reading them")
            self.refresh(differ)

    def _housekeeping(self, now: float) -> None:
        """A writer's failed publish (the gap key), counts the view could not keep, and the periodic audit."""
        if self.audit_seconds > 0 and now - self._audited_at >= self.audit_seconds:
            self._audited_at = now
            self._audit()
        if self.gaps.new_gap(now):
            logger.warning("change feed: a writer could not publish a change; re-reading what is live")
            self._rebuild_wanted = True
        if self.view.counts_stale and now - self._last_rebuild >= RECOUNT_SECONDS:
            self._rebuild()  # totals and live tasks read together, in that order, as at the start


class GapWatch:
    """Looks at `skalds:feed-gap` every GAP_CHECK_SECONDS: a new stamp means a writer's change went unpublished."""

    def __init__(self, live: LiveState) -> None:
        self.live = live
        self._seen: str | None = None
        self._looked = False  # the first look only learns the current stamp
        self._next = 0.0

    def new_gap(self, now: float) -> bool:
        if now < self._next:
            return False
        self._next = now + GAP_CHECK_SECONDS
        try:
            stamp = self.live.get(RedisKey.FEED_GAP)
        except Exception:  # live state away: the monitor says so; look again later
            return False
        new = self._looked and stamp != self._seen
        self._seen, self._looked = stamp, True
        return new


def _signal(listener: DispatchListener, signal: Signal | None) -> None:
    if signal is Signal.WORK_WAITING:
        listener.work_waiting()
    elif signal is Signal.TASK_FAILED:
        listener.task_failed()
    elif signal is Signal.CAPACITY_FREED:
        listener.capacity_freed()
