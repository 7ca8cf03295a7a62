#!/usr/bin/env python
"""Benchmark our System Controller, side by side with Skalds 0.3.8's where it can do the same.

    # services (not started here); a private instance on other ports, for example:
    SKALDS_KAFKA_PORT=39092 SKALDS_KAFKA_CONTROLLER_PORT=39093 SKALDS_MONGO_PORT=57017 \\
        SKALDS_REDIS_PORT=36379 SKALDS_STATE_DIR=/tmp/ctlbenchsvc scripts/services up
    bench/setup_baseline.sh && ~/.cache/skalds/bench/venv-skalds-0.3.8/bin/pip install 'skalds[backend]==0.3.8'
    SKALDS_KAFKA_PORT=39092 SKALDS_MONGO_PORT=57017 SKALDS_REDIS_PORT=36379 \\
        .venv/bin/python bench/controller_bench.py [--quick] [--only ours|baseline] [--tasks N]

Endpoints: SKALDS_KAFKA_PORT (9092), SKALDS_MONGO_PORT (27017), SKALDS_REDIS_PORT (6379),
SKALDS_MONGO_USER/_PASSWORD (root/root), SKALDS_BENCH_HOST (127.0.0.1). Everything the bench
writes is namespaced by a run id (database names, Redis key prefix, Kafka topic prefix, node
ids) and removed at the end; 0.3.8 has no key/topic prefix, so its phase writes unprefixed
`skalds:*` keys for its simulated nodes only (deleted at the end) and uses 0.3.8's topic names.

Phases (ours: real controller subprocess `python -m skalds.system_controller.main`, env as in
tests/support/controller.py, DISPATCHER mode, default intervals):
  1. latency   2 real nodes (bench/controller_node.py, HEARTBEAT_PERIOD=1); tasks created one at
               a time with POST /api/tasks; latency = worker main hook's time.time() - time before
               the POST (bench/controller_workers.py records it).
  2. failover  4 long tasks over the 2 nodes; SIGKILL of one node's process group; time until
               every task it had is Running on the other node (GET /api/tasks/{id}); the killed
               node is restarted (same id) between trials; MONITOR_HEARTBEAT_TIMEOUT 6 and 3.
  3. scale     100 simulated nodes (bench/controller_simnodes.py: the exact Redis keys of
               Supervisor.write_heartbeats every 3 s; marks assigned tasks Running by polling
               MongoDB for Assigning tasks of its nodes). a) dispatch: N Created tasks inserted
               into MongoDB, then the controller started; assignments/s from the dispatcher's
               counter (GET /api/system/status), time-boxed. b) steady state: N Running tasks on
               the 100 nodes; monitor cycle (components[Monitor].details.lastCycleMs), lost
               tasks, API list latency (GET /api/tasks?page=&pageSize=50 + filters), RSS/USS/CPU.
  4. baseline  Skalds 0.3.8's controller (bench/controller_run_038.py: SystemController(
               SystemControllerConfig(system_controller_mode=DISPATCHER)).run(), with timing
               probes around its monitor loops) on the same N Running tasks (0.3.8 document
               shape, own database) and 100 simulated nodes: API list (GET /api/tasks/), memory,
               CPU, SkaldMonitor/TaskMonitor cycle times, initial task sync.
Slow phases are time-boxed; a box that closes first is reported with what was reached.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis
from bench_services import Endpoints
from confluent_kafka.admin import AdminClient
from pymongo import MongoClient

from skalds.model.task import Task
from skalds.skald import NODE_TOPICS
from skalds.transport.kafka_events import KafkaSettings, ensure_topics
from skalds.transport.mongo_tasks import MongoTaskStore

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORKER_CLASS = "CtlBenchWorker"
SCALE_CLASSES = (WORKER_CLASS, "CtlBenchReport")
DEFAULT_BASELINE_PYTHON = (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                           / "skalds" / "bench" / "venv-skalds-0.3.8" / "bin" / "python")
DOC_038_FIELDS = ("id", "className", "source", "name", "description", "executor", "dependencies", "mode",
                  "isPersistent", "createDateTime", "updateDateTime", "deadlineDateTime", "lifecycleStatus",
                  "priority", "attachments")
MiB = 1024 * 1024


def log(message: str) -> None:
    print(f"[controller-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float | None:
    return percentile(values, 0.5)


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    return "?"


# --- services -------------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- processes ------------------------------------------------------------------------------------
class Proc:
    """A subprocess in its own session (so its whole process group can be killed)."""

    started_count = 0

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path,
                 cwd: Path | None = None) -> None:
        Proc.started_count += 1
        self.name = name
        self.log_path = workdir / f"{Proc.started_count:02d}-{name}.out"  # one file per process
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            cwd=cwd or workdir, start_new_session=True)
        self.started = time.monotonic()
        self.started_wall = time.time()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log()[-3000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no {text!r} within {timeout:.0f}s:\n{self.log()[-3000:]}")

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self.kill_group()  # whatever of the group is left (workers of a node)


class Controller:
    def __init__(self, proc: Proc, port: int, api_tasks: str) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.api_tasks = api_tasks  # "/api/tasks" (ours) or "/api/tasks/" (0.3.8)
        self.http = httpx.Client(base_url=self.url, timeout=120)
        self.ready_after: float | None = None

    def wait_ready(self, timeout: float, path: str = "/api/system/health") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"controller exited ({self.proc.process.returncode}):\n{self.proc.log()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get(path, timeout=5).status_code == 200:
                    self.ready_after = time.monotonic() - self.proc.started
                    return
            time.sleep(0.2)
        raise RuntimeError(f"controller not ready after {timeout:.0f}s:\n{self.proc.log()[-4000:]}")

    def status(self) -> dict[str, Any]:
        return self.http.get("/api/system/status", timeout=30).json()

    def component(self, name: str) -> dict[str, Any]:
        for component in self.status().get("components", []):
            if component.get("name") == name:
                return component.get("details") or {}
        return {}

    def stop(self, timeout: float = 30) -> None:
        self.http.close()
        self.proc.stop(timeout)


# --- worker records -------------------------------------------------------------------------------
class Records:
    """Incremental reader of the JSON-lines file the bench workers append to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self.by_task: dict[str, list[dict[str, Any]]] = {}

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as file:
            file.seek(self._offset)
            chunk = file.read()
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                self.by_task.setdefault(record.get("task", ""), []).append(record)

    def mains(self, task_id: str) -> list[dict[str, Any]]:
        self.poll()
        return [record for record in self.by_task.get(task_id, []) if record.get("event") == "main"]


# --- the system under test -------------------------------------------------------------------------
@dataclass
class Names:
    run_id: str
    tag: str = "ctlbench"  # which bench wrote it

    def db(self, phase: str) -> str:
        return f"{self.tag}_{self.run_id}_{phase}"

    @property
    def redis_prefix(self) -> str:
        return f"{self.tag}:{self.run_id}:"

    @property
    def topic_prefix(self) -> str:
        return f"{self.tag}-{self.run_id}-"


