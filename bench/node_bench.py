#!/usr/bin/env python
"""Compare our Skald node with Skalds 0.3.8 (PyPI) on the same real services.

    scripts/services up                      # Kafka, MongoDB-wire server, Redis (not started here)
    bench/setup_baseline.sh                  # once: venv with skalds==0.3.8
    .venv/bin/python bench/node_bench.py     # full run (< 10 min), or --quick / --only ours

Endpoints come from the same variables as scripts/services: SKALDS_KAFKA_PORT (9092),
SKALDS_MONGO_PORT (27017), SKALDS_REDIS_PORT (6379), SKALDS_MONGO_USER/_PASSWORD (root/root),
SKALDS_BENCH_HOST (127.0.0.1).

Per system, one node process (a subprocess, like tests/support/nodes.py) runs the bench
worker (workers.py / workers_038.py); the worker appends `time.time()` records (main
entered, main returned, update handler entered) to a JSON-lines file the bench reads.
Phases: warm-up, assign latency (sequential), throughput (one burst), 50 long-running
workers (update latency, memory), cancel latency (sequential). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis
from bench_services import Endpoints
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from pymongo import MongoClient
from workers import BenchModel

from skalds.model.task import Task
from skalds.repository.repository import TaskRepository
from skalds.transport.kafka_events import KafkaSettings, ensure_topics
from skalds.transport.mongo_tasks import MongoTaskStore, mongo_client

BENCH = Path(__file__).resolve().parent
DEFAULT_BASELINE_PYTHON = (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                           / "skalds" / "bench" / "venv-skalds-0.3.8" / "bin" / "python")
TOPICS = ("task.assign", "task.cancel", "task.update.attachment", "testing")
BASELINE_TOPICS = (*TOPICS, "taskworker.update")
MiB = 1024 * 1024
FINISHED_GRACE = 60.0  # seconds to wait for Finished writes after the last main hook returned


# --- worker records -------------------------------------------------------------------------------
class Records:
    """Incremental reader of the JSON-lines file all workers of one system append to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self._index: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def poll(self) -> None:
        try:
            with self.path.open("rb") as file:
                file.seek(self._offset)
                chunk = file.read()
        except FileNotFoundError:
            return
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                record = json.loads(line)
                self._index.setdefault((record["event"], record["task"]), []).append(record)

    def get(self, event: str, task_id: str, label: str | None = None) -> dict[str, Any] | None:
        for record in self._index.get((event, task_id), ()):
            if label is None or record.get("label") == label:
                return record
        return None

    def pids(self, event: str) -> list[int]:
        return [int(record["pid"]) for (kind, _), records in self._index.items() if kind == event
                for record in records]

    def wait(self, event: str, task_id: str, timeout: float, label: str | None = None,
             interval: float = 0.002) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            record = self.get(event, task_id, label)
            if record is not None or time.monotonic() > deadline:
                return record
            time.sleep(interval)

    def wait_all(self, event: str, task_ids: Iterable[str], timeout: float) -> dict[str, dict[str, Any]]:
        pending, found = set(task_ids), {}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            self.poll()
            for task_id in list(pending):
                record = self.get(event, task_id)
                if record is not None:
                    found[task_id] = record
                    pending.discard(task_id)
            if pending:
                time.sleep(0.02)
        return found


