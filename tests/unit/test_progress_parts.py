"""report_progress's checks and coalescing, the node's second check, the controller's bounded series,
the Prometheus gauges' cap and the counters by class (no services: the parts themselves)."""

from __future__ import annotations

import math
import threading
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from skalds.model import progress as model
from skalds.model._time import now_ms
from skalds.system_controller.hub import EventHub
from skalds.system_controller.live_view import LiveView
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.monitor import Monitor
from skalds.system_controller.policy.cadence import Cadence
from skalds.system_controller.policy.verdicts import LostLimits
from skalds.system_controller.progress_series import TRAIL_CYCLES, ProgressSeries, SeriesLimits
from skalds.system_controller.task_counters import TaskCounters
from skalds.system_controller.task_gauges import TaskGauges
from skalds.system_controller.task_service import TaskService
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_state import SqliteLiveState
from skalds.transport.sqlite_tasks import SqliteTaskStore
from skalds.transport.wire_names import RedisKey
from skalds.worker.progress import ProgressReporter
from skalds.worker.protocol import ExitCode, Progress
from support.live_views import view_of
from support.progress_workers import ProgressModel, ProgressWorker

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("call", "says"), [
    ({"fraction": 1.01}, "fraction must be a number from 0 to 1"),
    ({"fraction": -0.1}, "fraction must be a number from 0 to 1"),
    ({"fraction": math.nan}, "fraction must be a number from 0 to 1"),
    ({"fraction": True}, "fraction must be a number from 0 to 1"),
    ({"fraction": "0.5"}, "fraction must be a number from 0 to 1"),
    ({"fraction": 10**400}, "fraction must be a number from 0 to 1"),
    ({"metrics": {"big": 10**400}}, "metric big must be a finite number"),
    ({"message": 42}, "message must be a string"),
    ({"metrics": {"fps": math.inf}}, "metric fps must be a finite number"),
    ({"metrics": {"fps": "24"}}, "metric fps must be a finite number"),
    ({"metrics": {"frames per second": 1.0}}, "metric name 'frames per second' must match"),
    ({"metrics": {"x" * 65: 1.0}}, "must match"),
    ({"metrics": {"1st": 1.0}}, "must match"),
    ({"metrics": {f"m{n}": 1.0 for n in range(33)}}, "at most 32 metrics"),
])
def test_a_bad_report_raises_value_error_with_a_clear_text(call, says):
    reporter = ProgressReporter(None)
    with pytest.raises(ValueError, match=says.replace("(", r"\(")):
        reporter.report(call.get("fraction"), call.get("message"), call.get("metrics"))
    assert reporter.latest() is None  # nothing of a refused report is kept


def test_numbers_of_other_real_types_are_taken():
    from decimal import Decimal
    from fractions import Fraction

    reporter = ProgressReporter(None)
    reporter.report(Fraction(1, 4), None, {"ratio": Fraction(1, 3), "count": 7})
    assert reporter.latest().fraction == 0.25 and reporter.latest().metrics["count"] == 7.0
    with pytest.raises(ValueError, match="must be a finite number"):
        reporter.report(metrics={"price": Decimal("1.5")})  # not a numbers.Real


def test_values_merge_the_message_is_cut_and_names_count_across_reports():
    reporter = ProgressReporter(None)
    reporter.report(0.25, "x" * 800, {"fps": 24})
    reporter.report(None, None, {"dropped": 3})
    latest = reporter.latest()
    assert latest is not None and latest.fraction == 0.25 and latest.message == "x" * model.MAX_MESSAGE
    assert latest.metrics == {"fps": 24.0, "dropped": 3.0}
    reporter.report(metrics={f"m{n}": n for n in range(30)})  # 32 names in all: still fine
    with pytest.raises(ValueError, match="at most 32 metrics"):
        reporter.report(metrics={"one_more": 1})
    assert len(reporter.latest().metrics) == 32


def test_a_tight_loop_of_reports_is_coalesced_and_the_newest_value_wins():
    sent: list[Progress] = []
    reporter = ProgressReporter(sent.append, interval=0.1)
    started = time.perf_counter()
    deadline = started + 0.5
    count = 0
    while time.perf_counter() < deadline:
        reporter.report(count / 1e9, None, {"n": count})
        count += 1
    reporter.flush()
    assert count > 5000  # reporting cost the loop next to nothing
    assert 2 <= len(sent) <= 8, len(sent)  # about one send per interval, not one per report
    assert sent[-1].metrics["n"] == count - 1  # the last report reached the pipe