class Ours:
    def __init__(self, endpoints: Endpoints, names: Names, workdir: Path) -> None:
        self.endpoints = endpoints
        self.names = names
        self.workdir = workdir

    def controller(self, db: str, prefix: str, **overrides: str) -> Controller:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "SYSTEM_CONTROLLER_MODE": "DISPATCHER",
            "SYSTEM_CONTROLLER_HOST": "127.0.0.1",
            "SYSTEM_CONTROLLER_PORT": str(port),
            "LOG_LEVEL": "INFO",
            "KAFKA_HOST": self.endpoints.host,
            "KAFKA_PORT": str(self.endpoints.kafka_port),
            "KAFKA_TOPIC_PREFIX": self.names.topic_prefix,
            "MONGO_HOST": self.endpoints.mongo_uri,
            "DB_NAME": db,
            "REDIS_HOST": self.endpoints.host,
            "REDIS_PORT": str(self.endpoints.redis_port),
            "REDIS_KEY_PREFIX": prefix,
            **overrides,
        }
        proc = Proc("controller", [sys.executable, "-m", "skalds.system_controller.main"], env, self.workdir)
        controller = Controller(proc, port, "/api/tasks")
        try:
            # "/api" needs no backing service: /api/system/health counts in the task store, which on a
            # large FerretDB collection takes longer than any sane probe timeout (see the report).
            controller.wait_ready(120, "/api")
        except BaseException:
            controller.stop()
            raise
        return controller

    def node(self, skald_id: str, db: str) -> Proc:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(BENCH), str(REPO)]),
            "PYTHONUNBUFFERED": "1",
            "SKALD_ID": skald_id,
            "SKALD_MODE": "node",
            "LOG_LEVEL": "INFO",
            "LOG_PATH": str(self.workdir / "logs"),
            "KAFKA_HOST": self.endpoints.host,
            "KAFKA_PORT": str(self.endpoints.kafka_port),
            "KAFKA_TOPIC_PREFIX": self.names.topic_prefix,
            "KAFKA_REPLICATION_FACTOR": "1",
            "MONGO_HOST": self.endpoints.mongo_uri,
            "DB_NAME": db,
            "REDIS_HOST": self.endpoints.host,
            "REDIS_PORT": str(self.endpoints.redis_port),
            "REDIS_KEY_PREFIX": self.names.redis_prefix,
            "HEARTBEAT_PERIOD": "1",
        }
        proc = Proc(skald_id, [sys.executable, str(BENCH / "controller_node.py")], env, self.workdir)
        proc.wait_log(" ready with ", 120)
        return proc


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            value = check()
            if value:
                return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def node_online(controller: Controller, skald_id: str) -> bool:
    response = controller.http.get(f"/api/skalds/{skald_id}", timeout=10)
    return response.status_code == 200 and response.json().get("status") == "online" \
        and WORKER_CLASS in response.json().get("supportedTasks", [])


def create_task(controller: Controller, attachments: dict[str, Any]) -> str:
    response = controller.http.post("/api/tasks", json={"className": WORKER_CLASS, "attachments": attachments})
    if response.status_code != 201:
        raise RuntimeError(f"create failed: {response.status_code} {response.text}")
    return str(response.json()["id"])


def task_state(controller: Controller, task_id: str) -> tuple[str | None, str | None]:
    document = controller.http.get(f"/api/tasks/{task_id}", timeout=10).json()
    return document.get("lifecycleStatus"), document.get("executor")


# --- phase 1: create -> main ---------------------------------------------------------------------
@dataclass
class LatencyResult:
    samples_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    assigned_ms: list[float] = field(default_factory=list)  # before the POST -> "assigned" history entry
    lost: int = 0


def assigned_at_ms(controller: Controller, task_id: str) -> float | None:
    """When the dispatcher assigned the task (its "assigned" history entry, ms since the epoch)."""
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
        events = controller.http.get(f"/api/tasks/{task_id}/events", timeout=10).json()["events"]
        stamps = [float(event["ts"]) for event in events if event.get("type") == "assigned"]
        return stamps[0] if stamps else None
    return None


def measure_create_latency(controller: Controller, records: Records, count: int, warmup: int) -> LatencyResult:
    result = LatencyResult()
    for index in range(warmup + count):
        before = time.time()
        began = time.perf_counter()
        task_id = create_task(controller, {"seconds": 0, "recordTo": str(records.path)})
        post_ms = (time.perf_counter() - began) * 1000
        deadline = time.monotonic() + 30
        mains: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not mains:
            mains = records.mains(task_id)
            if not mains:
                time.sleep(0.002)
        if index < warmup:
            continue
        if not mains:
            result.lost += 1
            continue
        result.samples_ms.append((mains[0]["ts"] - before) * 1000)
        result.post_ms.append(post_ms)
        assigned = assigned_at_ms(controller, task_id)
        if assigned is not None:
            result.assigned_ms.append(assigned - before * 1000)
        time.sleep(0.05)
    return result


# --- phase 2: node killed -> its tasks Running elsewhere -----------------------------------------
@dataclass
class FailoverTrial:
    victim: str
    moved: int
    offline_s: float | None
    running_s: float | None
    main_s: float | None


def failover_trial(ours: Ours, controller: Controller, nodes: dict[str, Proc], victim: str, db: str,
                   records: Records, per_trial: int, timeout: float) -> FailoverTrial:
    survivor = next(node for node in nodes if node != victim)
    ids = [create_task(controller, {"seconds": 3600, "recordTo": str(records.path)}) for _ in range(per_trial)]
    for task_id in ids:
        wait_until(lambda tid=task_id: task_state(controller, tid)[0] == "Running", 60, f"{task_id} Running")
    placed = {task_id: task_state(controller, task_id)[1] for task_id in ids}
    moving = [task_id for task_id, executor in placed.items() if executor == victim]
    if not moving:  # the restarted node was not seen yet by the dispatcher: kill the one that has tasks
        victim, survivor = survivor, victim
        moving = [task_id for task_id, executor in placed.items() if executor == victim]
    old_pids = {task_id: {record["pid"] for record in records.mains(task_id)} for task_id in moving}
    os.killpg(nodes[victim].pid, signal.SIGKILL)
    killed = time.monotonic()
    offline_s = None
    running_at: dict[str, float] = {}
    main_at: dict[str, float] = {}
    killed_wall = time.time()
    while time.monotonic() - killed < timeout and (len(running_at) < len(moving) or len(main_at) < len(moving)):
        now = time.monotonic()
        with contextlib.suppress(httpx.HTTPError):
            if offline_s is None:
                response = controller.http.get(f"/api/skalds/{victim}", timeout=10)
                if response.status_code == 200 and response.json().get("status") == "offline":
                    offline_s = now - killed
            for task_id in moving:
                if task_id not in running_at and task_state(controller, task_id) == ("Running", survivor):
                    running_at[task_id] = time.monotonic() - killed
        for task_id in moving:
            if task_id not in main_at:
                fresh = [r for r in records.mains(task_id) if r["pid"] not in old_pids[task_id]]
                if fresh:
                    main_at[task_id] = fresh[0]["ts"] - killed_wall
        time.sleep(0.05)
    nodes[victim].kill_group()
    for task_id in ids:
        with contextlib.suppress(httpx.HTTPError):
            controller.http.post(f"/api/tasks/{task_id}/cancel", timeout=30)
    nodes[victim] = ours.node(victim, db)
    wait_until(lambda: node_online(controller, victim), 30, f"{victim} online again", 0.2)
    complete = len(running_at) == len(moving)
    return FailoverTrial(victim=victim, moved=len(running_at),
                         offline_s=offline_s, running_s=max(running_at.values()) if complete else None,
                         main_s=max(main_at.values()) if len(main_at) == len(moving) else None)