def pid_gone(pid: int) -> bool:
    """The process no longer runs (gone, or exited and not yet reaped)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# --- node processes -------------------------------------------------------------------------------
class NodeProcess:
    def __init__(self, command: list[str], env: dict[str, str], workdir: Path, name: str) -> None:
        self.log_path = workdir / f"{name}.out"
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.process.poll() is not None:
                raise RuntimeError(f"node exited ({self.process.returncode}) before {what}; log "
                                   f"{self.log_path}:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"node not {what} within {timeout}s; log {self.log_path}:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def stop(self, graceful_timeout: float) -> None:
        """SIGTERM and wait (if graceful_timeout > 0), then SIGKILL whatever is left of its process group."""
        if graceful_timeout > 0 and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(graceful_timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # the node was started in its own session: pgid == pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


def describe_process(process: psutil.Process, node_pid: int) -> str:
    try:
        cmdline = " ".join(process.cmdline())
    except psutil.Error:
        cmdline = ""
    if process.pid == node_pid:
        return "node process"
    if "forkserver" in cmdline:
        # the server's children share its command line: they are forked workers waiting for a task
        try:
            parent = process.parent()
            forked = parent is not None and "forkserver" in " ".join(parent.cmdline())
        except psutil.Error:
            forked = False
        return "standby worker (forked, waiting for a task)" if forked else "fork server"
    if "resource_tracker" in cmdline:
        return "multiprocessing resource tracker"
    if process.ppid() == node_pid and cmdline.endswith(".py"):
        return "forked child of the node (multiprocessing Manager)"
    return cmdline[:80] or f"pid {process.pid}"


@dataclass
class MemorySample:
    uss: int
    rss: int
    pss: int


def memory_of(process: psutil.Process) -> MemorySample | None:
    try:
        info = process.memory_full_info()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None
    return MemorySample(uss=info.uss, rss=info.rss, pss=getattr(info, "pss", 0))


# --- the two systems ------------------------------------------------------------------------------
class System:
    key = ""
    title = ""

    def __init__(self, endpoints: Endpoints, run_id: str, workdir: Path) -> None:
        self.endpoints = endpoints
        self.run_id = run_id
        self.workdir = workdir
        self.records = Records(workdir / f"records-{self.key}.jsonl")
        self.producer = Producer({"bootstrap.servers": endpoints.kafka, "linger.ms": 0, "acks": "all",
                                  "log_level": 4})  # warnings and up (not notices about deleted topics)
        self.redis = redis.Redis(host=endpoints.host, port=endpoints.redis_port, decode_responses=True)
        self.mongo: MongoClient = mongo_client(endpoints.mongo_uri)
        self.node: NodeProcess | None = None
        self.task_prefix = f"{run_id}{self.key[0]}-"

    # identity
    @property
    def skald_id(self) -> str:
        return f"bench-{self.key}-{self.run_id}"

    @property
    def db_name(self) -> str:
        return f"bench_{self.key}_{self.run_id}"

    def task_id(self, phase: str, index: int) -> str:
        return f"{self.task_prefix}{phase}{index:04d}"

    def model(self, seconds: float, label: str = "initial") -> BenchModel:
        return BenchModel(seconds=seconds, record_to=str(self.records.path), label=label)

    # events
    def topic(self, name: str) -> str:
        return name

    def produce(self, topic: str, task_id: str, flush: bool = True) -> None:
        self.producer.produce(self.topic(topic), key=task_id.encode(), value=json.dumps({"taskIds": [task_id]}))
        if flush:
            self.flush()

    def flush(self) -> None:
        if self.producer.flush(30):
            raise RuntimeError("Kafka did not acknowledge the bench's events within 30 s")

    # to implement
    def start(self) -> None: ...
    def create(self, task_ids: list[str], seconds: float) -> None: ...
    def store_update(self, task_id: str, label: str, seconds: float) -> None: ...
    def cancel_recorded(self, task_id: str) -> bool: ...
    def finished_at(self, task_ids: list[str]) -> dict[str, float] | None: ...
    def abandon(self, task_ids: list[str]) -> None:
        """Delete task documents: both nodes then skip their queued assigns (task not found)."""
        self.mongo[self.db_name]["tasks"].delete_many({"id": {"$in": task_ids}})

    def wait_update_consumers(self, task_ids: list[str], timeout: float) -> int:
        return len(task_ids)

    def stop(self) -> None: ...
    def cleanup(self) -> None: ...

    def close(self) -> None:
        self.producer.flush(5)
        self.mongo.close()
        self.redis.close()


class Ours(System):
    key = "ours"
    title = "Skalds (ours)"

    def __init__(self, endpoints: Endpoints, run_id: str, workdir: Path) -> None:
        super().__init__(endpoints, run_id, workdir)
        self.topic_prefix = f"bench-{run_id}."
        self.redis_prefix = f"bench-{run_id}:"
        self.store = MongoTaskStore(self.mongo, self.db_name)
        self.repository = TaskRepository(self.store)
        self.script = BENCH / "run_node.py"

    def topic(self, name: str) -> str:
        return self.topic_prefix + name

    def start(self) -> None:
        ep = self.endpoints
        env = {
            **os.environ,
            "PYTHONPATH": str(BENCH),
            "PYTHONUNBUFFERED": "1",
            "SKALD_ID": self.skald_id,
            "SKALD_MODE": "node",
            "LOG_LEVEL": os.environ.get("BENCH_NODE_LOG_LEVEL", "INFO"),
            "LOG_PATH": str(self.workdir / "logs-ours"),
            "KAFKA_HOST": ep.host,
            "KAFKA_PORT": str(ep.kafka_port),
            "KAFKA_TOPIC_PREFIX": self.topic_prefix,
            "KAFKA_REPLICATION_FACTOR": "1",
            "MONGO_HOST": ep.mongo_uri,
            "DB_NAME": self.db_name,
            "REDIS_HOST": ep.host,
            "REDIS_PORT": str(ep.redis_port),
            "REDIS_KEY_PREFIX": self.redis_prefix,
            # the defaults, spelled out: they bound the cancel path (request -> SIGTERM -> SIGKILL)
            "HEARTBEAT_PERIOD": "1",  # the default since nodes fence themselves (fence_seconds 4)
            "CANCEL_REQUEST_TIMEOUT": "2",
            "CANCEL_GRACE_SECONDS": "10",
        }
        self.node = NodeProcess([sys.executable, str(self.script)], env, self.workdir, "node-ours")
        node = self.node
        node.wait_until(lambda: f"Skald node {self.skald_id} ready" in node.log(), 90, "ready")

    def create(self, task_ids: list[str], seconds: float) -> None:
        def one(task_id: str) -> None:
            self.repository.create_task(Task(id=task_id, class_name="BenchWorker", source="bench",
                                             attachments=self.model(seconds)))
            self.repository.update_executor(task_id, self.skald_id)

        with ThreadPoolExecutor(max_workers=8) as pool:  # four round trips per task: not timed, just slow
            list(pool.map(one, task_ids))

    def store_update(self, task_id: str, label: str, seconds: float) -> None:
        self.repository.update_attachments(task_id, self.model(seconds, label))

    def cancel_recorded(self, task_id: str) -> bool:
        document = self.store.get(task_id)
        return bool(document and document.get("lifecycleStatus") == "Cancelled")

    def finished_at(self, task_ids: list[str]) -> dict[str, float] | None:
        """Task id -> when Finished was written (its updateDateTime, written by the node)."""
        documents = self.store.find({"id": task_ids, "lifecycleStatus": "Finished"},
                                    fields=("id", "updateDateTime"))
        return {document["id"]: int(document["updateDateTime"]) / 1000 for document in documents}

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop(graceful_timeout=30)

    def cleanup(self) -> None:
        self.mongo.drop_database(self.db_name)
        keys = list(self.redis.scan_iter(match=self.redis_prefix + "*", count=1000))
        if keys:
            self.redis.delete(*keys)
        admin = AdminClient({"bootstrap.servers": self.endpoints.kafka})
        topics = [name for name in admin.list_topics(timeout=10).topics if name.startswith(self.topic_prefix)]
        for future in (admin.delete_topics(topics, operation_timeout=10).values() if topics else []):
            with contextlib.suppress(Exception):
                future.result(10)
        for future in admin.delete_consumer_groups([self.skald_id]).values():
            with contextlib.suppress(Exception):
                future.result(10)


class Baseline(System):
    key = "038"
    title = "Skalds 0.3.8"

    def __init__(self, endpoints: Endpoints, run_id: str, workdir: Path, python: Path) -> None:
        super().__init__(endpoints, run_id, workdir)
        self.python = python
        self.tasks = self.mongo[self.db_name]["tasks"]
        self.admin = AdminClient({"bootstrap.servers": endpoints.kafka})

    def start(self) -> None:
        ep = self.endpoints
        # 0.3.8 has no topic prefixes and relies on auto-creation; create them up front so the
        # first events do not race the creation of a topic (and its leader election).
        ensure_topics(KafkaSettings(bootstrap_servers=ep.kafka), BASELINE_TOPICS, partitions=1)
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update({
            "PYTHONPATH": str(BENCH),  # workers_038.py; never the checkout root (it would shadow 0.3.8)
            "PYTHONUNBUFFERED": "1",
            "SKALD_ID": self.skald_id,  # also its consumer group (bound at import)
            "SKALD_MODE": "node",
            "LOG_LEVEL": "INFO",
            "LOG_PATH": str(self.workdir / "logs-038"),
            "KAFKA_HOST": ep.host,
            "KAFKA_PORT": str(ep.kafka_port),
            "REDIS_HOST": ep.host,
            "REDIS_PORT": str(ep.redis_port),
            "MONGO_HOST": ep.mongo_uri,
            "DB_NAME": self.db_name,
        })
        self.node = NodeProcess([str(self.python), str(BENCH / "run_node_038.py")], env, self.workdir, "node-038")
        node = self.node
        node.wait_until(lambda: self.redis.hget("skalds:hash", self.skald_id) is not None, 90,
                        "registered in Redis (skalds:hash)")
        # auto_offset_reset=latest: events sent before its group owns the partitions are lost
        node.wait_until(lambda: self._groups_stable([self.skald_id]) == 1, 60, "consuming (group stable)")

    def _groups_stable(self, prefixes: list[str], exact: bool = True) -> int:
        listing = self.admin.list_consumer_groups().result(timeout=10)
        stable = {group.group_id for group in listing.valid if str(group.state).endswith("STABLE")}
        if exact:
            return sum(1 for prefix in prefixes if prefix in stable)
        return sum(1 for prefix in prefixes if any(group.startswith(prefix) for group in stable))

    def wait_update_consumers(self, task_ids: list[str], timeout: float) -> int:
        """Each 0.3.8 worker has its own consumer group (`{task_id}_{8 hex}`) on taskworker.update."""
        deadline, ready = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            ready = self._groups_stable([f"{task_id}_" for task_id in task_ids], exact=False)
            if ready == len(task_ids):
                break
            time.sleep(0.5)
        return ready

    def document(self, task_id: str, seconds: float) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return {"_id": task_id, "id": task_id, "className": "BenchWorker", "source": "bench", "name": None,
                "description": None,
                "executor": self.skald_id, "dependencies": None, "mode": "Passive", "isPersistent": True,
                "createDateTime": now, "updateDateTime": now, "deadlineDateTime": now + 7 * 86_400_000,
                "lifecycleStatus": "Created", "priority": 0, "attachments": self.model(seconds).model_dump()}

    def create(self, task_ids: list[str], seconds: float) -> None:
        self.tasks.insert_many([self.document(task_id, seconds) for task_id in task_ids])

    def store_update(self, task_id: str, label: str, seconds: float) -> None:
        self.tasks.update_one({"id": task_id}, {"$set": {"attachments": self.model(seconds, label).model_dump(),
                                                         "updateDateTime": int(time.time() * 1000)}})

    def cancel_recorded(self, task_id: str) -> bool:
        return self.redis.get(f"task:{task_id}:heartbeat") == "-2"

    def finished_at(self, task_ids: list[str]) -> dict[str, float] | None:
        return None  # 0.3.8 nodes write no lifecycle status (its controller would)

    def heartbeats(self, task_ids: list[str]) -> list[str | None]:
        return self.redis.mget([f"task:{task_id}:heartbeat" for task_id in task_ids])

    def stop(self) -> None:
        # Its graceful shutdown SIGTERMs and waits for each worker in turn (seconds each); the
        # measurements are done, so end the whole process group at once.
        if self.node is not None:
            self.node.stop(graceful_timeout=0)

    def cleanup(self) -> None:
        self.mongo.drop_database(self.db_name)
        for pattern in (f"task:{self.task_prefix}*", f"skalds:{self.skald_id}:*"):
            keys = list(self.redis.scan_iter(match=pattern, count=1000))
            if keys:
                self.redis.delete(*keys)
        self.redis.hdel("skalds:hash", self.skald_id)
        self.redis.hdel("skalds:mode:hash", self.skald_id)
        listing = self.admin.list_consumer_groups().result(timeout=10)
        groups = [group.group_id for group in listing.valid
                  if group.group_id == self.skald_id or group.group_id.startswith(self.task_prefix)]
        for start in range(0, len(groups), 100):
            for future in self.admin.delete_consumer_groups(groups[start:start + 100]).values():
                with contextlib.suppress(Exception):
                    future.result(10)


# --- measurements ---------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Latency:
    samples: list[float] = field(default_factory=list)  # seconds
    lost: int = 0
    note: str = ""

    def ms(self, q: float) -> float | None:
        return percentile(self.samples, q) * 1000 if self.samples else None

    def summary(self) -> str:
        if not self.samples:
            return f"no samples ({self.lost} lost)"
        return (f"n={len(self.samples)} lost={self.lost} p50={self.ms(0.5):.1f} ms p99={self.ms(0.99):.1f} ms "
                f"mean={sum(self.samples) / len(self.samples) * 1000:.1f} ms max={max(self.samples) * 1000:.1f} ms"
                + (f" ({self.note})" if self.note else ""))


@dataclass
class Throughput:
    tasks: int = 0
    mains_done: int = 0
    mains_seconds: float | None = None
    finished_done: int | None = None
    finished_seconds: float | None = None
    record_lag: Latency | None = None  # main returned -> Finished written
    note: str = ""

    @staticmethod
    def rate(done: int | None, seconds: float | None) -> float | None:
        return done / seconds if done and seconds else None


@dataclass
class Memory:
    workers: list[MemorySample] = field(default_factory=list)
    node: list[tuple[str, int, MemorySample]] = field(default_factory=list)  # (what, pid, sample)

    def worker_median(self, attribute: str) -> float | None:
        values = [getattr(sample, attribute) for sample in self.workers]
        return percentile(values, 0.5) / MiB if values else None

    def node_total(self, attribute: str) -> float | None:
        return sum(getattr(sample, attribute) for _, _, sample in self.node) / MiB if self.node else None

    def total(self, attribute: str) -> float | None:
        if not self.node:
            return None
        return (sum(getattr(s, attribute) for _, _, s in self.node)
                + sum(getattr(s, attribute) for s in self.workers)) / MiB


@dataclass
class Result:
    system: str
    assign: Latency = field(default_factory=Latency)
    throughput: Throughput = field(default_factory=Throughput)
    update: Latency = field(default_factory=Latency)
    cancel: Latency = field(default_factory=Latency)
    memory: Memory = field(default_factory=Memory)
    running: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def warm_up(system: System, timeout: float) -> None:
    """One task end to end (also proves the node consumes): retried, since a 0.3.8 node can miss
    events sent just after it joined."""
    for attempt in range(8):
        task_id = system.task_id("w", attempt)
        system.create([task_id], 0)
        system.produce("task.assign", task_id)
        if system.records.wait("main", task_id, timeout) is not None:
            system.records.wait("main_end", task_id, timeout)
            time.sleep(1)
            return
        log(f"{system.title}: warm-up task {task_id} did not start; retrying")
    raise RuntimeError(f"{system.title}: no warm-up task started")


def clear_phase(system: System, phase: str) -> None:
    """Delete the finished tasks of a phase (both systems alike). The dev store (FerretDB on SQLite)
    scans the whole collection for every query that is not a lookup by `_id`, so without this later
    phases would measure the collection's growth more than the node."""
    collection = system.mongo[system.db_name]["tasks"]
    task_ids = [document["id"] for document in collection.find({"id": {"$regex": f"^{system.task_prefix}{phase}"}},
                                                               {"id": 1})]
    if isinstance(system, Ours):
        deadline = time.monotonic() + 60  # Finished is written after main returned: let it land first
        while time.monotonic() < deadline and len(system.finished_at(task_ids) or {}) < len(task_ids):
            time.sleep(0.2)
    system.abandon(task_ids)