def test_reporting_never_waits_on_a_stuck_pipe():
    release = threading.Event()
    reporter = ProgressReporter(lambda _message: release.wait(10), interval=0.01)
    started = time.perf_counter()
    for n in range(10_000):
        reporter.report(0.5, "busy", {"n": n})
    elapsed = time.perf_counter() - started
    release.set()
    assert elapsed < 2.0 and reporter.latest().metrics["n"] == 9999


def test_a_worker_started_by_hand_reports_progress_without_a_node(tmp_path):
    worker = ProgressWorker()
    worker.initialize(ProgressModel(steps=3, every=0.01))
    worker.report_progress(0.1, "before start", fps=1)  # in this process: kept, not sent anywhere
    assert worker._skalds_progress.latest().message == "before start"
    worker.start()
    worker.join(20)
    assert worker.exitcode == ExitCode.FINISHED


def test_the_node_checks_again_what_comes_out_of_the_pipe():
    assert model.sanitized(0.5, "ok", {"fps": 1.0}) == (0.5, "ok", {"fps": 1.0})
    assert model.sanitized(7.0, "forged", {}) is None
    assert model.sanitized(0.5, "ok", {"bad name": 1.0}) is None
    assert model.sanitized(0.5, "ok", ["not", "a", "dict"]) is None
    raw = model.encode(0.5, "ok", {"fps": 24.5}, at=1000, attempt=2)
    assert model.decode(raw) == {"fraction": 0.5, "message": "ok", "metrics": {"fps": 24.5}, "at": 1000, "attempt": 2}
    for bad in ("", "not json", "[1]", '{"fraction": 2, "metrics": {}, "at": 1, "attempt": 1}',
                '{"fraction": 0.5, "metrics": {}, "attempt": 1}', "x" * (model.MAX_JSON + 1)):
        assert model.decode(bad) is None


def sample(at: int, fraction: float = 0.5, **metrics: float) -> str:
    return model.encode(fraction, f"at {at}", metrics, at=at, attempt=1)


def test_the_series_adds_a_point_per_newer_report_and_keeps_its_bounds():
    series = ProgressSeries(SeriesLimits(window_seconds=10, max_points=5, max_tasks=2))
    now = 100_000
    for at in (1000, 1000, 2000):  # the same report read twice is one point
        series.observe({"a": sample(now + at)}, {"a": "Cls"}, now + at)
    assert [point["at"] for point in series.series("a")] == [now + 1000, now + 2000]
    for step in range(10):
        series.observe({"a": sample(now + 3000 + step)}, {"a": "Cls"}, now + 3000 + step)
    assert len(series.series("a")) == 5  # max_points
    series.observe({"a": sample(now + 30_000)}, {"a": "Cls"}, now + 30_000)
    assert [point["at"] for point in series.series("a")] == [now + 30_000]  # older than the window: gone
    series.observe({"a": sample(now + 31_000), "b": sample(now + 31_000), "c": sample(now + 31_000)}, {}, now + 31_000)
    assert series.latest("a") is None and series.latest("c") is not None  # two tasks at most: "a" went first
    assert series.latest("zzz") is None and series.series("zzz") == []


def test_a_task_that_ended_is_read_a_few_cycles_more_then_leaves_the_live_set():
    series = ProgressSeries()
    assert series.also_read(["a", "b"]) == []
    series.observe({"a": sample(1), "b": sample(1)}, {"a": "A", "b": "B"}, 10)
    reads = [series.also_read(["b"]) for _ in range(TRAIL_CYCLES + 1)]
    assert reads == [["a"]] * TRAIL_CYCLES + [[]]
    series.observe({"b": sample(2)}, {"b": "B"}, 20)  # "a" not read any more: its task is over
    assert [task for task, _class, _latest in series.live()] == ["b"]
    assert series.latest("a")["at"] == 1  # its last value stays for the API


def scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_the_per_task_gauges_stop_at_the_cap_and_count_the_rest():
    series = ProgressSeries()
    series.observe({f"t{n}": sample(n, fps=float(n)) for n in range(5)}, {f"t{n}": "Video" for n in range(5)}, 10)
    view = LiveView()
    view.rebuild([{"id": "t0", "className": "Video", "lifecycleStatus": "Running", "executor": "n1"},
                  {"id": "t1", "className": "Video", "lifecycleStatus": "Running", "executor": "n1"}], {})
    registry = CollectorRegistry()
    registry.register(TaskGauges(series, view, max_tasks=2))
    text = scrape(registry)
    assert 'skalds_task_metric{class="Video",name="fps",task="t1"} 1.0' in text
    assert 'skalds_task_progress{class="Video",task="t0"} 0.5' in text
    assert 'task="t2"' not in text and "skalds_task_metrics_tasks_left_out 3.0" in text
    assert 'skalds_live_tasks{class="Video",node="n1",status="Running"} 2.0' in text


