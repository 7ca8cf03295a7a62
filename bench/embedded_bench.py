#!/usr/bin/env python
"""Assign latency on the embedded default: no Kafka, MongoDB or Redis, one SQLite file.

    .venv/bin/python bench/embedded_bench.py            # 100 + 100 tasks, about a minute
    .venv/bin/python bench/embedded_bench.py --count 30 --output -

A System Controller (`python -m skalds.system_controller.main`) and one node (bench/run_node.py,
the BenchWorker of bench/workers.py) run as subprocesses with no service configured, only
SKALDS_EMBEDDED_PATH (a file in a temporary directory). Two measurements, each sequential (the
next task only after the previous main hook was entered), over `--count` tasks after 5 warm-ups:

1. API create -> main: `time.time()` just before `POST /api/tasks` to the worker's `time.time()` on
   entering its main hook: controller insert, dispatcher wake-up, CAS assign, event through the
   file, node claim, worker start.
2. assign event -> main: the task document is written with its executor beforehand (not timed),
   then `time.time()` just before publishing `task.assign` into the file to the main hook: the
   node's share alone (as bench/node_bench.py measures it on Kafka).
3. event publish -> poll: the transport alone; a consumer in another process prints the time
   `poll` returned each event (it polls the file every 5 ms).

Target (issue #6): p50 <= 50 ms for API create -> main. The table is printed and written to
bench/results/embedded-<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
from node_bench import Latency, NodeProcess, Records, code_version, log
from workers import BenchModel

from skalds.model.event import TaskEvent
from skalds.model.task import Task
from skalds.proxy.kafka import KafkaTopic
from skalds.repository.repository import TaskRepository
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventPublisher
from skalds.transport.sqlite_tasks import SqliteTaskStore

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SERVICE_VARIABLES = ("KAFKA_HOST", "KAFKA_PORT", "MONGO_HOST", "DB_NAME", "REDIS_HOST", "REDIS_PORT",
                     "SKALDS_BACKEND", "KAFKA_TOPIC_PREFIX", "REDIS_KEY_PREFIX")
TARGET_P50_MS = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(database: Path, **extra: str) -> dict[str, str]:
    """The environment with no service configured: the embedded default, at `database`."""
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    return {**env, "PYTHONUNBUFFERED": "1", "SKALDS_EMBEDDED_PATH": str(database),
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"), **extra}


class Embedded:
    """A controller and a node on one embedded file, plus the bench's own handles on that file."""

    def __init__(self, workdir: Path, run_id: str) -> None:
        self.workdir = workdir
        self.database = workdir / "skalds.db"
        self.node_id = f"emb-bench-{run_id}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.records = Records(workdir / "records.jsonl")
        self.controller: NodeProcess | None = None
        self.node: NodeProcess | None = None
        self.store = SqliteTaskStore(SqliteDatabase(self.database))
        self.repository = TaskRepository(self.store)
        self.publisher = SqliteEventPublisher(SqliteDatabase(self.database))
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def model(self) -> dict:
        return BenchModel(seconds=0, record_to=str(self.records.path)).model_dump()

    def start(self) -> None:
        self.controller = NodeProcess(
            [sys.executable, "-m", "skalds.system_controller.main"],
            embedded_env(self.database, PYTHONPATH=str(REPO), SYSTEM_CONTROLLER_PORT=str(self.port),
                         SYSTEM_CONTROLLER_MODE="DISPATCHER"), self.workdir, "controller")
        self.node = NodeProcess([sys.executable, str(BENCH / "run_node.py")],
                                embedded_env(self.database, PYTHONPATH=str(BENCH), SKALD_ID=self.node_id,
                                             LOG_PATH=str(self.workdir / "logs")), self.workdir, "node")
        node, controller = self.node, self.controller
        node.wait_until(lambda: f"Skald node {self.node_id} ready" in node.log(), 90, "ready")
        controller.wait_until(self._healthy, 90, "answering")
        controller.wait_until(self._node_online, 60, f"seeing node {self.node_id} online")

    def _healthy(self) -> bool:
        try:
            return self.http.get("/api/system/health").status_code == 200
        except httpx.HTTPError:
            return False

    def _node_online(self) -> bool:
        try:
            return self.node_id in self.http.get("/api/skalds").text
        except httpx.HTTPError:
            return False

    def create_via_api(self) -> str:
        response = self.http.post("/api/tasks", json={"className": "BenchWorker", "attachments": self.model()})
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/tasks answered {response.status_code}: {response.text}")
        return response.json()["id"]

    def prepare_direct(self, task_id: str) -> None:
        self.repository.create_task(Task(id=task_id, class_name="BenchWorker", source="bench",
                                         attachments=BenchModel(seconds=0, record_to=str(self.records.path))))
        self.repository.update_executor(task_id, self.node_id)

    def publish_assign(self, task_id: str) -> None:
        attempt = int(self.store.get(task_id).get("attempt") or 0)
        self.publisher.publish(KafkaTopic.TASK_ASSIGN, task_id,
                               TaskEvent(task_ids=[task_id], attempt=attempt).model_dump_json(by_alias=True))

    def stop(self) -> None:
        self.http.close()
        for process in (self.node, self.controller):
            if process is not None:
                process.stop(20)
        self.store.close()
        self.publisher.close()


def measure_api(system: Embedded, count: int, timeout: float) -> Latency:
    result = Latency(note="sequential: POST /api/tasks -> main hook entered")
    for _ in range(count):
        started = time.time()
        task_id = system.create_via_api()
        record = system.records.wait("main", task_id, timeout)
        if record is None:
            result.lost += 1
        else:
            result.samples.append(record["ts"] - started)
    return result