def measure_assign(system: System, count: int, timeout: float, budget: float) -> Latency:
    result = Latency(note="sequential: each assign after the previous main hook was entered")
    task_ids = [system.task_id("a", index) for index in range(count)]
    system.create(task_ids, 0)
    phase_end = time.monotonic() + budget
    for sent, task_id in enumerate(task_ids):
        if time.monotonic() > phase_end:
            result.note += f"; stopped after the {budget:.0f} s phase budget: {sent}/{count} sent"
            task_ids = task_ids[:sent]
            break
        started = time.time()
        system.produce("task.assign", task_id)
        record = system.records.wait("main", task_id, timeout)
        if record is None:
            result.lost += 1
        else:
            result.samples.append(record["ts"] - started)
    system.records.wait_all("main_end", task_ids, timeout)
    return result


def measure_throughput(system: System, count: int, timeout: float) -> Throughput:
    result = Throughput(tasks=count)
    task_ids = [system.task_id("t", index) for index in range(count)]
    system.create(task_ids, 0)
    started = time.time()
    for task_id in task_ids:
        system.produce("task.assign", task_id, flush=False)
    system.flush()
    ends = system.records.wait_all("main_end", task_ids, timeout)
    result.mains_done = len(ends)
    if len(ends) < count:
        # Do not let the backlog of queued assigns run into the next phase.
        system.records.poll()
        unstarted = [task_id for task_id in task_ids if system.records.get("main", task_id) is None]
        system.abandon(unstarted)
        result.note = (f"burst not done after the {timeout:.0f} s timeout: {len(ends)}/{count} main hooks returned; "
                       f"the {len(unstarted)} tasks not yet started were deleted so the next phase starts clean")
    if ends:
        result.mains_seconds = max(record["ts"] for record in ends.values()) - started
    if isinstance(system, Baseline):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            codes = system.heartbeats(task_ids)
            if codes.count("200") == len(ends):
                break
            time.sleep(0.5)
        heartbeat_note = (f"heartbeat 200 in Redis for {codes.count('200')}/{count} tasks 10 s after the last main "
                          f"returned (0.3.8's heartbeat thread is not joined, so a late running value can "
                          f"overwrite the final 200: spec §6.4)")
        result.note = f"{result.note}; {heartbeat_note}" if result.note else heartbeat_note
        return result
    # Finished is recorded after main returned: wait for the tasks that got that far
    expected = [task_id for task_id in task_ids if task_id in ends]
    deadline = time.monotonic() + FINISHED_GRACE
    finished: dict[str, float] = {}
    while expected and time.monotonic() < deadline:
        finished = system.finished_at(expected) or {}
        if len(finished) == len(expected):
            break
        time.sleep(0.1)
    result.finished_done = len(finished)
    if finished:
        result.finished_seconds = max(finished.values()) - started
        result.record_lag = Latency(samples=[finished[task_id] - ends[task_id]["ts"] for task_id in finished
                                             if task_id in ends],
                                    note="main returned -> Finished written; ms timestamps")
    return result


