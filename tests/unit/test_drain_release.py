"""A drain's release on the node: waiting for workers to checkpoint never holds up the events thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from skalds.model.event import TaskEvent
from skalds.node.release import DRAIN, Releases
from skalds.transport.ports import Event
from skalds.transport.wire_names import KafkaTopic

pytestmark = pytest.mark.unit


@dataclass
class Copy:
    attempt: int


class SlowToCheckpoint:
    """The part of a Supervisor that releases use; its workers take until `answer` is set to checkpoint."""

    def __init__(self, copies: dict[str, int]) -> None:
        self.copies = {task_id: Copy(attempt) for task_id, attempt in copies.items()}
        self.answer = threading.Event()
        self.released: list[list[str]] = []
        self.cancelled: list[tuple[str, str]] = []

    def handle(self, task_id: str) -> Copy | None:
        return self.copies.get(task_id)

    def release_tasks(self, task_ids: list[str], reason: str) -> list[str]:
        assert reason == DRAIN
        self.answer.wait(10)
        self.released.append(sorted(task_ids))
        return task_ids

    def cancel_task(self, task_id: str, reason: str) -> bool:
        self.cancelled.append((task_id, reason))
        return False


def _release(task_id: str, attempt: int, title: str | None = None) -> Event:
    payload = TaskEvent(taskIds=[task_id], attempt=attempt, recipient="n", title=title)
    return Event(topic="task.release", key=task_id, value=payload.model_dump_json(by_alias=True).encode())


def _releases(supervisor: SlowToCheckpoint) -> Releases:
    return Releases("n", supervisor, None, lambda event: TaskEvent.model_validate_json(event.value), {})


def test_a_release_returns_at_once_while_its_worker_checkpoints():
    supervisor = SlowToCheckpoint({"a": 1, "b": 2, "c": 1})
    releases = _releases(supervisor)
    started = time.monotonic()
    releases.handle(_release("a", 1))
    time.sleep(0.2)  # the releaser now waits on a's checkpoint
    releases.handle(_release("b", 2))
    releases.handle(_release("c", 1))
    releases.handle(_release("c", 1))  # a duplicate is queued once
    assert time.monotonic() - started < 1.0 and supervisor.released == []
    supervisor.answer.set()
    deadline = time.monotonic() + 5
    while len(supervisor.released) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert supervisor.released == [["a"], ["b", "c"]]  # those that came meanwhile checkpoint together


def test_a_copy_of_another_attempt_is_not_released_and_a_forced_release_stops_at_once():
    supervisor = SlowToCheckpoint({"a": 3})
    supervisor.answer.set()
    releases = _releases(supervisor)
    releases.handle(_release("a", 2))  # an older attempt: ignored
    releases.handle(_release("a", 3, title=KafkaTopic.RELEASE_NOW))
    time.sleep(0.2)
    assert supervisor.released == [] and supervisor.cancelled == [("a", DRAIN)]
