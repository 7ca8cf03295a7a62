"""The cancel's interrupt inside one worker process, with this test as its supervisor (a real process and pipe):
at once for a worker that never polls the flag, after the grace for one that does, never in a release hook."""

import os
import signal
import time
from multiprocessing import Pipe

import pytest

from skalds.worker.baseclass import release_handler, run_main_handler
from skalds.worker.protocol import Cancel, ExitCode, OutcomeReport, Running
from skalds.worker.runtime import LaunchSettings
from support.cluster import read_records
from support.workers import NapWorker, PollingWorker, record

pytestmark = pytest.mark.unit


class SlowReleaseNapWorker(NapWorker):
    """Its release hook takes a while: a second cancel during it must not cut it short."""

    @release_handler
    def release(self) -> None:
        record(self.data.record_to, "release_start", task=self.task_id)
        time.sleep(0.5)
        record(self.data.record_to, "release", task=self.task_id)


class SigtermWhileHoldingTheFlagsLockWorker(NapWorker):
    """Gets SIGTERM while its main thread holds the cancel flag's lock, as `cancel_requested.wait(0.1)` does for a
    moment after each wake-up: a handler that sets the flag itself would wait for that lock for ever. The interrupt
    that follows is sent just as this thread lets go of the GIL for its long sleep, the moment one signal misses."""

    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id)
        with self.cancel_requested._cond:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # the handler runs here, in this thread, with the lock held
        time.sleep(self.data.seconds)
        record(self.data.record_to, "main_end", task=self.task_id)


def running(worker_class, tmp_path):
    path = str(tmp_path / "records.jsonl")
    ours, theirs = Pipe()
    worker = worker_class()
    worker._skalds_supervise(theirs, LaunchSettings(supervised=True), {"seconds": 60, "recordTo": path})
    worker.start()
    theirs.close()
    while True:
        assert ours.poll(20), "the worker did not start"
        if isinstance(ours.recv(), Running):
            break
    while not any(r["event"] == "main" for r in read_records(path)):
        time.sleep(0.01)
    return worker, ours, path


def cancel(worker, ours, grace=0.25):
    started = time.monotonic()
    ours.send(Cancel("test", grace))
    worker.join(10)
    return time.monotonic() - started


def outcome(ours):
    messages = []
    try:
        while ours.poll(0.5):
            messages.append(ours.recv())
    except EOFError:  # the worker is gone: everything it sent has been read
        pass
    return [m for m in messages if isinstance(m, OutcomeReport)]


def test_a_worker_that_never_polls_is_interrupted_at_once_and_released(tmp_path):
    worker, ours, path = running(NapWorker, tmp_path)
    assert cancel(worker, ours) < 0.5
    assert worker.exitcode == ExitCode.CANCELLED
    events = [r["event"] for r in read_records(path)]
    assert events[-1] == "release" and "main_end" not in events and "after" not in events
    assert [report.outcome for report in outcome(ours)] == ["cancelled"]


def test_a_polling_worker_gets_its_grace_and_ends_by_itself(tmp_path):
    worker, ours, path = running(PollingWorker, tmp_path)
    assert cancel(worker, ours, grace=2.0) < 1.0
    ended = [r for r in read_records(path) if r["event"] == "main_end"]
    assert ended and ended[0]["cancelled"] is True  # not interrupted: its loop saw the flag
    assert worker.exitcode == ExitCode.CANCELLED


def test_without_a_grace_even_a_polling_worker_is_interrupted(tmp_path):
    worker, ours, path = running(PollingWorker, tmp_path)
    assert cancel(worker, ours, grace=0.0) < 1.0
    assert "main_end" not in [r["event"] for r in read_records(path)]
    assert worker.exitcode == ExitCode.CANCELLED


def test_a_cancel_during_the_release_hook_never_interrupts_it(tmp_path):
    worker, ours, path = running(SlowReleaseNapWorker, tmp_path)
    ours.send(Cancel("first", 0.0))
    while not any(r["event"] == "release_start" for r in read_records(path)):
        time.sleep(0.01)
    ours.send(Cancel("second", 0.0))
    worker.join(10)
    assert [r["event"] for r in read_records(path)][-2:] == ["release_start", "release"]
    assert worker.exitcode == ExitCode.CANCELLED


def test_sigterm_while_the_main_thread_holds_the_flags_lock_still_cancels(tmp_path):
    worker, ours, path = running(SigtermWhileHoldingTheFlagsLockWorker, tmp_path)
    worker.join(10)
    hung = worker.exitcode is None
    if hung:
        worker.kill()
    assert not hung, "the worker hung in its SIGTERM handler"
    assert worker.exitcode == ExitCode.CANCELLED
    assert [r["event"] for r in read_records(path)][-1] == "release"
    assert [report.outcome for report in outcome(ours)] == ["cancelled"]