def wait_processes_gone(pids: Iterable[int], timeout: float) -> int:
    deadline, left = time.monotonic() + timeout, list(pids)
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if not pid_gone(pid)]
        if left:
            time.sleep(0.2)
    return len(left)


def sample_memory(system: System, worker_pids: list[int]) -> Memory:
    memory = Memory()
    assert system.node is not None
    node = psutil.Process(system.node.pid)
    workers = set(worker_pids)
    for process in [node, *node.children(recursive=True)]:
        if process.pid in workers:
            continue
        sample = memory_of(process)
        if sample is not None:
            memory.node.append((describe_process(process, node.pid), process.pid, sample))
    for pid in worker_pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            sample = memory_of(psutil.Process(pid))
            if sample is not None:
                memory.workers.append(sample)
    return memory


def measure_running(system: System, result: Result, running: int, updates: int, cancels: int,
                    timeout: float) -> None:
    """`running` long tasks: update latency, memory, then cancel latency on `cancels` of them."""
    task_ids = [system.task_id("r", index) for index in range(running)]
    system.create(task_ids, 3600)
    for task_id in task_ids:
        system.produce("task.assign", task_id, flush=False)
    system.flush()
    mains = system.records.wait_all("main", task_ids, max(timeout, 120))
    task_ids = [task_id for task_id in task_ids if task_id in mains]
    result.running = len(task_ids)
    if len(task_ids) < running:
        result.notes.append(f"only {len(task_ids)}/{running} long-running tasks started")
    pids = {task_id: int(mains[task_id]["pid"]) for task_id in task_ids}
    if not task_ids:
        return

    ready = system.wait_update_consumers(task_ids, 120)
    if ready < len(task_ids):
        result.notes.append(f"{len(task_ids) - ready} worker update consumers were not stable after 120 s")
    # one warm-up update per worker, retried: proves each worker can receive updates before timing
    unreachable = 0
    for task_id in task_ids:
        for attempt in range(3):
            label = f"warm{attempt}"
            system.store_update(task_id, label, 3600)
            system.produce("task.update.attachment", task_id)
            if system.records.wait("update", task_id, 5, label=label) is not None:
                break
        else:
            unreachable += 1
    if unreachable:
        result.notes.append(f"{unreachable} workers never received a warm-up update")

    log(f"{system.title}: {len(task_ids)} workers running; measuring {updates} updates")
    result.update.note = f"sequential, one at a time, {len(task_ids)} workers running"
    for index in range(updates):
        task_id = task_ids[index % len(task_ids)]
        label = f"u{index}"
        system.store_update(task_id, label, 3600)
        started = time.time()
        system.produce("task.update.attachment", task_id)
        record = system.records.wait("update", task_id, timeout, label=label)
        if record is None:
            result.update.lost += 1
        else:
            result.update.samples.append(record["ts"] - started)

    time.sleep(1)
    result.memory = sample_memory(system, list(pids.values()))

    log(f"{system.title}: measuring {min(cancels, len(task_ids))} cancels")
    result.cancel.note = "sequential, observed by polling every ~2 ms"
    for task_id in task_ids[:cancels]:
        pid = pids[task_id]
        started = time.time()
        system.produce("task.cancel", task_id)
        deadline = time.monotonic() + max(timeout, 30)
        done = False
        while time.monotonic() < deadline:
            if pid_gone(pid) and system.cancel_recorded(task_id):
                done = True
                break
            time.sleep(0.002)
        if done:
            result.cancel.samples.append(time.time() - started)
        else:
            result.cancel.lost += 1


