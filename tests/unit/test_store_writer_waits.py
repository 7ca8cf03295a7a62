"""The store writer, not the reactor, holds a Running back until the write it follows has landed."""

import threading
import time

import pytest

from skalds.model.task import TaskLifecycleStatus
from skalds.node.store_writer import StoreWriter
from skalds.tasks.status_change import StatusChange

pytestmark = pytest.mark.unit


class RecordingWriter(StoreWriter):
    def __init__(self, after_wait_seconds: float) -> None:
        super().__init__(store=None, on_lost=lambda *_: None, after_wait_seconds=after_wait_seconds)  # type: ignore[arg-type]
        self.applied: list[tuple[float, list[str]]] = []

    def _apply(self, batch):  # type: ignore[no-untyped-def]
        self.applied.append((time.monotonic(), [item.change.task_id for item in batch]))


def running(task_id: str) -> StatusChange:
    return StatusChange.of(task_id, TaskLifecycleStatus.Running, executor="n", attempt=1)


def test_a_status_is_written_once_the_write_it_follows_is_done():
    writer = RecordingWriter(after_wait_seconds=5.0)
    writer.start()
    fresh_keys = threading.Event()
    queued = time.monotonic()
    writer.status(running("t1"), stop_if_lost=True, after=fresh_keys)  # returns at once
    assert time.monotonic() - queued < 0.1
    time.sleep(0.2)
    assert writer.applied == []
    fresh_keys.set()
    assert writer.drain(5)
    assert [ids for _, ids in writer.applied] == [["t1"]]
    writer.close(1)


def test_a_status_waits_no_longer_than_its_limit():
    writer = RecordingWriter(after_wait_seconds=0.2)
    writer.start()
    queued = time.monotonic()
    writer.status(running("t1"), after=threading.Event())  # never set: the live-state write failed to report
    assert writer.drain(5)
    waited = writer.applied[0][0] - queued
    assert 0.15 <= waited < 2.0
    writer.close(1)


def test_a_finish_queued_while_its_running_is_held_back_joins_it():
    writer = RecordingWriter(after_wait_seconds=5.0)
    writer.linger_seconds = 0.02
    writer.start()
    fresh_keys = threading.Event()
    writer.status(running("t1"), after=fresh_keys)
    time.sleep(0.1)  # longer than the linger: the Running is held by its prerequisite, not by the linger
    writer.status(StatusChange.of("t1", TaskLifecycleStatus.Finished, executor="n", attempt=1))
    fresh_keys.set()
    assert writer.drain(5)
    assert [ids for _, ids in writer.applied] == [["t1", "t1"]]  # one batch: merged into one write
    writer.close(1)
