"""Checkpoints (issue #15) below the node: the worker's checks, its pipe messages, the node's writer."""

from __future__ import annotations

import json
import math
import time
from multiprocessing import Pipe

import pytest
from pydantic import BaseModel

from skalds.node.checkpoint_summaries import SummaryPacer
from skalds.node.checkpoint_writer import CheckpointWriter
from skalds.node.resume import last_checkpoint
from skalds.tasks import lifecycle
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore
from skalds.worker.checkpoints import DEFAULT_MAX_BYTES, encode_checkpoint
from skalds.worker.protocol import Cancel, Checkpoint, CheckpointHandled, CheckpointRequest, ExitCode
from skalds.worker.runtime import LaunchSettings
from support.checkpoint_workers import CheckpointWorker

pytestmark = pytest.mark.unit


class Progress(BaseModel):
    frame: int
    name: str


def test_a_dict_or_a_model_is_encoded_as_compact_json():
    assert encode_checkpoint({"frame": 3, "tags": ["a"]}) == '{"frame":3,"tags":["a"]}'
    assert json.loads(encode_checkpoint(Progress(frame=7, name="cam"))) == {"frame": 7, "name": "cam"}


@pytest.mark.parametrize("state, text", [
    ([1, 2], "takes a dict or a pydantic model, not list"),
    ({"when": object()}, "not JSON-serialisable"),
    ({"x": math.nan}, "not JSON-serialisable"),
])
def test_what_cannot_be_stored_is_refused_with_its_reason(state, text):
    with pytest.raises(ValueError, match=text):
        encode_checkpoint(state)


def test_the_size_limit_counts_utf8_bytes_and_says_how_to_raise_it():
    encode_checkpoint({"s": "x" * (DEFAULT_MAX_BYTES - 20)})
    with pytest.raises(ValueError) as refused:
        encode_checkpoint({"s": "é" * 600}, max_bytes=1024)  # 600 characters, 1200 bytes
    assert "1208 bytes" in str(refused.value) and "limit of 1024 bytes" in str(refused.value)
    assert "checkpoint_max_bytes" in str(refused.value)


def test_a_worker_not_run_by_a_node_checks_and_keeps_its_save():
    worker = CheckpointWorker()
    assert worker.last_checkpoint is None
    worker.save_checkpoint(Progress(frame=1, name="x"))
    assert worker.last_checkpoint == {"frame": 1, "name": "x"}
    with pytest.raises(ValueError, match="limit of 1048576 bytes"):
        worker.save_checkpoint({"s": "x" * DEFAULT_MAX_BYTES})


def _messages(connection, until, timeout=20.0):
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        if connection.poll(0.1):
            seen.append(connection.recv())
            if until(seen):
                return seen
    raise AssertionError(f"timed out; got {seen}")


def test_a_worker_process_sends_its_saves_and_answers_a_checkpoint_request():
    parent, child = Pipe()
    worker = CheckpointWorker()
    worker.last_checkpoint = {"step": 40}  # as the node sets it: the worker goes on from there
    worker._skalds_supervise(child, LaunchSettings(supervised=True, checkpoint_max_bytes=4096),
                             {"steps": 10_000, "stepSeconds": 0.05})
    worker.start()
    try:
        saves = _messages(parent, lambda seen: sum(isinstance(m, Checkpoint) for m in seen) >= 2)
        states = [json.loads(m.state) for m in saves if isinstance(m, Checkpoint)]
        assert [s["step"] for s in states[:2]] == [41, 42] and states[0]["by"] == "main"
        first = next(m for m in saves if isinstance(m, Checkpoint))
        assert first.size_bytes == len(first.state.encode()) and abs(first.saved_at / 1000 - time.time()) < 10
        parent.send(CheckpointRequest("drain"))
        answer = _messages(parent, lambda seen: isinstance(seen[-1], CheckpointHandled))
        handler_saves = [json.loads(m.state) for m in answer if isinstance(m, Checkpoint)
                         and json.loads(m.state)["by"] == "handler"]
        assert len(handler_saves) == 1 and answer[-1].error is None  # its save came before the answer
        parent.send(Cancel("test"))
        worker.join(20)
        assert worker.exitcode == ExitCode.CANCELLED
    finally:
        if worker.is_alive():
            worker.kill()


