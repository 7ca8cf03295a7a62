"""Cancel that always lands, on a real node with real services and real worker processes.

A worker that never polls `is_cancel_requested()` (one `time.sleep`) is interrupted at once; a
cooperative loop ends by itself within its grace; one that swallows the interrupt and ignores SIGTERM is
SIGKILLed, and its history shows both escalations with their times."""

import time

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.cluster import read_records, wait_for
from support.processes import alive
from support.workers import SleepModel

pytestmark = pytest.mark.integration


def start(nodes, cluster, task_id, class_name, records, seconds=60.0, **overrides):
    node = nodes.start(**overrides)
    cluster.create(task_id, class_name, SleepModel(seconds=seconds, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, task_id)
    cluster.wait_status(task_id, "Running")
    wait_for(lambda: any(r["event"] == "main" for r in read_records(records)), 10, "main hook")
    return node, next(r["pid"] for r in read_records(records) if r["event"] == "main")


def signal_entries(cluster, task_id):
    return [entry for entry in cluster.history(task_id) if entry["type"] == "signal"]


def cancel_and_time(cluster, task_id, pid, timeout=15.0):
    """Seconds from the cancel event to the worker's process gone."""
    started = time.monotonic()
    cluster.send_event(KafkaTopic.TASK_CANCEL, task_id)
    wait_for(lambda: not alive(pid), timeout, f"worker {pid} to exit")
    return time.monotonic() - started


def test_a_sleeping_worker_that_never_polls_is_interrupted_at_once(nodes, cluster, tmp_path):
    records = str(tmp_path / "r.jsonl")
    _node, pid = start(nodes, cluster, "t-nap", "NapWorker", records, CANCEL_REQUEST_TIMEOUT="2")
    elapsed = cancel_and_time(cluster, "t-nap", pid)
    assert elapsed < 1.0, f"the process took {elapsed:.2f}s to go (SIGTERM is due after 2 s, the default)"
    document = cluster.wait_status("t-nap", "Cancelled", timeout=10)
    assert document["exitCode"] == 143
    events = [r["event"] for r in read_records(records)]
    assert events[-1] == "release" and "main_end" not in events and "after" not in events
    assert not any(entry["type"] == "signal" for entry in cluster.history("t-nap"))  # no escalation was needed


def test_a_cooperative_worker_ends_by_itself_within_its_grace(nodes, cluster, tmp_path):
    records = str(tmp_path / "r.jsonl")
    _node, pid = start(nodes, cluster, "t-poll", "PollingWorker", records, CANCEL_REQUEST_TIMEOUT="2")
    elapsed = cancel_and_time(cluster, "t-poll", pid)
    assert elapsed < 1.0, elapsed
    cluster.wait_status("t-poll", "Cancelled", timeout=10)
    events = read_records(records)
    ended = [r for r in events if r["event"] == "main_end"]
    assert ended and ended[0]["cancelled"] is True, "the loop saw the flag and ended by itself, not interrupted"
    assert events[-1]["event"] == "release"


def test_a_worker_ignoring_interrupt_and_sigterm_is_killed_and_the_history_shows_it(nodes, cluster, tmp_path):
    records = str(tmp_path / "r.jsonl")
    _node, pid = start(nodes, cluster, "t-deaf", "StubbornWorker", records)
    cancelled_ms = time.time() * 1000
    cluster.send_event(KafkaTopic.TASK_CANCEL, "t-deaf")
    document = cluster.wait_status("t-deaf", "Cancelled", timeout=15)
    assert document["exitCode"] == -9 and not alive(pid)
    assert any(r["event"] == "swallowed" for r in read_records(records)), "the interrupt did reach the main thread"
    wait_for(lambda: len(signal_entries(cluster, "t-deaf")) == 2, 5, "two signal entries")
    signals = signal_entries(cluster, "t-deaf")
    assert [entry["signal"] for entry in signals] == ["SIGTERM", "SIGKILL"]
    term, kill = (entry["at"] for entry in signals)
    assert cancelled_ms < term < kill and 1500 < kill - term < 2500  # CANCEL_GRACE_SECONDS=2 in the tests
    assert all(entry["attempt"] == 1 and entry["executor"] for entry in signals)