# --- phase 3: scale ---------------------------------------------------------------------------------
def task_documents(count: int, executors: list[str] | None, shape_038: bool = False) -> list[dict[str, Any]]:
    """`count` tasks as Task.to_document() writes them; Running on `executors` round robin if given."""
    base = int(time.time() * 1000) - count
    documents = []
    for index in range(count):
        task = Task(id=f"cb-{index:05d}", class_name=SCALE_CLASSES[index % len(SCALE_CLASSES)], source="bench",
                    name=f"bench task {index}", priority=index % 11)
        document = task.to_document()
        document["attachments"] = {"seconds": 3600, "recordTo": ""}
        document["createDateTime"] = document["updateDateTime"] = base + index
        if executors:
            document.update(executor=executors[index % len(executors)], lifecycleStatus="Running",
                            attempt=1, assignedDateTime=base + index)
        if shape_038:
            document = {key: document.get(key) for key in DOC_038_FIELDS}
        else:
            document = {"_id": document["id"], **document}  # as MongoTaskStore.insert writes it
        documents.append(document)
    return documents


def insert_tasks(mongo: MongoClient, db: str, documents: list[dict[str, Any]], indexes: bool = True) -> float:
    store = MongoTaskStore(mongo, db)
    began = time.perf_counter()
    if indexes:
        store.ensure_indexes()
    for start in range(0, len(documents), 1000):
        store.tasks.insert_many(documents[start:start + 1000], ordered=False)
    return time.perf_counter() - began


class SimNodes:
    def __init__(self, endpoints: Endpoints, workdir: Path, name: str, *, prefix: str, db: str, node_prefix: str,
                 nodes: int, capacity: int, history: bool, topic_prefix: str | None,
                 extra_args: tuple[str, ...] = ()) -> None:
        self.stats_path = workdir / f"{name}.stats.json"
        self.ids = [f"{node_prefix}-{index:03d}" for index in range(nodes)]
        command = [sys.executable, str(BENCH / "controller_simnodes.py"), "--redis-host", endpoints.host,
                   "--redis-port", str(endpoints.redis_port), "--prefix", prefix, "--mongo-uri", endpoints.mongo_uri,
                   "--db", db, "--node-prefix", node_prefix, "--nodes", str(nodes), "--period", "3",
                   "--classes", ",".join(SCALE_CLASSES), "--capacity", str(capacity), "--stats",
                   str(self.stats_path), "--cleanup"]
        if history:
            command.append("--history")
        if topic_prefix is not None:  # the nodes' part of an assignment comes from task.assign
            settings = KafkaSettings(bootstrap_servers=endpoints.kafka, topic_prefix=topic_prefix)
            ensure_topics(settings, [settings.topic(topic) for topic in NODE_TOPICS])
            command += ["--kafka", endpoints.kafka, "--topic", settings.topic("task.assign")]
        else:
            command.append("--no-mark-running")
        command += extra_args
        self.proc = Proc(name, command, {**os.environ, "PYTHONUNBUFFERED": "1"}, workdir)

    def stats(self) -> dict[str, Any]:
        with contextlib.suppress(OSError, ValueError):
            return dict(json.loads(self.stats_path.read_text()))
        return {}

    def wait(self, check: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"simulated nodes exited:\n{self.proc.log()[-3000:]}")
            stats = self.stats()
            if stats and check(stats):
                return stats
            time.sleep(0.5)
        raise TimeoutError(f"simulated nodes: {what} not reached in {timeout:.0f}s (stats {self.stats()})")

    def stop(self) -> dict[str, Any]:
        self.proc.stop(120)  # --cleanup deletes its keys on the way out
        return self.stats()


