"""Self-fencing without a node: the worker's watch on its supervisor, the node's liveness, the timings."""

import os
import signal
import time
from multiprocessing import Pipe

import pytest

from skalds.node.fencing import Liveness, keepalive_period, old_copies_gone_in
from skalds.worker.protocol import Cancel, ExitCode, KeepAlive, Running, Started
from skalds.worker.runtime import LaunchSettings
from skalds.worker.watchdog import STALL_SECONDS, SupervisorWatch
from support.cluster import read_records
from support.workers import SleepWorker

pytestmark = pytest.mark.unit

FENCE = 1.0


def supervised(tmp_path, fence=FENCE):
    """A SleepWorker under a stand-in supervisor (this test): its end of the pipe, once main runs."""
    path = str(tmp_path / "records.jsonl")
    ours, theirs = Pipe()
    worker = SleepWorker()
    worker._skalds_supervise(theirs, LaunchSettings(supervised=True, fence_seconds=fence),
                             {"seconds": 60, "recordTo": path})
    worker.start()
    theirs.close()
    seen = []
    while not any(isinstance(message, Running) for message in seen):
        assert ours.poll(20), f"the worker did not start: {seen}"
        seen.append(ours.recv())
    assert isinstance(seen[0], Started)
    return worker, ours, path


def test_a_worker_whose_supervisor_falls_silent_fences_itself_within_the_fence_time(tmp_path):
    worker, _ours, path = supervised(tmp_path)
    silent_since = time.monotonic()
    worker.join(10)
    assert worker.exitcode == ExitCode.FENCED
    assert FENCE - 0.3 < time.monotonic() - silent_since < FENCE + 1.0
    assert "release" not in [record["event"] for record in read_records(path)]  # no hook that could hang


def keep_alive_then_cancel(worker, ours, seconds):
    """Send keep-alives for `seconds`: the worker must still run; then cancel it."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        ours.send(KeepAlive())
        time.sleep(FENCE / 4)
    assert worker.is_alive()
    ours.send(Cancel("test"))
    worker.join(10)
    assert worker.exitcode == ExitCode.CANCELLED


def test_keepalives_keep_it_running_and_it_still_obeys_a_cancel(tmp_path):
    worker, ours, path = supervised(tmp_path)
    keep_alive_then_cancel(worker, ours, 3 * FENCE)
    assert [record["event"] for record in read_records(path)][-1] == "release"


def test_a_closed_pipe_fences_it_at_once(tmp_path):
    worker, ours, _path = supervised(tmp_path, fence=30.0)
    closed_at = time.monotonic()
    ours.close()
    worker.join(10)
    assert worker.exitcode == ExitCode.FENCED
    assert time.monotonic() - closed_at < 1.0


def test_a_paused_worker_is_not_fenced_when_it_resumes(tmp_path):
    worker, ours, _path = supervised(tmp_path)
    os.kill(worker.pid, signal.SIGSTOP)  # the node pauses it; keep-alives are not sent meanwhile
    time.sleep(3 * FENCE)
    os.kill(worker.pid, signal.SIGCONT)
    keep_alive_then_cancel(worker, ours, 2 * FENCE)


# --- the timings, without processes -----------------------------------------------------------
def test_the_watch_fences_after_the_fence_time_of_silence_only():
    watch = SupervisorWatch(4.0, now=0.0)
    now = 0.0
    while now < 4.0:
        now += 0.25
        assert not watch.overdue(now)
        if now == 2.0:
            watch.heard(now)
    while not watch.overdue(now):
        now += 0.25
    assert now == pytest.approx(6.25)


def test_a_stall_of_the_worker_itself_starts_a_fresh_window():
    watch = SupervisorWatch(4.0, now=0.0)
    assert not watch.overdue(0.25)
    assert not watch.overdue(0.25 + STALL_SECONDS + 10)  # paused for 11 s: not the supervisor's silence
    assert not watch.overdue(10.25 + STALL_SECONDS)


def test_no_silence_rule_without_a_fence_time():
    watch = SupervisorWatch(0.0, now=0.0)
    assert watch.check_seconds is None and not watch.overdue(1000.0)


def test_the_node_fences_when_its_heartbeats_fail_or_pause_for_the_fence_time():
    liveness = Liveness(4.0)
    assert liveness.verdict(100.0) is None  # no heartbeat yet: nothing runs that the controller knows of
    liveness.renewed(0.0)
    liveness.renewed(1.0)
    assert liveness.verdict(4.9) is None
    assert "no heartbeat reached live state for 4.1s" in (liveness.verdict(5.1) or "")
    liveness.renewed(21.0)  # frozen for 20 s: its next heartbeat succeeds, but tasks may have moved
    assert "20.0s passed between two heartbeats" in (liveness.verdict(21.1) or "")
    assert liveness.verdict(21.2) is None  # once: alive again


def test_keepalives_and_recovery_wait_follow_the_fence_time():
    assert keepalive_period(4.0) == 1.0 and keepalive_period(2.0) == 0.5
    assert old_copies_gone_in(4.0, started_at=10.0, now=10.0) == pytest.approx(4.0 + 1.0 + 0.25 + 0.5)
    assert old_copies_gone_in(4.0, started_at=10.0, now=20.0) == 0.0


def test_a_fenced_task_is_restarted_only_if_its_user_still_wants_it_to_run(sqlite_store):
    from skalds.model.task import Task
    from skalds.node.fencing import reclaim
    from skalds.tasks import lifecycle

    started = []
    for task_id, wanted in (("run", "Running"), ("cancel", "Cancelled"), ("pause", "Paused")):
        lifecycle.create(sqlite_store, Task(id=task_id, class_name="W", source="t").to_document())
        sqlite_store.update(task_id, {"executor": "node-a", "attempt": 1, "lifecycleStatus": "Assigning",
                                      "desiredStatus": wanted})  # as a fenced copy's attempt is recorded
        reclaim(sqlite_store, "node-a", task_id, 1, lambda document, attempt: started.append(document["id"]) or True)
    assert started == ["run"] and sqlite_store.get("run")["attempt"] == 2
    assert sqlite_store.get("cancel")["lifecycleStatus"] == "Cancelled"  # not left for the controller to find
    paused = sqlite_store.get("pause")
    assert (paused["lifecycleStatus"], paused["executor"]) == ("Paused", None)
