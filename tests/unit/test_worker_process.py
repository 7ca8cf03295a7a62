"""The worker process on its own (no node): lifecycle order, outcomes and exit codes."""

import os
import signal
import time

import pytest

from skalds.worker.baseclass import BaseTaskWorker
from skalds.worker.protocol import ExitCode
from support.cluster import read_records, wait_for
from support.workers import FailingWorker, HardExitWorker, SleepModel, SleepWorker

pytestmark = pytest.mark.unit


def run_standalone(worker_class, tmp_path, seconds=0.1):
    path = str(tmp_path / "records.jsonl")
    worker = worker_class()
    worker.initialize(SleepModel(seconds=seconds, record_to=path))
    worker.start()
    return worker, path


def test_standalone_worker_runs_hooks_in_order_and_exits_0(tmp_path):
    worker, path = run_standalone(SleepWorker, tmp_path)
    worker.join(20)
    assert worker.exitcode == ExitCode.FINISHED
    events = [record["event"] for record in read_records(path)]
    assert events == ["initialize", "before", "main", "after", "release"]
    assert read_records(path)[1]["pid"] != os.getpid()


def test_failure_exits_1_and_skips_after(tmp_path):
    worker, path = run_standalone(FailingWorker, tmp_path)
    worker.join(20)
    assert worker.exitcode == ExitCode.FAILED
    assert [record["event"] for record in read_records(path)] == ["initialize", "before", "main", "release"]


def test_hard_exit_is_reported_by_the_exit_code(tmp_path):
    worker, _ = run_standalone(HardExitWorker, tmp_path)
    worker.join(20)
    assert worker.exitcode == 7


def test_sigterm_cancels_with_release_hooks(tmp_path):
    worker, path = run_standalone(SleepWorker, tmp_path, seconds=30)
    wait_for(lambda: any(r["event"] == "main" for r in read_records(path)), 20, "main hook")
    started = time.monotonic()
    os.kill(worker.pid, signal.SIGTERM)
    worker.join(20)
    assert time.monotonic() - started < 5
    assert worker.exitcode == ExitCode.CANCELLED
    assert [record["event"] for record in read_records(path)][-1] == "release"
    assert "after" not in [record["event"] for record in read_records(path)]


def test_data_model_must_be_declared():
    class Untyped(BaseTaskWorker):  # type: ignore[type-arg]
        def initialize(self, data):
            pass

    with pytest.raises(TypeError, match="BaseTaskWorker\\[YourModel\\]"):
        Untyped.get_data_model()
    assert SleepWorker.get_data_model() is SleepModel
