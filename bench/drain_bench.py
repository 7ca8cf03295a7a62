#!/usr/bin/env python3
"""How long a drain takes to move N running tasks from one node to another (issue #15).

    SKALDS_KAFKA_PORT=... SKALDS_MONGO_PORT=... SKALDS_REDIS_PORT=... .venv/bin/python bench/drain_bench.py

A real controller (DISPATCHER) and two real nodes on the real services, running `BenchWorker` (main records
when it is entered and when it ends, so a copy's lifetime is known from outside). For each N and parallelism:
N long tasks run on node A (node B cordoned while they are placed), B is uncordoned and A drained
(`POST /api/skalds/A/drain`); timed from the request until every task is Running on B and A reads drained.
Checked on every row: no task lost (all N Running on B), none twice (two copies of a task never overlap in
the workers' own records), each moved exactly once (attempt 2). The tasks are deleted between rows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_services import Endpoints
from controller_bench import BENCH, REPO, Names, Ours, Proc, wait_until


def start_node(ours: Ours, skald_id: str, db: str) -> Proc:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), str(REPO)]), "PYTHONUNBUFFERED": "1",
           "SKALD_ID": skald_id, "SKALD_MODE": "node", "LOG_LEVEL": "INFO", "LOG_PATH": str(ours.workdir / "logs"),
           "KAFKA_HOST": ours.endpoints.host, "KAFKA_PORT": str(ours.endpoints.kafka_port),
           "KAFKA_TOPIC_PREFIX": ours.names.topic_prefix, "KAFKA_REPLICATION_FACTOR": "1",
           "MONGO_HOST": ours.endpoints.mongo_uri, "DB_NAME": db, "REDIS_HOST": ours.endpoints.host,
           "REDIS_PORT": str(ours.endpoints.redis_port), "REDIS_KEY_PREFIX": ours.names.redis_prefix,
           "HEARTBEAT_PERIOD": "1", "CANCEL_REQUEST_TIMEOUT": "2", "SHUTDOWN_DRAIN_SECONDS": "0"}
    proc = Proc(skald_id, [sys.executable, str(BENCH / "run_node.py")], env, ours.workdir)
    proc.wait_log(" ready with ", 120)
    return proc


def never_twice(records: list[dict], task_ids: set[str]) -> bool:
    """No two copies (pids) of one task were alive at once, by their main / main_end records."""
    spans: dict[str, list[list[float]]] = {}
    by_pid: dict[int, list[float]] = {}
    for record in records:
        if record.get("task") not in task_ids:
            continue
        span = by_pid.setdefault(record["pid"], [float("inf"), float("inf")])
        if record["event"] == "main":
            span[0] = record["ts"]
            spans.setdefault(record["task"], []).append(span)
        elif record["event"] == "main_end":
            span[1] = record["ts"]
    for copies in spans.values():
        copies.sort()
        if any(earlier[1] > later[0] for earlier, later in itertools.pairwise(copies)):
            return False
    return True


def read_records(path: str) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def row(controller, source: str, target: str, count: int, parallelism: int, record_to: str) -> dict:
    http = controller.http
    http.post(f"/api/skalds/{target}/cordon").raise_for_status()
    http.post(f"/api/skalds/{source}/uncordon").raise_for_status()
    time.sleep(2.5)  # every controller re-reads stored wishes within 2 s
    ids = [http.post("/api/tasks", json={"className": "BenchWorker", "attachments": {
        "seconds": 3600, "record_to": record_to}}).json()["id"] for _ in range(count)]

    def executors() -> dict[str, str | None]:
        page = http.get("/api/tasks", params={"pageSize": 100, "lifecycleStatus": "Running"}).json()["items"]
        return {item["id"]: item["executor"] for item in page if item["id"] in ids}

    wait_until(lambda: len(found := executors()) == count and set(found.values()) == {source}, 120,
               f"{count} tasks Running on {source}")
    http.post(f"/api/skalds/{target}/uncordon").raise_for_status()
    started = time.monotonic()
    http.post(f"/api/skalds/{source}/drain", json={"deadlineSeconds": 600, "parallelism": parallelism}
              ).raise_for_status()
    wait_until(lambda: len(found := executors()) == count and set(found.values()) == {target}, 600,
               f"{count} tasks moved to {target}")
    moved = time.monotonic() - started
    wait_until(lambda: http.get(f"/api/skalds/{source}").json()["drainState"] == "drained", 30, "drained")
    attempts = {http.get(f"/api/tasks/{task_id}").json()["attempt"] for task_id in ids}
    lost = count - sum(1 for node in executors().values() if node == target)  # re-read once drained
    twice_free = never_twice(read_records(record_to), set(ids))
    for task_id in ids:
        http.delete(f"/api/tasks/{task_id}")  # a cancel; the next row's tasks are new ones
    wait_until(lambda: not executors(), 60, "tasks cancelled")
    return {"tasks": count, "parallelism": parallelism, "seconds": moved, "per_task_ms": moved / count * 1000,
            "attempts": sorted(attempts), "lost": lost, "twice": not twice_free}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--parallelism", type=int, nargs="+", default=[1, 4, 16])
    options = parser.parse_args()
    endpoints = Endpoints.from_env()
    endpoints.check()
    names = Names(run_id=uuid.uuid4().hex[:6], tag="drainbench")
    db = names.db("drain")
    workdir = Path(tempfile.mkdtemp(prefix="skalds-drain-bench-"))
    record_to = str(workdir / "records.jsonl")
    ours = Ours(endpoints, names, workdir)
    controller = ours.controller(db, names.redis_prefix, DISPATCHER_INTERVAL="5", LOG_LEVEL="INFO")
    nodes = [start_node(ours, "drain-a", db), start_node(ours, "drain-b", db)]
    results: list[dict] = []
    try:
        wait_until(lambda: len(controller.http.get("/api/skalds").json()["items"]) == 2, 30, "both nodes")
        source, target = "drain-a", "drain-b"
        for count in options.tasks:
            for parallelism in options.parallelism:
                results.append(row(controller, source, target, count, parallelism, record_to))
                print(_line(results[-1]), flush=True)
                source, target = target, source
    finally:
        for node in nodes:
            node.stop(30)
        controller.stop()
    print("\n| tasks | parallelism | drain time | per task | attempts after | lost | ran twice |")
    print("|---:|---:|---:|---:|---|---:|---|")
    for result in results:
        print(_line(result))
    return 0 if all(not r["twice"] and not r["lost"] and r["attempts"] == [2] for r in results) else 1


def _line(result: dict) -> str:
    return (f"| {result['tasks']} | {result['parallelism']} | {result['seconds']:.2f} s | "
            f"{result['per_task_ms']:.0f} ms | {result['attempts']} | {result['lost']} | "
            f"{'yes' if result['twice'] else 'no'} |")


if __name__ == "__main__":
    raise SystemExit(main())