def list_queries(count: int, tasks: int, node_ids: list[str], seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    """The same request mix for both controllers: pageSize 50, deep pages, four kinds of filter."""
    rng = random.Random(seed)
    pages = max(1, tasks // 50)
    queries = []
    for index in range(count):
        kind = ("none", "lifecycleStatus", "className", "executor")[index % 4]
        params: dict[str, Any] = {"pageSize": 50}
        if kind == "none":
            params["page"] = rng.randint(1, pages)
        elif kind == "lifecycleStatus":
            params.update(lifecycleStatus="Running", page=rng.randint(1, pages))
        elif kind == "className":
            params.update(className=rng.choice(SCALE_CLASSES), page=rng.randint(1, max(1, pages // 2)))
        else:
            per_node = math.ceil(tasks / max(1, len(node_ids)) / 50)
            params.update(executor=rng.choice(node_ids), page=rng.randint(1, max(1, per_node)))
        queries.append((kind, params))
    return queries


@dataclass
class ListResult:
    latencies_ms: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    error_texts: list[str] = field(default_factory=list)
    planned: int = 0
    timed_out: bool = False
    seconds: float = 0.0


def measure_list(controller: Controller, queries: list[tuple[str, dict[str, Any]]], time_box: float) -> ListResult:
    result = ListResult(planned=len(queries))
    began = time.monotonic()
    for kind, params in queries:
        if time.monotonic() - began > time_box:
            result.timed_out = True
            break
        start = time.perf_counter()
        try:
            response = controller.http.get(controller.api_tasks, params=params)
            ok = response.status_code == 200 and response.json().get("total", 0) > 0
            if not ok:
                result.error_texts.append(f"{kind} {params}: {response.status_code} {response.text[:200]}")
        except httpx.HTTPError as error:
            ok = False
            result.error_texts.append(f"{kind} {params}: {type(error).__name__}")
        elapsed = (time.perf_counter() - start) * 1000
        if not ok:
            result.errors += 1
            continue
        result.latencies_ms.append(elapsed)
        result.by_kind.setdefault(kind, []).append(elapsed)
    result.seconds = time.monotonic() - began
    return result


@dataclass
class Usage:
    rss_mib: float
    uss_mib: float
    cpu_percent: float | None = None


def memory_of(pid: int) -> Usage | None:
    with contextlib.suppress(psutil.Error):
        info = psutil.Process(pid).memory_full_info()
        return Usage(rss_mib=info.rss / MiB, uss_mib=info.uss / MiB)
    return None


class CpuMeter:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.began = time.monotonic()
        times = self.process.cpu_times()
        self.cpu = times.user + times.system

    def percent(self) -> float | None:
        with contextlib.suppress(psutil.Error):
            times = self.process.cpu_times()
            return (times.user + times.system - self.cpu) * 100 / max(1e-6, time.monotonic() - self.began)
        return None


@dataclass
class ScaleResult:
    tasks: int = 0
    nodes: int = 0
    insert_s: float = 0.0
    steady: bool = False  # the steady-state phase ran
    # dispatch
    dispatch_assigned: int | None = None
    dispatch_rate: float | None = None
    dispatch_window_s: float | None = None
    dispatch_all_s: float | None = None
    dispatch_first_s: float | None = None
    dispatch_box_s: float | None = None
    dispatch_counter: int | None = None  # the dispatcher's own "assigned" counter at the end
    dispatch_lost: int | None = None
    dispatch_failed_cycles: dict[str, int] = field(default_factory=dict)
    failed_cycles: dict[str, int] = field(default_factory=dict)
    health_ms: list[float] = field(default_factory=list)
    dispatch_cycle_ms: list[float] = field(default_factory=list)
    # steady state
    ready_s: float | None = None
    nodes_online: int | None = None
    cycle_ms: list[float] = field(default_factory=list)
    cycle_other_ms: list[float] = field(default_factory=list)  # 0.3.8: TaskMonitor (cycle_ms is SkaldMonitor)
    initial_sync_ms: float | None = None
    monitor_errors: int | None = None
    lost: int | None = None
    dispatcher_passes: list[float] = field(default_factory=list)
    listing: ListResult | None = None
    usage: Usage | None = None
    sim: dict[str, Any] = field(default_factory=dict)
    dispatch_sim: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    store_probe_ms: dict[str, float] = field(default_factory=dict)


def probe_store(mongo: MongoClient, db: str, tasks: int, samples: int = 3) -> dict[str, float]:
    """What one task-store operation of the controller costs at this collection size (from outside)."""
    store = MongoTaskStore(mongo, db)
    operations: dict[str, Callable[[], Any]] = {
        "get by id (last inserted)": lambda: store.get(f"cb-{tasks - 1:05d}"),  # by _id, as the controller reads
        "count (all)": lambda: store.count({}),
        "page of 50 (sorted, skip)": lambda: store.find({}, sort=[("createDateTime", -1), ("id", 1)], skip=2500,
                                                        limit=50),
    }
    result = {}
    for name, operation in operations.items():
        times = []
        for _ in range(samples):
            began = time.perf_counter()
            try:
                operation()
            except Exception as error:  # FerretDB may hit the 3 s maxTimeMS of `get`
                log(f"store probe {name}: {type(error).__name__}")
                continue
            times.append((time.perf_counter() - began) * 1000)
        if times:
            result[name] = min(times)
    return result


def cleanup_redis(endpoints: Endpoints, prefix: str) -> None:
    client = redis.Redis(host=endpoints.host, port=endpoints.redis_port)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start:start + 1000])


BATCH_LINE = re.compile(r" - assigned a batch of (\d+) task\(s\) to \d+ node\(s\) in ([\d.]+) ms")


def assignment_times(proc: Proc) -> list[float]:
    """Epoch seconds of each assignment from the controller's log (local time, ms precision): a per-task
    "assigned task X to N" line (before batched dispatch), or a batch line counting its tasks at its start
    (the batch's line is written when it ends, with how long it took)."""
    stamps = []
    for line in proc.log().splitlines():
        with contextlib.suppress(ValueError):
            if "dispatcher.py:" in line and " - assigned task " in line:
                stamps.append(dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp())
            elif (batch := BATCH_LINE.search(line)) is not None:
                ended = dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()
                stamps += [ended - float(batch.group(2)) / 1000] * (int(batch.group(1)) - 1) + [ended]
    return sorted(stamps)


def failed_cycles(proc: Proc) -> dict[str, int]:
    """How many monitor / dispatcher cycles our controller logged as failed (and the first reason)."""
    counts: dict[str, int] = {}
    for line in proc.log().splitlines():
        for loop in ("skalds-monitor", "skalds-dispatcher"):
            if f"{loop} cycle failed" in line:
                counts[loop] = counts.get(loop, 0) + 1
                counts.setdefault(f"{loop}: {line.split('cycle failed: ', 1)[-1][:90]}", 0)
    return counts


def measure_health(controller: Controller, samples: int = 3) -> list[float]:
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        with contextlib.suppress(httpx.HTTPError):
            if controller.http.get("/api/system/health", timeout=120).status_code == 200:
                times.append((time.perf_counter() - began) * 1000)
    return times


def scale_dispatch(ours: Ours, endpoints: Endpoints, mongo: MongoClient, options: argparse.Namespace,
                   result: ScaleResult, workdir: Path) -> None:
    names = ours.names
    db, prefix, topics = names.db("dispatch"), names.redis_prefix + "d:", names.topic_prefix + "d-"
    result.tasks, result.nodes = options.tasks, options.nodes
    log(f"scale/dispatch: inserting {options.tasks} Created tasks into {db}")
    result.insert_s = insert_tasks(mongo, db, task_documents(options.tasks, None))
    capacity = math.ceil(options.tasks / options.nodes * 1.5)
    sim = SimNodes(endpoints, workdir, "sim-dispatch", prefix=prefix, db=db, node_prefix=f"cbsim-{names.run_id}",
                   nodes=options.nodes, capacity=capacity, history=True, topic_prefix=topics)
    controller = None
    try:
        sim.wait(lambda s: s.get("writes", 0) >= options.nodes, 60, "first heartbeat of every node")
        controller = ours.controller(db, prefix, KAFKA_TOPIC_PREFIX=topics)
        log(f"scale/dispatch: controller ready after {controller.ready_after:.1f}s; assigning for at most "
            f"{options.dispatch_box:.0f}s")
        began = time.monotonic()
        last_cycle = None
        while time.monotonic() - began < options.dispatch_box:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                details = controller.component("Monitor")
                cycle = details.get("lastCycleMs")
                if cycle and cycle != last_cycle:
                    result.dispatch_cycle_ms.append(float(cycle))
                    last_cycle = cycle
                result.dispatch_lost = int(details.get("lostTasks", 0))
            if len(assignment_times(controller.proc)) >= options.tasks:
                break
            time.sleep(1)
        # The dispatcher's own counter (status "assigned") is added to only at the end of a pass of up
        # to 500 tasks, so the assignments are timed from the controller's log lines instead.
        stamps = assignment_times(controller.proc)
        result.dispatch_assigned = len(stamps)
        result.dispatch_box_s = time.monotonic() - began
        if stamps:
            result.dispatch_first_s = stamps[0] - controller.proc.started_wall
            if len(stamps) > 1:
                result.dispatch_window_s = stamps[-1] - stamps[0]
                result.dispatch_rate = (len(stamps) - 1) / max(1e-6, result.dispatch_window_s)
            if len(stamps) >= options.tasks:
                result.dispatch_all_s = stamps[-1] - controller.proc.started_wall
        with contextlib.suppress(httpx.HTTPError, ValueError):
            result.dispatch_counter = int(controller.component("Dispatcher").get("assigned", 0))
        result.dispatch_failed_cycles = failed_cycles(controller.proc)
    finally:
        if controller is not None:
            controller.stop()
        result.dispatch_sim = sim.stop()
        mongo.drop_database(db)
        cleanup_redis(endpoints, prefix)


def scale_ours(ours: Ours, endpoints: Endpoints, mongo: MongoClient, options: argparse.Namespace,
               result: ScaleResult, workdir: Path) -> None:
    names = ours.names
    db, prefix, topics = names.db("scale"), names.redis_prefix + "s:", names.topic_prefix + "s-"
    node_prefix = f"cbsim-{names.run_id}"
    node_ids = [f"{node_prefix}-{index:03d}" for index in range(options.nodes)]
    log(f"scale/steady: inserting {options.tasks} Running tasks on {options.nodes} nodes into {db}")
    result.tasks, result.nodes, result.steady = options.tasks, options.nodes, True
    insert_s = insert_tasks(mongo, db, task_documents(options.tasks, node_ids))
    if not result.insert_s:
        result.insert_s = insert_s
    capacity = math.ceil(options.tasks / options.nodes * 1.5)
    sim = SimNodes(endpoints, workdir, "sim-steady", prefix=prefix, db=db, node_prefix=node_prefix,
                   nodes=options.nodes, capacity=capacity, history=True, topic_prefix=topics)
    controller = None
    try:
        sim.wait(lambda s: s.get("held", 0) >= options.tasks and s.get("writes", 0) >= 2 * options.nodes, 300,
                 "every task held and heartbeated")
        controller = ours.controller(db, prefix, KAFKA_TOPIC_PREFIX=topics)
        result.ready_s = controller.ready_after
        wait_until(lambda: controller.http.get("/api/skalds", params={"status": "online"}).json()["total"]
                   >= options.nodes, 120, "all simulated nodes online", 0.5)
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: controller.component("Monitor").get("lastCycleMs"), 90, "a first monitor cycle", 0.5)
        log(f"scale/steady: sampling the monitor for {options.sample_seconds:.0f}s")
        cpu = CpuMeter(controller.proc.pid)
        began, last = time.monotonic(), None
        while time.monotonic() - began < options.sample_seconds:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                details = controller.component("Monitor")
                cycle = details.get("lastCycleMs")
                if cycle is not None and cycle != last:
                    result.cycle_ms.append(float(cycle))
                    last = cycle
                result.lost = int(details.get("lostTasks", 0))
            time.sleep(1)
        cpu_percent = cpu.percent()
        result.nodes_online = int(controller.http.get("/api/skalds", params={"status": "online"}).json()["total"])
        log(f"scale/steady: {options.list_requests} list requests (at most {options.list_box:.0f}s)")
        result.listing = measure_list(controller, list_queries(options.list_requests, options.tasks, node_ids),
                                      options.list_box)
        result.usage = memory_of(controller.proc.pid)
        if result.usage:
            result.usage.cpu_percent = cpu_percent
        result.health_ms = measure_health(controller)
        with contextlib.suppress(httpx.HTTPError, ValueError):
            result.lost = int(controller.component("Monitor").get("lostTasks", 0))
        result.failed_cycles = failed_cycles(controller.proc)
    finally:
        if controller is not None:
            controller.stop()
        result.sim = sim.stop()
        with contextlib.suppress(Exception):  # the store alone (nothing else running), same collection
            result.store_probe_ms = probe_store(mongo, db, options.tasks, samples=1 if options.tasks > 5000 else 3)
        mongo.drop_database(db)
        cleanup_redis(endpoints, prefix)


def baseline_controller(endpoints: Endpoints, db: str, python: Path, workdir: Path, home: Path) -> Controller:
    """0.3.8's controller on `db` (bench/controller_run_038.py), run from `home` (an empty directory: it
    reads `.env`), its timing probes in `home`/timing.jsonl; returned once its API answers."""
    home.mkdir(exist_ok=True)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"PYTHONUNBUFFERED": "1", "MONGO_HOST": endpoints.mongo_uri, "DB_NAME": db,
                "REDIS_HOST": endpoints.host, "REDIS_PORT": str(endpoints.redis_port),
                "KAFKA_HOST": endpoints.host, "KAFKA_PORT": str(endpoints.kafka_port),
                "SYSTEM_CONTROLLER_HOST": "127.0.0.1", "SYSTEM_CONTROLLER_PORT": str(port),
                "LOG_LEVEL": "INFO", "LOG_PATH": str(home / "logs")})
    command = [str(python), str(BENCH / "controller_run_038.py"), str(home / "timing.jsonl"), "DISPATCHER"]
    controller = Controller(Proc("controller-038", command, env, workdir, cwd=home), port, "/api/tasks/")
    try:
        controller.wait_ready(180)
    except BaseException:
        controller.stop()
        raise
    return controller