def run_system(system: System, options: argparse.Namespace) -> Result:
    result = Result(system=system.key)
    try:
        log(f"{system.title}: starting node {system.skald_id}")
        system.start()
        warm_up(system, 10)
        log(f"{system.title}: assign latency over {options.assign} tasks")
        result.assign = measure_assign(system, options.assign, options.timeout, options.assign_budget)
        for phase in ("w", "a"):
            clear_phase(system, phase)
        log(f"{system.title}: throughput with {options.tasks} tasks")
        result.throughput = measure_throughput(system, options.tasks, options.throughput_timeout)
        if result.throughput.note:
            result.notes.append(result.throughput.note)
        # let the short workers of the burst exit, so they do not share the CPU with what follows
        left = wait_processes_gone(system.records.pids("main"), 60)
        if left:
            result.notes.append(f"{left} short-task processes were still alive 60 s after the burst")
        clear_phase(system, "t")
        log(f"{system.title}: {options.running} long-running workers")
        measure_running(system, result, options.running, options.updates, options.cancels, options.timeout)
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"
        log(f"{system.title}: FAILED: {result.error}")
    finally:
        log(f"{system.title}: stopping node")
        system.stop()
        if system.node is not None and result.error:
            result.notes.append(f"node log: {system.node.log_path}")
        if not options.keep:
            with contextlib.suppress(Exception):
                system.cleanup()
        system.close()
    return result