def measure_direct(system: Embedded, count: int, timeout: float, run_id: str) -> Latency:
    result = Latency(note="sequential: task.assign published into the file -> main hook entered")
    for index in range(count):
        task_id = f"{run_id}-direct-{index:04d}"
        system.prepare_direct(task_id)
        started = time.time()
        system.publish_assign(task_id)
        record = system.records.wait("main", task_id, timeout)
        if record is None:
            result.lost += 1
        else:
            result.samples.append(record["ts"] - started)
    return result


ECHO_CONSUMER = """
import sys, time
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventConsumer
consumer = SqliteEventConsumer(SqliteDatabase(sys.argv[1]), "echo", ["bench.echo"])
print("ready", flush=True)
while True:
    event = consumer.poll(1.0)
    if event is not None:
        print(event.key, time.time(), flush=True)
        consumer.commit(event)
        if event.key == "stop":
            break
"""


def measure_events(database: Path, count: int, timeout: float) -> Latency:
    """The transport alone: publish -> received by a consumer in another process (poll + commit)."""
    result = Latency(note="sequential: publish -> poll returned it in another process")
    consumer = subprocess.Popen([sys.executable, "-c", ECHO_CONSUMER, str(database)], stdout=subprocess.PIPE,
                                text=True, env={**os.environ, "LOG_LEVEL": "WARNING"})
    publisher = SqliteEventPublisher(SqliteDatabase(database))
    try:
        assert consumer.stdout is not None and consumer.stdout.readline().strip() == "ready"
        for index in range(count):
            started = time.time()
            publisher.publish("bench.echo", f"e{index}", b"x")
            key, received = consumer.stdout.readline().split()
            if key != f"e{index}":
                raise RuntimeError(f"echo consumer returned {key}, expected e{index}")
            result.samples.append(float(received) - started)
        publisher.publish("bench.echo", "stop", b"x")
        consumer.wait(timeout)
    finally:
        publisher.close()
        if consumer.poll() is None:
            consumer.kill()
    return result


def row(name: str, latency: Latency, target: float | None = None) -> str:
    def ms(q: float) -> str:
        value = latency.ms(q)
        return f"{value:.1f}" if value is not None else "-"
    verdict = ""
    if target is not None and latency.ms(0.5) is not None:
        verdict = "yes" if latency.ms(0.5) <= target else "NO"
    return (f"| {name} | {len(latency.samples)} | {latency.lost} | {ms(0.5)} | {ms(0.9)} | {ms(0.99)} | "
            f"{max(latency.samples) * 1000 if latency.samples else 0:.1f} | {verdict} |")


def render(api: Latency, direct: Latency, events: Latency, meta: dict[str, str]) -> str:
    lines = [f"## Embedded default: assign latency ({meta['date']})", ""]
    lines += [f"- {key}: {value}" for key, value in meta.items() if key != "date"]
    lines += ["", "| path | n | lost | p50 ms | p90 ms | p99 ms | max ms | p50 <= 50 ms |",
              "|---|---|---|---|---|---|---|---|",
              row("API create -> main hook (controller + node)", api, TARGET_P50_MS),
              row("assign event -> main hook (node only)", direct),
              row("event publish -> poll in another process (transport only)", events), "",
              "Sequential: each task is sent after the previous one's main hook was entered. Latency = the worker's "
              "`time.time()` on entering main minus `time.time()` just before the POST (or the publish); same "
              "host clock. The controller runs with its default intervals (monitor 1 s, dispatcher sweep 1 s; "
              "creation wakes the dispatcher at once), the node with HEARTBEAT_PERIOD 3.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Assign latency on the embedded default (no services).")
    parser.add_argument("--count", type=int, default=100, help="tasks per measurement (100)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for one main hook")
    parser.add_argument("--output", default=None, help="markdown file (default bench/results/embedded-<date>.md; "
                                                       "'-' = none)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, database)")
    options = parser.parse_args(argv)
    run_id = uuid.uuid4().hex[:6]
    workdir = Path(tempfile.mkdtemp(prefix=f"skalds-embedded-bench-{run_id}-"))
    now = dt.datetime.now()
    meta = {
        "date": now.strftime("%Y-%m-%d %H:%M"),
        "host": f"{platform.node()}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
                f"Python {platform.python_version()}, load average at start "
                f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        "transport": f"embedded SQLite file {workdir / 'skalds.db'} (no KAFKA_HOST, MONGO_HOST, REDIS_HOST)",
        "code": code_version(),
    }
    log(f"run {run_id}, work dir {workdir}")
    system = Embedded(workdir, run_id)
    failed = False
    try:
        system.start()
        log("controller and node ready; warming up")
        warm = measure_api(system, 5, options.timeout)
        if not warm.samples:
            raise RuntimeError("no warm-up task reached its main hook")
        log(f"API create -> main, {options.count} tasks")
        api = measure_api(system, options.count, options.timeout)
        log(f"assign event -> main, {options.count} tasks")
        direct = measure_direct(system, options.count, options.timeout, run_id)
        log(f"event publish -> poll, {options.count} events")
        events = measure_events(workdir / "skalds.db", options.count, options.timeout)
        failed = bool(api.lost or direct.lost)
    except Exception as error:
        log(f"FAILED: {error}; logs kept in {workdir}")
        for process in (system.controller, system.node):
            if process is not None:
                print(process.log()[-3000:], file=sys.stderr)
        system.stop()
        return 1
    system.stop()
    report = render(api, direct, events, meta)
    print(report)
    output = options.output or str(BENCH / "results" / f"embedded-{now.strftime('%Y-%m-%d')}.md")
    if output != "-":
        Path(output).write_text(report, encoding="utf-8")
        log(f"results written to {output}")
    if not options.keep and not failed:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