def scale_baseline(endpoints: Endpoints, mongo: MongoClient, options: argparse.Namespace, run_id: str,
                   result: ScaleResult, workdir: Path) -> None:
    python = Path(options.baseline_python)
    if not python.exists():
        raise RuntimeError(f"no baseline python at {python}: run bench/setup_baseline.sh, then "
                           f"{python.parent}/pip install 'skalds[backend]==0.3.8'")
    db = f"ctlbench038_{run_id}"
    node_prefix = f"cb038-{run_id}"
    node_ids = [f"{node_prefix}-{index:03d}" for index in range(options.nodes)]
    result.tasks, result.nodes, result.steady = options.tasks, options.nodes, True
    log(f"baseline: inserting {options.tasks} Running tasks (0.3.8 document shape) into {db}")
    # No index of ours here: 0.3.8 creates its own (`id_1`) and retries forever if `id` is indexed by
    # another name (ours is `id_unique`).
    result.insert_s = insert_tasks(mongo, db, task_documents(options.tasks, node_ids, shape_038=True),
                                   indexes=False)
    sim = SimNodes(endpoints, workdir, "sim-038", prefix="", db=db, node_prefix=node_prefix, nodes=options.nodes,
                   capacity=0, history=False, topic_prefix=None)
    home = workdir / "b038"
    timing = home / "timing.jsonl"
    controller = None
    try:
        sim.wait(lambda s: s.get("held", 0) >= options.tasks and s.get("writes", 0) >= 2 * options.nodes, 300,
                 "every task held and heartbeated")
        controller = baseline_controller(endpoints, db, python, workdir, home)
        proc = controller.proc
        result.ready_s = controller.ready_after
        wait_until(lambda: controller.http.get("/api/skalds/", params={"status": "online"}).json()["total"]
                   >= options.nodes, 120, "all simulated nodes online (0.3.8)", 0.5)
        log(f"baseline: sampling for {options.sample_seconds:.0f}s")
        cpu = CpuMeter(proc.pid)
        time.sleep(options.sample_seconds)
        cpu_percent = cpu.percent()
        result.nodes_online = int(controller.http.get("/api/skalds/", params={"status": "online"}).json()["total"])
        log(f"baseline: {options.list_requests} list requests (at most {options.list_box:.0f}s)")
        result.listing = measure_list(controller, list_queries(options.list_requests, options.tasks, node_ids),
                                      options.list_box)
        result.usage = memory_of(proc.pid)
        if result.usage:
            result.usage.cpu_percent = cpu_percent
        result.health_ms = measure_health(controller)
        lines = []
        with contextlib.suppress(OSError):
            lines = [json.loads(line) for line in timing.read_text().splitlines() if line.strip()]
        result.cycle_ms = [line["ms"] for line in lines if line["what"] == "skald_monitor"]
        result.cycle_other_ms = [line["ms"] for line in lines if line["what"] == "task_monitor"]
        result.dispatcher_passes = [line["ms"] for line in lines if line["what"] == "dispatcher"]
        syncs = [line["ms"] for line in lines if line["what"] == "initial_sync"]
        result.initial_sync_ms = syncs[0] if syncs else None
        text = proc.log()
        result.monitor_errors = text.count("Error in _monitor_tasks")
        if result.initial_sync_ms is None:
            result.notes.append(f"0.3.8's initial task sync had not finished after "
                                f"{time.monotonic() - proc.started:.0f}s (TaskMonitor cycles start only after it)")
        with contextlib.suppress(httpx.HTTPError, ValueError):
            summary = controller.http.get("/api/system/dashboard/summary", timeout=60).json()
            result.notes.append(f"0.3.8 dashboard summary: {summary.get('runningTasks')} running, "
                                f"{summary.get('failedTasks')} failed of {summary.get('totalTasks')}")
    finally:
        if controller is not None:
            controller.stop(45)
        result.sim = sim.stop()
        mongo.drop_database(db)