# --- report ---------------------------------------------------------------------------------------
def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def mark(value: float | None, ok: Callable[[float], bool]) -> str:
    if value is None:
        return ""
    return " ✓" if ok(value) else " ✗"


def lost_suffix(latency: Latency) -> str:
    return f" ({latency.lost} lost)" if latency.lost else ""


def render(results: dict[str, Result], options: argparse.Namespace, meta: dict[str, str]) -> str:
    ours, base = results.get("ours"), results.get("038")
    footnotes: list[str] = []

    def note(text: str) -> str:
        if text not in footnotes:
            footnotes.append(text)
        return f"[{footnotes.index(text) + 1}]"

    skipped = "not run (--only)"

    def cell(result: Result | None, getter: Callable[[Result], str]) -> str:
        if result is None:
            return skipped
        if result.error and getter(result) in ("n/a", ""):
            return "failed " + note(f"{result.system}: {result.error}")
        return getter(result)

    def latency_cell(name: str, q: float, target: Callable[[float], bool] | None = None) -> Callable[[Result], str]:
        def get(result: Result) -> str:
            latency: Latency = getattr(result, name)
            value = latency.ms(q)
            suffix = mark(value, target) if target and result.system == "ours" else ""
            return fmt(value) + suffix + lost_suffix(latency)
        return get

    def throughput_mains(result: Result) -> str:
        tp = result.throughput
        value = Throughput.rate(tp.mains_done, tp.mains_seconds)
        partial = f" ({tp.mains_done}/{tp.tasks} done)" if tp.mains_done != tp.tasks else ""
        return fmt(value) + partial

    def throughput_finished(result: Result) -> str:
        tp = result.throughput
        if result.system == "038":
            return "n/a " + note("0.3.8 nodes write no lifecycle status to MongoDB (its System Controller's "
                                 "TaskMonitor would, seconds later, from Redis heartbeats; spec §5.2, §9.1). "
                                 "Its throughput is the row above: all main hooks returned, from the workers' "
                                 "own records.")
        value = Throughput.rate(tp.finished_done, tp.finished_seconds)
        partial = f" ({tp.finished_done}/{tp.tasks} done)" if tp.finished_done != tp.tasks else ""
        return fmt(value) + mark(value, lambda v: v >= 100) + partial

    def memory_cell(fn: Callable[[Memory], tuple[float | None, float | None]]) -> Callable[[Result], str]:
        def get(result: Result) -> str:
            uss, rss = fn(result.memory)
            return "n/a" if uss is None else f"{uss:.1f} / {rss:.1f}"
        return get

    cancel_note = note("Cancel done = ours: lifecycleStatus Cancelled recorded in MongoDB and the worker process "
                       "gone; 0.3.8: heartbeat -2 in Redis and the process gone (a 0.3.8 node records nothing "
                       "in MongoDB; it SIGTERMs the worker and waits for it). Our worker cooperates "
                       "(is_cancel_requested(), polled every 20 ms); 0.3.8 has no cooperative cancel.")
    counts = [result.running for result in (ours, base) if result is not None]
    running_label = (f"{counts[0]}" if len(set(counts)) == 1
                     else f"{counts[0]} (ours) / {counts[1]} (0.3.8)")
    rows = [
        ("assign latency p50 (ms)", latency_cell("assign", 0.5, lambda v: v <= 30), "≤ 30"),
        ("assign latency p99 (ms)", latency_cell("assign", 0.99, lambda v: v <= 100), "≤ 100"),
        ("throughput: all main hooks returned (tasks/s)", throughput_mains, "—"),
        ("throughput: Finished recorded in MongoDB (tasks/s)", throughput_finished, "≥ 100"),
        ("update latency p50 (ms)", latency_cell("update", 0.5, lambda v: v <= 30), "≤ 30"),
        ("update latency p99 (ms)", latency_cell("update", 0.99), "—"),
        (f"cancel latency p50 (ms) {cancel_note}", latency_cell("cancel", 0.5), "—"),
        (f"cancel latency p99 (ms) {cancel_note}", latency_cell("cancel", 0.99, lambda v: v <= 300), "≤ 300"),
        ("idle worker USS / RSS (MiB, median over the running workers)",
         memory_cell(lambda m: (m.worker_median("uss"), m.worker_median("rss"))), "—"),
        (f"node USS / RSS (MiB, node + helper processes, {running_label} workers running) "
         + note("Node = the node process plus its helper processes, listed under 'Memory details'. Ours: the "
                "node, its worker fork server (workers are forked from it) and its standby workers; "
                "0.3.8: the node and its multiprocessing Manager process (workers are forked from the node)."),
         memory_cell(lambda m: (m.node_total("uss"), m.node_total("rss"))), "—"),
        (f"total USS / RSS (MiB, node + {running_label} workers) "
         + note("Summed RSS counts pages shared between processes once per process, so it overstates; USS "
                "(pages unique to a process) understates; PSS (shared pages split among sharers) is in the "
                "details."),
         memory_cell(lambda m: (m.total("uss"), m.total("rss"))), "—"),
    ]
    lines = [f"# Node benchmark: Skalds (ours) vs Skalds 0.3.8 — {meta['date']}", "",
             "| metric | Skalds (ours) | Skalds 0.3.8 | target (ours) |", "|---|---|---|---|"]
    for name, getter, target in rows:
        lines.append(f"| {name} | {cell(ours, getter)} | {cell(base, getter)} | {target} |")
    lines.append("")
    for index, text in enumerate(footnotes, 1):
        lines.append(f"[{index}] {text}  ")
    lines += ["", "## Details", ""]
    lines.append(f"- settings: assign={options.assign} sequential tasks, throughput burst={options.tasks} tasks, "
                 f"running={options.running} long tasks, updates={options.updates}, cancels={options.cancels}"
                 f"{' (--quick)' if options.quick else ''}")
    for key, value in meta.items():
        if key != "date":
            lines.append(f"- {key}: {value}")
    for result in (ours, base):
        if result is None:
            continue
        title = "Skalds (ours)" if result.system == "ours" else "Skalds 0.3.8"
        lines += ["", f"### {title}", ""]
        if result.error:
            lines.append(f"- ERROR: {result.error}")
        lines.append(f"- assign: {result.assign.summary()}")
        tp = result.throughput
        lines.append(f"- throughput: {tp.mains_done}/{tp.tasks} main hooks returned in "
                     f"{fmt(tp.mains_seconds, 2)} s (first assign produced -> last main returned)"
                     + (f"; {tp.finished_done}/{tp.tasks} Finished recorded in {fmt(tp.finished_seconds, 2)} s "
                        f"(first assign produced -> last Finished write, its updateDateTime)"
                        if tp.finished_done is not None else ""))
        if tp.record_lag is not None:
            lines.append(f"- throughput, recording lag per task: {tp.record_lag.summary()}")
        lines.append(f"- update: {result.update.summary()}")
        lines.append(f"- cancel: {result.cancel.summary()}")
        memory = result.memory
        if memory.node:
            lines.append(f"- memory, {len(memory.workers)} workers: median USS {fmt(memory.worker_median('uss'))} "
                         f"MiB, RSS {fmt(memory.worker_median('rss'))} MiB, PSS {fmt(memory.worker_median('pss'))}"
                         f" MiB; totals node + workers: USS {fmt(memory.total('uss'))} MiB, PSS "
                         f"{fmt(memory.total('pss'))} MiB, RSS {fmt(memory.total('rss'))} MiB")
            lines.append("- memory details (processes counted as the node):")
            for what, pid, sample in memory.node:
                lines.append(f"  - {what} (pid {pid}): USS {sample.uss / MiB:.1f} MiB, PSS {sample.pss / MiB:.1f} "
                             f"MiB, RSS {sample.rss / MiB:.1f} MiB")
        for text in result.notes:
            lines.append(f"- note: {text}")
    lines += ["", "Latencies are measured from `time.time()` just before the event is produced (the bench "
              "flushes each event, so the broker acknowledgement is included) to `time.time()` written by the "
              "worker on entering the hook (same host clock). Between phases the finished task documents of the "
              "previous phase are deleted (both systems), because the dev store scans the whole collection for "
              "every query that is not a lookup by `_id`.", ""]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------