def _store(tmp_path, attempt=1):
    store = SqliteTaskStore(SqliteDatabase(tmp_path / "s.db"))
    store.insert({"id": "t", "className": "W", "lifecycleStatus": "Running", "executor": "n", "attempt": attempt})
    return store


def test_the_writer_keeps_only_the_latest_save_of_a_task_while_it_cannot_write(tmp_path):
    store = _store(tmp_path)
    summaries = []
    writer = CheckpointWriter(store, "n", summaries.append)
    for step in range(50):  # before its thread runs: as saves that come faster than it writes
        writer.offer("t", 1, json.dumps({"step": step}), saved_at=step)
    writer.start()
    assert writer.wait_written(["t"], time.monotonic() + 10)
    assert store.get_checkpoint("t")["state"] == {"step": 49}
    assert (writer.written, writer.coalesced) == (1, 49)
    assert [(s.task_id, s.attempt, s.fields["savedAt"]) for s in summaries] == [("t", 1, 49)]
    writer.close()


def test_the_writer_drops_a_save_of_an_attempt_the_node_no_longer_holds(tmp_path):
    store = _store(tmp_path, attempt=2)
    writer = CheckpointWriter(store, "n", lambda summary: None)
    writer.start()
    writer.offer("t", 2, '{"step":2}', saved_at=2)
    assert writer.wait_written(["t"], time.monotonic() + 10)
    writer.offer("t", 1, '{"step":1}', saved_at=3)  # the copy of attempt 1, still saving
    assert writer.wait_written(["t"], time.monotonic() + 10)
    assert (writer.written, writer.refused) == (2 - 1, 1)
    assert store.get_checkpoint("t")["state"] == {"step": 2}
    writer.close()


def test_summaries_follow_the_saves_at_a_bounded_pace_and_at_once_before_a_release(tmp_path):
    store, summaries = _store(tmp_path), []
    writer = CheckpointWriter(store, "n", summaries.append, pacer=SummaryPacer(every=0.5))
    writer.start()
    started = time.monotonic()
    for step in range(1, 31):  # 30 saves over about 1.5 s
        writer.offer("t", 1, json.dumps({"step": step}), saved_at=step)
        time.sleep(0.05)
    assert writer.wait_written(["t"], time.monotonic() + 10)  # a release: the held summary goes now
    elapsed = time.monotonic() - started
    assert summaries[0].fields["savedAt"] == 1  # the first of the attempt at once
    assert summaries[-1].fields["savedAt"] == 30  # the latest, not left behind
    assert 2 <= len(summaries) <= elapsed / 0.5 + 2, [s.fields for s in summaries]
    writer.offer("t", 2, '{"step":31}', saved_at=31)  # a new attempt: its first summary goes at once
    assert writer.wait_written(["t"], time.monotonic() + 10)
    writer.close()


def test_a_held_summary_goes_out_when_its_time_comes_without_another_save(tmp_path):
    store, summaries = _store(tmp_path), []
    writer = CheckpointWriter(store, "n", summaries.append, pacer=SummaryPacer(every=0.3))
    writer.start()
    writer.offer("t", 1, '{"step":1}', saved_at=1)
    assert wait_for_count(summaries, 1)
    writer.offer("t", 1, '{"step":2}', saved_at=2)
    time.sleep(0.1)
    assert len(summaries) == 1  # held: within the pace
    assert wait_for_count(summaries, 2, timeout=3.0)
    assert [s.fields["savedAt"] for s in summaries] == [1, 2]
    writer.close()


def wait_for_count(items, count, timeout=3.0):
    deadline = time.monotonic() + timeout
    while len(items) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(items) >= count


def test_a_later_attempt_finds_a_checkpoint_whose_summary_was_never_written(tmp_path):
    store = _store(tmp_path)
    assert store.save_checkpoint("t", executor="n", attempt=1, state='{"step":9}', saved_at=9)
    # the node died here: the task document never got its `checkpoint` summary
    first = store.get("t")
    assert "checkpoint" not in first and last_checkpoint(store, first) is None  # a first attempt: no query
    assert lifecycle.mark_lost(store, first, reason="node lost").document is not None
    assert lifecycle.assign(store, store.get("t"), "m").document is not None
    assert last_checkpoint(store, store.get("t"))["state"] == {"step": 9}