# --- orchestration -----------------------------------------------------------------------------------
@dataclass
class Results:
    latency: LatencyResult | None = None
    failover: dict[float, list[FailoverTrial]] = field(default_factory=dict)
    ours: ScaleResult | None = None
    base: ScaleResult | None = None
    errors: list[str] = field(default_factory=list)


def run_real_nodes(options: argparse.Namespace, endpoints: Endpoints, names: Names, workdir: Path,
                   results: Results) -> None:
    ours = Ours(endpoints, names, workdir)
    db = names.db("real")
    records = Records(workdir / "records.jsonl")
    nodes: dict[str, Proc] = {}
    controller = None
    try:
        controller = ours.controller(db, names.redis_prefix)
        for suffix in ("a", "b"):
            skald_id = f"cbnode-{names.run_id}-{suffix}"
            nodes[skald_id] = ours.node(skald_id, db)
        for skald_id in nodes:
            wait_until(lambda sid=skald_id: node_online(controller, sid), 30, f"{skald_id} online", 0.2)
        log(f"latency: {options.latency_tasks} tasks, created one at a time")
        results.latency = measure_create_latency(controller, records, options.latency_tasks, warmup=5)
        for timeout in (6.0, 3.0):
            if timeout != 6.0:
                controller.stop()
                controller = ours.controller(db, names.redis_prefix, MONITOR_HEARTBEAT_TIMEOUT=str(timeout))
                for skald_id in nodes:
                    wait_until(lambda sid=skald_id, c=controller: node_online(c, sid), 30, f"{skald_id} online",
                               0.2)
            trials = options.failover_trials
            log(f"failover: {trials} trials, MONITOR_HEARTBEAT_TIMEOUT={timeout:g}")
            results.failover[timeout] = []
            for trial in range(trials):
                victim = list(nodes)[trial % 2]
                outcome = failover_trial(ours, controller, nodes, victim, db, records, 4, 60)
                results.failover[timeout].append(outcome)
                log(f"  trial {trial + 1}: {outcome.moved} task(s) of {outcome.victim} Running elsewhere after "
                    f"{fmt(outcome.running_s, 2)}s (offline seen {fmt(outcome.offline_s, 2)}s)")
    finally:
        if controller is not None:
            controller.stop()
        for proc in nodes.values():
            proc.stop()
        with contextlib.closing(MongoClient(endpoints.mongo_uri)) as client:
            client.drop_database(db)
        cleanup_redis(endpoints, names.redis_prefix)


def cleanup_kafka(endpoints: Endpoints, names: Names) -> None:
    with contextlib.suppress(Exception):
        admin = AdminClient({"bootstrap.servers": endpoints.kafka})
        topics = [name for name in admin.list_topics(timeout=10).topics if name.startswith(names.topic_prefix)]
        if topics:
            for future in admin.delete_topics(topics, operation_timeout=30).values():
                with contextlib.suppress(Exception):
                    future.result()
        groups = [group.group_id for group in admin.list_consumer_groups(request_timeout=10).result().valid
                  if group.group_id.startswith(f"cbnode-{names.run_id}")]
        if groups:
            for future in admin.delete_consumer_groups(groups, request_timeout=30).values():
                with contextlib.suppress(Exception):
                    future.result()


