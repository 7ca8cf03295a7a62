#!/usr/bin/env python
"""Simulated Skald nodes for the controller scale bench: one process plays N nodes.

Redis (the heartbeat thread): every `--period` seconds each simulated node writes exactly
the keys our node writes in `Pulse.write_heartbeats` (skalds/node/pulse.py, the node keys in
`write_registration` of skalds/transport/node_registry.py),
in one pipeline per node, nodes staggered evenly over the period:

    task:{id}:heartbeat      counter 0..199        PX (period + 5) s   } for each task the
    task:{id}:heartbeat-at   ms timestamp          PX (period + 5) s   } node is running
    skalds:hash              field id = ms timestamp
    skalds:mode:hash         field id = "node"
    skalds:{id}:heartbeat    (s % 200)             PX (period + 5) s
    skalds:{id}:all-task     TaskWorkerSimpleMapList JSON (by field name)   PX key_ttl
    skalds:{id}:allow-task-class-name   DEL + RPUSH classes + PEXPIRE key_ttl
    skalds:{id}:info         hash: capacity, pid, started

all prefixed with `--prefix` (REDIS_KEY_PREFIX; empty for 0.3.8, which has no prefix).

The node's part of an assignment (a second thread, so slow queries never delay heartbeats).
With `--kafka`, it consumes the controller's task.assign topic (one consumer for all the
simulated nodes instead of one consumer group per node) and, per batch of events, reads the
tasks' documents in one query (a node reads the document to learn the executor); without
it, it polls MongoDB every `--poll` seconds for `Assigning` tasks of its nodes. Tasks
assigned to one of its nodes start at once: fresh heartbeat keys
(`Recorder.fresh_task_keys`, skalds/node/recorder.py), then `Running` recorded with the compare-and-set a node
uses (`TaskRepository.record_status`: expect executor + attempt; $set lifecycleStatus,
error=None, exitCode=None, updateDateTime) as one unordered bulk write, plus the node's
`task_events` history entries (`--history`). Every `--ownership` seconds it re-reads which
live tasks its nodes own (a node's ownership check), so tasks the controller moved away
stop being heartbeated and tasks set Running on its nodes directly are picked up.

Stats (JSON, rewritten every 2 s to `--stats`): heartbeat lateness against the schedule,
pipeline times, tasks held and marked Running, Mongo poll times. Stops on SIGTERM/SIGINT;
with `--cleanup` it deletes the keys and hash fields it wrote.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from typing import Any

import redis
from pymongo import MongoClient, UpdateOne

BULK_STATEMENTS = 25  # per bulk write: FerretDB 1.24 holds a connection per statement until the command ends


def now_ms() -> int:
    return int(time.time() * 1000)



def event_task_ids(key: str, value: bytes | None) -> list[str]:
    """The tasks an assign event names, as a node reads them (`taskIds`, several for a batch), else its key."""
    try:
        named = json.loads(value or b"{}").get("taskIds") or json.loads(value or b"{}").get("task_ids")
    except (ValueError, AttributeError):
        named = None
    return [str(task_id) for task_id in named] if isinstance(named, list) else [key]


class Sim:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.prefix = args.prefix
        self.ids = [f"{args.node_prefix}-{index:03d}" for index in range(args.nodes)]
        self.classes = [name for name in args.classes.split(",") if name]
        self.redis = redis.Redis(host=args.redis_host, port=args.redis_port, decode_responses=True,
                                 socket_timeout=10)
        self.mongo = MongoClient(args.mongo_uri, serverSelectionTimeoutMS=5000, socketTimeoutMS=120000)
        self.tasks = self.mongo[args.db]["tasks"]
        self.events = self.mongo[args.db]["task_events"]
        self.lock = threading.Lock()
        self.held: dict[str, dict[str, str]] = {node: {} for node in self.ids}  # node -> task id -> class
        self.counters: dict[str, int] = {}
        self.started_ms = now_ms()
        self.stop = threading.Event()
        self.stats: dict[str, Any] = {"writes": 0, "late_max_ms": 0.0, "late_p99_window_ms": 0.0,
                                      "pipeline_ms_max": 0.0, "marked_running": 0, "cas_missed": 0,
                                      "polls": 0, "poll_ms_max": 0.0, "ownership_ms_max": 0.0,
                                      "ownership_reads": 0, "held": 0, "errors": 0, "last_error": ""}
        self._late: list[float] = []

    def key(self, name: str) -> str:
        return self.prefix + name

    # --- Redis ---------------------------------------------------------------------------------
    def write_node(self, node: str) -> None:
        period = self.args.period
        ttl_ms = int((period + 5) * 1000)
        key_ttl_ms = self.args.key_ttl * 1000
        with self.lock:
            tasks = list(self.held[node].items())
        now = now_ms()
        pipe = self.redis.pipeline(transaction=False)
        for task_id, _ in tasks:
            counter = (self.counters.get(task_id, 0) + 1) % 200
            self.counters[task_id] = counter
            pipe.set(self.key(f"task:{task_id}:heartbeat"), str(counter), px=ttl_ms)
            pipe.set(self.key(f"task:{task_id}:heartbeat-at"), str(now), px=ttl_ms)
        all_task = {"tasks": [{"id": task_id, "class_name": name} for task_id, name in tasks],
                    "existed_task_ids": [task_id for task_id, _ in tasks], "timestamp": now}
        pipe.hset(self.key("skalds:hash"), node, str(now))
        pipe.hset(self.key("skalds:mode:hash"), node, "node")
        pipe.set(self.key(f"skalds:{node}:heartbeat"), str(now // 1000 % 200), px=ttl_ms)
        pipe.set(self.key(f"skalds:{node}:all-task"), json.dumps(all_task, separators=(",", ":")), px=key_ttl_ms)
        allow = self.key(f"skalds:{node}:allow-task-class-name")
        pipe.delete(allow)
        if self.classes:
            pipe.rpush(allow, *self.classes)
            pipe.pexpire(allow, key_ttl_ms)
        info = self.key(f"skalds:{node}:info")
        pipe.hset(info, "capacity", str(self.args.capacity))
        pipe.hset(info, "pid", str(os.getpid()))
        pipe.hset(info, "started", str(self.started_ms))
        pipe.execute()

    def fresh_keys(self, started: list[tuple[str, str]]) -> None:
        ttl_ms = int((self.args.period + 5) * 1000)
        pipe = self.redis.pipeline(transaction=False)
        now = str(now_ms())
        for task_id, _node in started:
            pipe.set(self.key(f"task:{task_id}:heartbeat"), "0", px=ttl_ms)
            pipe.set(self.key(f"task:{task_id}:heartbeat-at"), now, px=ttl_ms)
            pipe.set(self.key(f"task:{task_id}:exception"), "")
        pipe.execute()

    def heartbeat_loop(self) -> None:
        period, count = self.args.period, len(self.ids)
        start = time.monotonic()
        due = [start + index * period / count for index in range(count)]
        while not self.stop.is_set():
            index = min(range(count), key=due.__getitem__)
            wait = due[index] - time.monotonic()
            if wait > 0 and self.stop.wait(wait):
                break
            late = max(0.0, (time.monotonic() - due[index]) * 1000)
            began = time.perf_counter()
            try:
                self.write_node(self.ids[index])
            except Exception as error:
                self.error(error)
            elapsed = (time.perf_counter() - began) * 1000
            due[index] += period
            self.stats["writes"] += 1
            self.stats["late_max_ms"] = max(self.stats["late_max_ms"], late)
            self.stats["pipeline_ms_max"] = max(self.stats["pipeline_ms_max"], elapsed)
            self._late.append(late)

    # --- MongoDB -------------------------------------------------------------------------------
    def mark_running(self, task_ids: list[str] | None = None) -> None:
        """Start the Assigning tasks of our nodes (all of them, or those among `task_ids`)."""
        began = time.perf_counter()
        query: dict[str, Any] = {"lifecycleStatus": "Assigning", "executor": {"$in": self.ids}}
        if task_ids is not None:
            query["_id"] = {"$in": task_ids}  # as MongoTaskStore inserts: `_id` is the id (FerretDB looks it up by key)
        documents = list(self.tasks.find(query, {"_id": 0, "id": 1, "executor": 1, "attempt": 1, "className": 1}))
        if documents:
            # As a node: the worker starts (fresh heartbeat keys) before its Running is recorded.
            started = []
            with self.lock:
                for document in documents:
                    held = self.held[document["executor"]]
                    if document["id"] not in held:
                        held[document["id"]] = document.get("className", "")
                        started.append((document["id"], document["executor"]))
            if started:
                self.fresh_keys(started)
            now = now_ms()
            operations = []
            for document in documents:
                query: dict[str, Any] = {"_id": document["id"], "executor": document["executor"]}
                attempt = document.get("attempt")
                query["attempt"] = attempt if attempt else {"$in": [0, None]}
                operations.append(UpdateOne(query, {"$set": {"lifecycleStatus": "Running", "error": None,
                                                             "exitCode": None, "updateDateTime": now}}))
            modified = 0
            for start in range(0, len(operations), BULK_STATEMENTS):
                modified += self.tasks.bulk_write(operations[start:start + BULK_STATEMENTS],
                                                  ordered=False).modified_count
            self.stats["cas_missed"] += len(documents) - modified
            self.stats["marked_running"] += modified
            if self.args.history:
                self.events.insert_many([{"taskId": d["id"], "ts": now, "type": "status", "status": "Running",
                                          "executor": d["executor"], "attempt": d.get("attempt")}
                                         for d in documents], ordered=False)
        self.stats["polls"] += 1
        self.stats["poll_ms_max"] = max(self.stats["poll_ms_max"], (time.perf_counter() - began) * 1000)

    def check_ownership(self) -> None:
        began = time.perf_counter()
        owned: dict[str, dict[str, str]] = {node: {} for node in self.ids}
        for document in self.tasks.find({"executor": {"$in": self.ids},
                                         "lifecycleStatus": {"$in": ["Assigning", "Running", "Paused"]}},
                                        {"_id": 0, "id": 1, "executor": 1, "className": 1}):
            owned[document["executor"]][document["id"]] = document.get("className", "")
        with self.lock:
            self.held = owned
        self.stats["ownership_reads"] += 1
        self.stats["ownership_ms_max"] = max(self.stats["ownership_ms_max"], (time.perf_counter() - began) * 1000)

    def mongo_loop(self) -> None:
        consumer = self.consumer() if self.args.kafka else None
        next_ownership = time.monotonic()
        while not self.stop.is_set():
            try:
                if time.monotonic() >= next_ownership:
                    self.check_ownership()
                    next_ownership = time.monotonic() + self.args.ownership
                if consumer is not None:
                    task_ids = self.assigned_ids(consumer)
                    if task_ids:
                        self.mark_running(task_ids)
                    continue
                if self.args.mark_running:
                    self.mark_running()
            except Exception as error:
                self.error(error)
            self.stop.wait(self.args.poll)
        if consumer is not None:
            consumer.close()

    def consumer(self) -> Any:
        from confluent_kafka import Consumer

        consumer = Consumer({"bootstrap.servers": self.args.kafka, "group.id": f"{self.args.node_prefix}-sim",
                             "auto.offset.reset": "earliest", "enable.auto.commit": True})
        consumer.subscribe([self.args.topic])
        return consumer

    def assigned_ids(self, consumer: Any) -> list[str]:
        """Task ids of the task.assign events of the next 0.5 s (all nodes read every event)."""
        ids: list[str] = []
        events = 0
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and not self.stop.is_set():
            for message in consumer.consume(num_messages=500, timeout=0.2):
                if message.error() is None and message.key():
                    events += 1
                    ids.extend(event_task_ids(message.key().decode(), message.value()))
        self.stats["assign_events"] = self.stats.get("assign_events", 0) + events
        return list(dict.fromkeys(ids))

    # --- bookkeeping ---------------------------------------------------------------------------
    def error(self, error: Exception) -> None:
        self.stats["errors"] += 1
        self.stats["last_error"] = f"{type(error).__name__}: {error}"[:300]

    def stats_loop(self) -> None:
        while not self.stop.wait(2):
            self.dump_stats()

    def dump_stats(self) -> None:
        if not self.args.stats:
            return
        late, self._late = self._late, []
        if late:
            late.sort()
            self.stats["late_p99_window_ms"] = late[min(len(late) - 1, int(len(late) * 0.99))]
        with self.lock:
            self.stats["held"] = sum(len(tasks) for tasks in self.held.values())
        self.stats["ts"] = time.time()
        tmp = self.args.stats + ".tmp"
        with open(tmp, "w", encoding="utf-8") as file:
            json.dump(self.stats, file)
        os.replace(tmp, self.args.stats)

    def cleanup(self) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for node in self.ids:
            pipe.hdel(self.key("skalds:hash"), node)
            pipe.hdel(self.key("skalds:mode:hash"), node)
            for name in ("heartbeat", "all-task", "allow-task-class-name", "info"):
                pipe.delete(self.key(f"skalds:{node}:{name}"))
            for task_id in self.held[node]:
                for name in ("heartbeat", "heartbeat-at", "exception"):
                    pipe.delete(self.key(f"task:{task_id}:{name}"))
        pipe.execute()

    def run(self) -> None:
        threads = [threading.Thread(target=self.mongo_loop, name="sim-mongo", daemon=True),
                   threading.Thread(target=self.stats_loop, name="sim-stats", daemon=True)]
        for thread in threads:
            thread.start()
        print(f"simulating {len(self.ids)} nodes ({self.ids[0]} .. {self.ids[-1]}), prefix {self.prefix!r}",
              flush=True)
        self.heartbeat_loop()
        for thread in threads:
            thread.join(timeout=30)
        self.dump_stats()
        if self.args.cleanup:
            self.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--prefix", default="", help="REDIS_KEY_PREFIX of the controller under test")
    parser.add_argument("--mongo-uri", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--node-prefix", required=True, help="node ids are <node-prefix>-000 ...")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--period", type=float, default=3.0, help="heartbeat period (our node's default: 3 s)")
    parser.add_argument("--key-ttl", type=int, default=3600)
    parser.add_argument("--classes", default="CtlBenchWorker")
    parser.add_argument("--capacity", type=int, default=0)
    parser.add_argument("--kafka", default="", help="bootstrap servers: consume task.assign (else poll MongoDB)")
    parser.add_argument("--topic", default="task.assign", help="the task.assign topic, with its prefix")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls for Assigning tasks")
    parser.add_argument("--ownership", type=float, default=5.0, help="seconds between ownership reads")
    parser.add_argument("--no-mark-running", dest="mark_running", action="store_false")
    parser.add_argument("--history", action="store_true", help="append task_events entries like our node")
    parser.add_argument("--stats", default="")
    parser.add_argument("--cleanup", action="store_true", help="delete the keys written, on exit")
    sim = Sim(parser.parse_args())

    def on_signal(_signum: int, _frame: Any) -> None:
        sim.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim.run()


if __name__ == "__main__":
    main()
