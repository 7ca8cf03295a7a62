"""The reconciler's decision (a pure function), the batched reads and the bounded event loop."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from skalds.config.skald_config import SkaldConfig
from skalds.node.dead_letter import MAX_VALUE_CHARS, DeadLetters, dead_letter_payload
from skalds.node.events import EventLoop
from skalds.node.reconcile import Copy, plan
from skalds.tasks import queries
from skalds.transport.errors import StoreUnavailableError
from skalds.transport.ports import Event

pytestmark = pytest.mark.unit


def doc(task_id: str, attempt: int = 1, status: str = "Running", **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "attempt": attempt, "executor": "me", "lifecycleStatus": status, **fields}


def test_a_copy_that_matches_its_document_needs_nothing():
    result = plan({"a": Copy(1, delivered=0)}, [doc("a")], {}, {"a": 1})
    assert not result and result.summary() == "nothing"


def test_a_stored_cancel_stops_the_copy_and_asks_nothing_else_of_it():
    result = plan({"a": Copy(1, paused=True, delivered=0)},
                  [doc("a", desiredStatus="Cancelled", attachmentsVersion=3)], {}, {"a": 1})
    assert result.cancel == ["a"] and not result.pause and not result.resume and not result.update


def test_a_stored_pause_or_resume_applies_only_when_the_copy_differs():
    copies = {"p": Copy(1), "q": Copy(1, paused=True), "r": Copy(1, paused=True), "s": Copy(1)}
    held = [doc("p", desiredStatus="Paused"), doc("q", status="Paused", desiredStatus="Paused"),
            doc("r", status="Paused", desiredStatus="Running"), doc("s")]
    result = plan(copies, held, {}, {})
    assert (result.pause, result.resume) == (["p"], ["r"])


def test_a_document_without_desired_status_wants_to_run():
    assert plan({"a": Copy(1, paused=True)}, [doc("a", status="Paused")], {}, {}).resume == ["a"]


def test_newer_attachments_are_delivered_once_per_version():
    held = [doc("a", attachmentsVersion=2, appliedAttachmentsVersion=1)]
    assert plan({"a": Copy(1, delivered=1)}, held, {}, {}).update == ["a"]
    assert plan({"a": Copy(1, delivered=2)}, held, {}, {}).update == []  # sent (or rejected) already
    assert plan({"a": Copy(1)}, held, {}, {}).update == ["a"]  # nothing known here: the applied version counts
    assert plan({"a": Copy(1)}, [doc("a", attachmentsVersion=2, appliedAttachmentsVersion=2)], {}, {}).update == []


def test_an_assigned_attempt_no_event_started_is_started_once():
    held = [doc("a", status="Assigning", attempt=2)]
    assert [d["id"] for d in plan({}, held, {}, {}).start] == ["a"]
    assert [d["id"] for d in plan({}, held, {}, {"a": 1}).start] == ["a"]  # attempt 1 ran here, 2 did not
    assert plan({}, held, {}, {"a": 2}).start == []  # started here already (its status write may be queued)
    assert plan({}, [doc("b", status="Running")], {}, {}).start == []  # only Assigning tasks start


def test_a_paused_task_this_run_of_the_node_never_held_is_an_orphan():
    held = [doc("a", status="Paused", desiredStatus="Running"), doc("b", status="Paused", desiredStatus="Paused")]
    assert [d["id"] for d in plan({}, held, {}, {}).orphaned] == ["a", "b"]  # the node restarted
    assert plan({}, held, {}, {"a": 1, "b": 1}).orphaned == []  # its copy ran here: its exit is being recorded
    assert plan({"a": Copy(1, paused=True), "b": Copy(1, paused=True)}, held, {}, {}).orphaned == []


def test_a_newer_attempt_replaces_the_copy_when_startable_else_the_copy_is_stale():
    copies = {"a": Copy(1), "b": Copy(1)}
    result = plan(copies, [doc("a", attempt=2, status="Assigning"), doc("b", attempt=2)], {}, {"a": 1, "b": 1})
    assert [d["id"] for d in result.start] == ["a"] and result.lost == ["b"]


def test_copies_the_store_gives_elsewhere_are_lost():
    copies = {"gone": Copy(1), "moved": Copy(1), "mine": Copy(1), "edge": Copy(1, passive=False),
              "stopping": Copy(1, stopping=True)}
    result = plan(copies, [], {"mine": 1}, {})
    assert result.lost == ["gone", "moved"]  # an edge (active) copy, and one already stopping, are left alone


def test_a_stopping_copy_is_asked_nothing():
    result = plan({"a": Copy(1, stopping=True)}, [doc("a", desiredStatus="Cancelled", attachmentsVersion=5)],
                  {}, {"a": 1})
    assert not result


def test_the_reconcile_period_takes_the_old_ownership_setting_as_an_alias(monkeypatch):
    monkeypatch.delenv("OWNERSHIP_CHECK_PERIOD", raising=False)
    monkeypatch.delenv("RECONCILE_PERIOD", raising=False)
    assert SkaldConfig().reconcile_seconds() == 5.0
    assert SkaldConfig(ownership_check_period=2).reconcile_seconds() == 2.0
    assert SkaldConfig(ownership_check_period=2, reconcile_period=3).reconcile_seconds() == 3.0
    monkeypatch.setenv("OWNERSHIP_CHECK_PERIOD", "1.5")
    assert SkaldConfig().reconcile_seconds() == 1.5
    config = SkaldConfig()
    assert (config.max_event_task_ids, config.event_max_attempts) == (1000, 5)


class CountingStore:
    def __init__(self) -> None:
        self.finds: list[dict[str, Any]] = []

    def find(self, where: dict[str, Any], **_: Any) -> list[dict[str, Any]]:
        self.finds.append(where)
        return [{"id": task_id} for task_id in where["id"]]


def test_ids_are_read_in_batches_of_at_most_500():
    store = CountingStore()
    found = queries.documents_by_id(store, [f"t{i}" for i in range(1200)] + ["t0"])  # type: ignore[arg-type]
    assert len(found) == 1200 and [len(where["id"]) for where in store.finds] == [500, 500, 200]
    assert queries.documents_by_id(store, []) == {} and len(store.finds) == 3


class ListConsumer:
    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.committed: list[Event] = []

    def poll(self, timeout: float) -> Event | None:
        return self.events.pop(0) if self.events else None

    def commit(self, event: Event) -> None:
        self.committed.append(event)

    def close(self) -> None: ...


class FlakyHandler:
    """Fails with `error` for events whose key starts with 'bad'."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls: list[str | None] = []

    def handle(self, event: Event) -> None:
        self.calls.append(event.key)
        if (event.key or "").startswith("bad"):
            raise self.error

    def prefetch(self, events: list[Event]) -> None: ...

    def run_pending(self) -> None: ...


class Publisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def publish(self, topic: str, key: str, value: str, headers: object = None) -> None:
        self.sent.append((topic, key, value))

    def flush(self, timeout: float = 10.0) -> int:
        return 0

    def close(self) -> None: ...


def run_loop(handler: FlakyHandler, events: list[Event], attempts: int = 3) -> tuple[ListConsumer, Publisher]:
    consumer, publisher, stop = ListConsumer(events), Publisher(), threading.Event()
    loop = EventLoop(consumer, handler, stop, max_attempts=attempts,  # type: ignore[arg-type]
                     dead_letters=DeadLetters(publisher, "p.skalds.dead-letter", "me"))
    for event in loop.poll_batch():
        assert loop.handle_until_done(event)
        consumer.commit(event)
    return consumer, publisher


def test_an_event_failing_every_time_is_dead_lettered_after_its_tries_and_later_events_flow():
    handler = FlakyHandler(RuntimeError("poison"))
    events = [Event("p.task.assign", "bad\nforged", b'{"taskIds": ["x"]}'), Event("p.task.assign", "good", b"{}")]
    consumer, publisher = run_loop(handler, events)
    assert handler.calls == ["bad\nforged"] * 3 + ["good"]
    assert [e.key for e in consumer.committed] == ["bad\nforged", "good"]
    [(topic, key, value)] = publisher.sent
    payload = json.loads(value)
    assert topic == "p.skalds.dead-letter" and key == "bad\nforged"
    assert payload["topic"] == "p.task.assign" and payload["value"] == '{"taskIds": ["x"]}'
    assert payload["reason"] == "RuntimeError: poison" and payload["skaldId"] == "me" and payload["attempts"] == 3


def test_an_outage_is_retried_in_order_without_a_dead_letter():
    class HealsAfterTwo(FlakyHandler):
        def handle(self, event: Event) -> None:
            self.calls.append(event.key)
            if len(self.calls) <= 2:
                raise self.error

    handler = HealsAfterTwo(StoreUnavailableError("down"))
    consumer, publisher = run_loop(handler, [Event("p.task.assign", "k", b"{}")], attempts=2)
    assert len(handler.calls) == 3 and publisher.sent == [] and len(consumer.committed) == 1


def test_a_dead_letter_keeps_the_value_as_bounded_text():
    payload = dead_letter_payload(Event("t", None, b"\xff" + b"x" * (MAX_VALUE_CHARS + 5)), "r", "me", 5)
    assert len(payload["value"]) == MAX_VALUE_CHARS and payload["valueTruncated"] and payload["key"] is None