# --- report ----------------------------------------------------------------------------------------
def render(results: Results, options: argparse.Namespace, meta: dict[str, str]) -> str:
    ours, base = results.ours, results.base
    run_ours, run_base = options.only in (None, "ours"), options.only in (None, "baseline")
    not_run = "not run"
    n_tasks = f"{options.tasks:,}"

    def cell(value: str | None, ran: bool) -> str:
        return value if ran and value is not None else not_run

    rows: list[tuple[str, str, str]] = []
    latency = results.latency
    if latency is not None or run_ours:
        samples = latency.samples_ms if latency else []
        lost = f", {latency.lost} never started" if latency and latency.lost else ""
        rows.append((f"API create → main hook entered, p50 / p99 / max (ms), n={len(samples)}{lost}",
                     cell(f"{fmt(median(samples))} / {fmt(percentile(samples, 0.99))} / "
                          f"{fmt(max(samples) if samples else None)}" if latency else None, run_ours),
                     "n/a: 0.3.8 has no create endpoint (spec §11.2) and its Dispatcher never dispatches "
                     "(§15.1 bug 1)"))
        rows.append(("… of which: POST answered / task assigned by the dispatcher (controller's share), "
                     "p50 / p99 (ms)",
                     cell(f"{fmt(median(latency.post_ms))} / {fmt(percentile(latency.post_ms, 0.99))}; "
                          f"{fmt(median(latency.assigned_ms))} / {fmt(percentile(latency.assigned_ms, 0.99))}"
                          if latency else None, run_ours), "n/a"))
    for timeout in (6.0, 3.0):
        trials = results.failover.get(timeout)
        values = [trial.running_s for trial in trials or [] if trial.running_s is not None]
        failed = len(trials or []) - len(values)
        extra = f", {failed} trial(s) not moved within 60 s" if failed else ""
        rows.append((f"Node SIGKILLed → its tasks Running on the other node, median / max (s), "
                     f"{len(trials or [])} trials, MONITOR_HEARTBEAT_TIMEOUT={timeout:g}{extra}",
                     cell(f"{fmt(median(values), 2)} / {fmt(max(values) if values else None, 2)}"
                          if trials is not None else None, run_ours),
                     "n/a: 0.3.8 never re-dispatches (§15.1 bug 1) and its TaskMonitor aborts on Running "
                     "passive tasks (bug 2)"))
    if ours is not None or run_ours:
        if ours and ours.dispatch_assigned is not None:
            if ours.dispatch_all_s is not None:
                value = (f"{fmt(ours.dispatch_rate, 1)}/s (all {n_tasks} assigned "
                         f"{fmt(ours.dispatch_all_s, 1)} s after the controller started)")
            else:
                projected = (options.tasks / ours.dispatch_rate) if ours.dispatch_rate else None
                value = (f"{fmt(ours.dispatch_rate, 2)}/s: {ours.dispatch_assigned:,} of {n_tasks} in the "
                         f"{options.dispatch_box:.0f} s box" + (f" (all would take ≈{fmt(projected)} s)"
                                                                 if projected else ""))
            failed = ours.dispatch_failed_cycles.get("skalds-dispatcher")
            if failed:
                value += f"; {failed} dispatcher passes failed (store timeouts)"
        else:
            value = None
        rows.append((f"Dispatcher: {n_tasks} Created tasks → assigned, assignments/s ({options.nodes} nodes)",
                     cell(value, run_ours), "n/a: the Dispatcher never dispatches (§15.1 bug 1)"))

    def cycles(result: ScaleResult | None, values: list[float] | None) -> str | None:
        if result is None or values is None or not result.steady:
            return None
        if not values:
            return "no cycle completed"
        return (f"{fmt(median(values))} / {fmt(percentile(values, 0.95))} / {fmt(max(values))} "
                f"(n={len(values)})")

    base_cycle = None
    if base is not None:
        task_part = cycles(base, base.cycle_other_ms)
        if base.initial_sync_ms is None:
            task_part = "none: still in its initial sync"
        elif base.monitor_errors:
            task_part = f"{task_part}, every one aborted by bug 2 ({base.monitor_errors} errors)"
        base_cycle = f"SkaldMonitor {cycles(base, base.cycle_ms)}; TaskMonitor {task_part}"
    ours_cycle = cycles(ours, ours.cycle_ms if ours else None)
    if ours_cycle and ours and ours.failed_cycles.get("skalds-monitor"):
        ours_cycle += f"; {ours.failed_cycles['skalds-monitor']} cycles failed (store timeouts)"
    rows.append((f"Monitor cycle, {n_tasks} Running tasks + {options.nodes} nodes, median / p95 / max (ms)",
                 cell(ours_cycle, run_ours), cell(base_cycle, run_base)))
    base_sync = None
    if base is not None:
        base_sync = (f"initial task sync {fmt(base.initial_sync_ms / 1000 if base.initial_sync_ms else None, 1)} s"
                     if base.initial_sync_ms is not None else "initial task sync not finished in the window")
    rows.append(("Controller start → API answering (s)",
                 cell(fmt(ours.ready_s, 1) if ours and ours.ready_s else None, run_ours),
                 cell(f"{fmt(base.ready_s, 1)}; {base_sync}" if base and base.ready_s else None, run_base)))
    rows.append(("Tasks declared lost at steady state (should be 0)",
                 cell(str(ours.lost) if ours and ours.lost is not None else None, run_ours),
                 "n/a (no such notion; see monitor row)"))

    def listing(result: ScaleResult | None) -> str | None:
        if result is None or result.listing is None:
            return None
        lat = result.listing.latencies_ms
        text = f"{fmt(median(lat))} / {fmt(percentile(lat, 0.99))} (n={len(lat)}"
        if result.listing.errors:
            text += f", {result.listing.errors} errors"
        if result.listing.timed_out:
            text += f", {options.list_box:.0f} s box closed"
        return text + ")"

    rows.append((f"API list p50 / p99 (ms): GET /api/tasks?page=N&pageSize=50, no filter / lifecycleStatus / "
                 f"className / executor, {options.list_requests} requests planned",
                 cell(listing(ours), run_ours), cell(listing(base), run_base)))

    def usage(result: ScaleResult | None) -> str | None:
        if result is None or result.usage is None:
            return None
        return f"{fmt(result.usage.rss_mib)} / {fmt(result.usage.uss_mib)}"

    def cpu(result: ScaleResult | None) -> str | None:
        if result is None or result.usage is None or result.usage.cpu_percent is None:
            return None
        return fmt(result.usage.cpu_percent)

    def health(result: ScaleResult | None) -> str | None:
        if result is None or not result.steady:
            return None
        return f"{fmt(median(result.health_ms))} (n={len(result.health_ms)})" if result.health_ms else "no answer"

    rows.append(("GET /api/system/health at that size, median (ms)", cell(health(ours), run_ours),
                 cell(health(base), run_base)))
    rows.append(("Controller memory RSS / USS (MiB), after the list requests",
                 cell(usage(ours), run_ours), cell(usage(base), run_base)))
    rows.append(("Controller CPU while idle-monitoring (% of one core)",
                 cell(cpu(ours), run_ours), cell(cpu(base), run_base)))

    lines = [f"# Controller benchmark — {meta['date']}", "",
             f"Machine: {meta['machine']}; load average (1/5/15 min) at start {meta['load_start']}, "
             f"at end {meta['load_end']}.  ",
             f"Services: {meta['services']}.  ",
             f"Run: `{meta['command']}` ({meta['duration']}); ours = this repository "
             f"({meta['ours_version']}), 0.3.8 = skalds 0.3.8 from PyPI.", "",
             "| Metric | ours | Skalds 0.3.8 |", "|---|---|---|"]
    lines += [f"| {name} | {ours_value} | {base_value} |" for name, ours_value, base_value in rows]
    lines += ["", "Setup: ours runs DISPATCHER mode with default intervals (monitor 1 s, "
              "dispatcher woken on new work plus a 5 s sweep, "
              "lease 6 s, assign timeout 15 s); real nodes use HEARTBEAT_PERIOD=1; simulated nodes write "
              "every 3 s (our node's default), consume task.assign (one consumer for all of them), read the "
              "assigned tasks' documents in one query per batch of events and record them Running with a node's "
              "compare-and-set (bench/controller_simnodes.py). 0.3.8 runs DISPATCHER "
              "mode with its defaults (SkaldMonitor 5 s, TaskMonitor 3 s, Dispatcher 5 s)."]
    details = detail_sections(results, options)
    if details:
        lines += ["", *details]
    if results.errors:
        lines += ["", "Errors:", *[f"- {error}" for error in results.errors]]
    return "\n".join(lines) + "\n"