def test_failures_retries_reassignments_cancels_and_run_times_count_by_class():
    registry = CollectorRegistry()
    view = LiveView()
    view.rebuild([{"id": "old", "className": "Legacy", "lifecycleStatus": "Running"}], {})
    counters = TaskCounters(registry, view.class_of)
    counters.observe([
        {"taskId": "a", "type": "created", "className": "Video", "ts": 0},
        {"taskId": "a", "type": "status", "status": "Running", "attempt": 1, "ts": 1000},
        {"taskId": "a", "type": "status", "status": "Failed", "attempt": 1, "ts": 31_000},
        {"taskId": "a", "type": "retry", "retry": 1, "ts": 31_500},
        {"taskId": "a", "type": "status", "status": "Running", "attempt": 2, "ts": 32_000},
        {"taskId": "a", "type": "lost", "attempt": 2, "ts": 40_000},
        {"taskId": "a", "type": "status", "status": "Running", "attempt": 3, "ts": 41_000},
        {"taskId": "a", "type": "status", "status": "Cancelled", "attempt": 3, "ts": 43_000},
        {"taskId": "old", "type": "status", "status": "Failed", "attempt": 1, "ts": 5},
        {"taskId": "ghost", "type": "status", "status": "Cancelled", "attempt": 1, "ts": 5},
    ])
    text = scrape(registry)
    for line in ('skalds_task_failures_total{class="Video"} 1.0', 'skalds_task_retries_total{class="Video"} 1.0',
                 'skalds_task_reassignments_total{class="Video"} 1.0', 'skalds_task_cancels_total{class="Video"} 1.0',
                 'skalds_task_failures_total{class="Legacy"} 1.0', 'skalds_task_cancels_total{class="unknown"} 1.0',
                 'skalds_task_run_duration_seconds_count{class="Video"} 2.0',
                 'skalds_task_run_duration_seconds_sum{class="Video"} 32.0'):
        assert line in text, line


class CountingLive:
    """A live state that records each read it is asked for (a real one behind it)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.reads: list[tuple[str, object]] = []

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self.inner, name)
        if name not in ("mget", "get", "hgetall", "lrange", "read"):
            return attribute

        def counted(*args: object) -> object:
            self.reads.append((name, args[0] if args else None))
            return attribute(*args)
        return counted


def test_the_monitor_reads_progress_in_the_heartbeat_read_and_sends_it_with_the_heartbeat(tmp_path):
    database = SqliteDatabase(tmp_path / "skalds.db")
    store, live = SqliteTaskStore(database), CountingLive(SqliteLiveState(database))
    service, hub = TaskService(store, None), EventHub()
    service.assign(service.create(task_id="t-1", class_name="Video", attachments={}), "node-1")
    rereader = view_of(store)
    monitor = Monitor(service, live, hub, ControllerMetrics(), view=rereader.view, refresher=rereader,  # type: ignore[arg-type]
                      limits=LostLimits(heartbeat_timeout=6.0, assign_timeout=15.0), cadence=Cadence(1.0, 1.0))
    live.write(lambda batch: (batch.set(RedisKey.task_heartbeat("t-1"), "7"),
                              batch.set(RedisKey.task_progress("t-1"), sample(now_ms() - 1000, 0.75, fps=25.0))))
    monitor.cycle(leader=False, now=100.0)
    live.reads.clear()
    live.write(lambda batch: (batch.set(RedisKey.task_heartbeat("t-1"), "8"),
                              batch.set(RedisKey.task_progress("t-1"), sample(now_ms(), 0.8, fps=26.0))))
    monitor.cycle(leader=False, now=102.0)
    task_reads = [keys for kind, keys in live.reads if kind == "mget" and RedisKey.task_heartbeat("t-1") in keys]
    assert task_reads == [[RedisKey.task_heartbeat("t-1"), RedisKey.task_heartbeat_at("t-1"),
                           RedisKey.task_progress("t-1")]]  # one round trip for heartbeats and progress
    assert not any(RedisKey.task_progress("t-1") == keys for _kind, keys in live.reads)  # no read of its own
    assert [point["fraction"] for point in monitor.progress.series("t-1")] == [0.75, 0.8]
    beats = [message for message in hub.since(0, "tasks") if '"task_heartbeat"' in message.data]
    assert '"progress": 0.8' in beats[-1].data
