"""The node's queued live-state writer, on Redis and on the embedded file."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from skalds.node.live_writer import LiveWriter
from skalds.transport.ports import LiveBatch, LiveState
from support.families import Family

pytestmark = pytest.mark.integration


@pytest.fixture
def live(family: Family) -> LiveState:
    return family.live()


@pytest.fixture
def writer(live: LiveState) -> Iterator[LiveWriter]:
    writer = LiveWriter(live)
    writer.start()
    yield writer
    writer.close()


def test_writes_are_applied_in_the_order_they_were_queued(live: LiveState, writer: LiveWriter) -> None:
    for value in range(200):  # a burst: many fills per pipeline, the last one wins
        writer.write(lambda batch, value=value: batch.set("task:w:heartbeat", str(value), 60))
    writer.write(lambda batch: batch.set("task:w:heartbeat", "200", 60), wait=5)
    assert live.get("task:w:heartbeat") == "200"


def test_a_waited_write_is_visible_when_write_returns(live: LiveState, writer: LiveWriter) -> None:
    gate = threading.Event()
    writer.write(lambda batch: gate.wait(0.3))  # keeps the writer busy for a moment
    writer.write(lambda batch: batch.set("task:v:heartbeat", "0", 60), wait=5)
    assert live.get("task:v:heartbeat") == "0"


def test_close_applies_what_is_queued_and_later_writes_go_out_inline(live: LiveState) -> None:
    writer = LiveWriter(live)
    writer.start()
    for index in range(50):
        writer.write(lambda batch, index=index: batch.set(f"task:c{index}:heartbeat", "1", 60))
    writer.close()
    assert all(live.get(f"task:c{index}:heartbeat") == "1" for index in range(50))
    writer.write(lambda batch: batch.set("task:after:heartbeat", "2", 60))
    assert live.get("task:after:heartbeat") == "2"


def test_a_failing_fill_is_logged_and_the_writer_keeps_going(live: LiveState, writer: LiveWriter) -> None:
    def broken(batch: LiveBatch) -> None:
        raise RuntimeError("bad fill")

    writer.write(broken, wait=5)
    writer.write(lambda batch: batch.set("task:ok:heartbeat", "3", 60), wait=5)
    assert live.get("task:ok:heartbeat") == "3"