def detail_sections(results: Results, options: argparse.Namespace) -> list[str]:
    lines: list[str] = []
    for timeout, trials in results.failover.items():
        if trials:
            lines.append(f"Failover trials, timeout {timeout:g} s (victim: moved tasks, offline seen / all Running "
                         f"elsewhere / all main hooks re-entered, s): " + "; ".join(
                             f"{t.victim.rsplit('-', 1)[-1]}:{t.moved} {fmt(t.offline_s, 1)}/{fmt(t.running_s, 1)}/"
                             f"{fmt(t.main_s, 1)}" for t in trials))
    for label, result in (("ours", results.ours), ("0.3.8", results.base)):
        if result is None or not result.tasks:
            continue
        parts = [f"inserting {result.tasks:,} tasks took {fmt(result.insert_s, 1)} s"]
        if result.dispatch_cycle_ms:
            parts.append(f"monitor cycle while dispatching: median {fmt(median(result.dispatch_cycle_ms))} ms, "
                         f"max {fmt(max(result.dispatch_cycle_ms))} ms")
        if result.dispatch_lost:
            parts.append(f"tasks declared lost while dispatching: {result.dispatch_lost}")
        if result.dispatch_first_s is not None:
            parts.append(f"first assignment {fmt(result.dispatch_first_s, 1)} s after the controller process started")
        for label_, counts in (("while dispatching", result.dispatch_failed_cycles),
                               ("in steady state", result.failed_cycles)):
            reasons = [key for key in counts if ": " in key]
            if reasons:
                parts.append(f"failed cycles {label_}: " + ", ".join(
                    f"{loop} {counts[loop]}" for loop in ("skalds-monitor", "skalds-dispatcher") if loop in counts)
                    + f" (e.g. {reasons[0]})")
        if result.dispatch_sim:
            sim = result.dispatch_sim
            parts.append(f"while dispatching the simulated nodes got {sim.get('assign_events', 0):,} task.assign "
                         f"events and recorded {sim.get('marked_running', 0):,} tasks Running "
                         f"(Mongo read+CAS batch max {fmt(sim.get('poll_ms_max'))} ms)")
        if result.dispatch_counter is not None and result.dispatch_assigned is not None:
            parts.append(f"the dispatcher's own counter (GET /api/system/status) showed {result.dispatch_counter:,} "
                         f"assigned while its log showed {result.dispatch_assigned:,}")
        if result.listing is not None and result.listing.error_texts:
            parts.append("list errors: " + " | ".join(result.listing.error_texts[:3]))
        if result.listing is not None:
            kinds = ", ".join(f"{kind} {fmt(median(values))}/{fmt(percentile(values, 0.99))}"
                              for kind, values in result.listing.by_kind.items())
            parts.append(f"list p50/p99 by filter (ms): {kinds}; {fmt(result.listing.seconds)} s for "
                         f"{len(result.listing.latencies_ms)} requests")
        if result.nodes_online is not None:
            parts.append(f"nodes online at the end of sampling: {result.nodes_online}/{result.nodes}")
        if result.dispatcher_passes:
            parts.append(f"Dispatcher passes: {len(result.dispatcher_passes)}, median "
                         f"{fmt(median(result.dispatcher_passes), 2)} ms (returns at once: it sees no Skald)")
        if result.store_probe_ms:
            parts.append("task-store cost of one operation on this collection, controller and simulated nodes "
                         "stopped (ms): " + ", ".join(
                f"{name} {fmt(value)}" for name, value in result.store_probe_ms.items()))
        sim = result.sim
        if sim:
            parts.append(f"simulated nodes: {sim.get('writes', 0):,} heartbeat writes, lateness max "
                         f"{fmt(sim.get('late_max_ms'))} ms, pipeline max {fmt(sim.get('pipeline_ms_max'))} ms, "
                         f"ownership read max "
                         f"{fmt(sim.get('ownership_ms_max'))} ms, errors {sim.get('errors', 0)}"
                         + (f" ({sim.get('last_error')})" if sim.get("errors") else ""))
        parts += result.notes
        lines.append(f"Scale details, {label}: " + "; ".join(parts) + ".")
    return [f"- {line}" for line in lines]


def run_meta(script: str, services: dict[str, str], started: float, load_start: str) -> dict[str, str]:
    """What a report's header says about the machine and the run (`started`: time.monotonic())."""
    from importlib.metadata import version

    return {"date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "load_start": load_start, "load_end": load_average(), "services": "; ".join(services.values()),
            "command": f"bench/{script} " + " ".join(sys.argv[1:]),
            "duration": f"{(time.monotonic() - started) / 60:.1f} min",
            "ours_version": f"skalds {version('skalds')}"}


def write_report(report: str, output: Path) -> None:
    print(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report, encoding="utf-8")
    log(f"written to {output}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["ours", "baseline"], help="run one side only")
    parser.add_argument("--quick", action="store_true", help="fewer tasks, trials and requests")
    parser.add_argument("--tasks", type=int, help="tasks in the scale phases (10,000; quick 2,000)")
    parser.add_argument("--nodes", type=int, default=100, help="simulated nodes in the scale phases")
    parser.add_argument("--latency-tasks", type=int, help="tasks timed create -> main (100; quick 30)")
    parser.add_argument("--trials", type=int, help="failover trials per heartbeat timeout (10; quick 3)")
    parser.add_argument("--skip", action="append", default=[], choices=["latency", "dispatch", "steady"],
                        help="skip one of our phases (latency includes failover)")
    parser.add_argument("--baseline-python", default=os.environ.get("SKALDS_BASELINE_PYTHON",
                                                                    str(DEFAULT_BASELINE_PYTHON)))
    parser.add_argument("--output", help="results file (default bench/results/controller-<date>[-quick].md)")
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs of all processes")
    options = parser.parse_args()
    quick = options.quick
    options.tasks = options.tasks or (2000 if quick else 10000)
    options.latency_tasks = options.latency_tasks or (30 if quick else 100)
    options.failover_trials = options.trials or (3 if quick else 10)
    options.dispatch_box = 45.0 if quick else 120.0
    options.sample_seconds = 15.0 if quick else 30.0
    options.list_requests = 60 if quick else 200
    options.list_box = 45.0 if quick else 90.0

    endpoints = Endpoints.from_env()
    services = endpoints.check()
    names = Names(uuid.uuid4().hex[:6])
    workdir = Path(tempfile.mkdtemp(prefix=f"controller-bench-{names.run_id}-"))
    log(f"run {names.run_id}, logs in {workdir}")
    started, load_start = time.monotonic(), load_average()
    results = Results()
    mongo = MongoClient(endpoints.mongo_uri, serverSelectionTimeoutMS=5000, socketTimeoutMS=600000)
    try:
        if options.only in (None, "ours"):
            ours = Ours(endpoints, names, workdir)
            if "latency" not in options.skip:
                try:
                    run_real_nodes(options, endpoints, names, workdir, results)
                except Exception as error:
                    results.errors.append(f"latency/failover: {type(error).__name__}: {str(error)[:600]}")
                    log(results.errors[-1])
            results.ours = ScaleResult()
            if "dispatch" not in options.skip:
                try:
                    scale_dispatch(ours, endpoints, mongo, options, results.ours, workdir)
                except Exception as error:
                    results.errors.append(f"scale/dispatch: {type(error).__name__}: {str(error)[:600]}")
                    log(results.errors[-1])
            if "steady" not in options.skip:
                try:
                    scale_ours(ours, endpoints, mongo, options, results.ours, workdir)
                except Exception as error:
                    results.errors.append(f"scale/steady: {type(error).__name__}: {str(error)[:600]}")
                    log(results.errors[-1])
        if options.only in (None, "baseline"):
            results.base = ScaleResult()
            try:
                scale_baseline(endpoints, mongo, options, names.run_id, results.base, workdir)
            except Exception as error:
                results.errors.append(f"baseline: {type(error).__name__}: {str(error)[:600]}")
                log(results.errors[-1])
    finally:
        cleanup_kafka(endpoints, names)
        mongo.close()
    report = render(results, options, run_meta("controller_bench.py", services, started, load_start))
    write_report(report, Path(options.output) if options.output else (
        BENCH / "results" / f"controller-{dt.date.today().isoformat()}{'-quick' if quick else ''}.md"))
    if not options.keep_workdir and not results.errors:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"process logs kept in {workdir}")
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