def code_version() -> str:
    """The checkout's commit, and whether files differ from it (others may be editing)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=BENCH, capture_output=True, text=True, timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", str(BENCH.parent / "skalds"))
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"skalds commit {commit or 'unknown'}" + (" + uncommitted changes under skalds/" if dirty else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark our Skald node against Skalds 0.3.8.")
    parser.add_argument("--only", choices=("ours", "baseline"), help="run one system only")
    parser.add_argument("--quick", action="store_true", help="small counts (about 2 minutes)")
    parser.add_argument("--assign", type=int, help="sequential assigns for the assign latency (100; quick 20)")
    parser.add_argument("--tasks", type=int, help="short tasks in the throughput burst (500; quick 100)")
    parser.add_argument("--running", type=int, help="long-running workers for update/memory/cancel (50; quick 10)")
    parser.add_argument("--updates", type=int, help="updates to time (default: --running, at least 50; quick 10)")
    parser.add_argument("--cancels", type=int, help="cancels to time, at most --running (30; quick 10)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for one event's effect")
    parser.add_argument("--assign-budget", type=float, default=150.0,
                        help="stop the sequential assigns after this many seconds (slow systems)")
    parser.add_argument("--throughput-timeout", type=float, default=240.0,
                        help="seconds to wait for the burst's main hooks (Finished writes get 60 s more)")
    parser.add_argument("--baseline-python", type=Path,
                        default=Path(os.environ.get("SKALDS_BASELINE_PYTHON", DEFAULT_BASELINE_PYTHON)),
                        help="python of the skalds==0.3.8 venv (bench/setup_baseline.sh creates it)")
    parser.add_argument("--node-script", type=Path, default=BENCH / "run_node.py",
                        help="script that runs our node (to try a patched runtime; default bench/run_node.py)")
    parser.add_argument("--output", default=None,
                        help="markdown file for the results (default bench/results/node-<date>.md; '-' = none)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir, databases, keys and topics")
    options = parser.parse_args(argv)
    quick = options.quick
    options.assign = options.assign or (20 if quick else 100)
    options.tasks = options.tasks or (100 if quick else 500)
    options.running = options.running or (10 if quick else 50)
    options.updates = options.updates or (10 if quick else max(50, options.running))
    options.cancels = min(options.cancels or (10 if quick else 30), options.running)
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    endpoints = Endpoints.from_env()
    endpoints.check()
    systems = ["ours", "baseline"] if options.only is None else [options.only]
    if "baseline" in systems and not options.baseline_python.exists():
        raise SystemExit(f"no Skalds 0.3.8 venv at {options.baseline_python}: run bench/setup_baseline.sh "
                         "(or use --only ours)")
    run_id = uuid.uuid4().hex[:6]
    workdir = Path(tempfile.mkdtemp(prefix=f"skalds-bench-{run_id}-"))
    now = dt.datetime.now()
    meta = {
        "date": now.strftime("%Y-%m-%d %H:%M"),
        "host": f"{platform.node()}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
                f"Python {platform.python_version()}, load average at start "
                f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        "services": f"Kafka {endpoints.kafka}, MongoDB-wire {endpoints.host}:{endpoints.mongo_port}, "
                    f"Redis {endpoints.host}:{endpoints.redis_port}",
        "run": f"id {run_id}, work dir {workdir}",
        "code": code_version(),
    }
    log(f"run {run_id}, work dir {workdir}")
    results: dict[str, Result] = {}
    if "ours" in systems:
        ours = Ours(endpoints, run_id, workdir)
        ours.script = options.node_script.resolve()
        results["ours"] = run_system(ours, options)
    if "baseline" in systems:
        results["038"] = run_system(Baseline(endpoints, run_id, workdir, options.baseline_python), options)
    report = render(results, options, meta)
    print(report)
    output = options.output
    if output is None:
        output = str(BENCH / "results" / f"node-{now.strftime('%Y-%m-%d')}{'-quick' if options.quick else ''}.md")
    if output != "-":
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(report, encoding="utf-8")
        log(f"results written to {output}")
    failed = any(result.error for result in results.values())
    if not options.keep and not failed:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    elif failed:
        log(f"kept {workdir} (node logs) because a system failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
