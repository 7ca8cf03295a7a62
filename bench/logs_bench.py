#!/usr/bin/env python
"""Task logs (issue #14): how soon a worker's log line is readable in the API, and what 1,000 lines a
second from one worker cost its node.

    .venv/bin/python bench/logs_bench.py                      # both backends, about 2 minutes
    .venv/bin/python bench/logs_bench.py --backend embedded --probes 100 --seconds 10

A controller and one node (`skalds node --worker log_workers:LogBenchWorker`) run as subprocesses, on
the real services (isolated topic prefix, database and key prefix) or on a fresh embedded file.

1. Visible: the worker logs `probe N <time.time()>` every 50 ms; the bench polls
   `GET /api/tasks/{id}/logs?q=probe&after=<last id>` every 10 ms and, for each probe, takes the time
   it first saw it minus the time in the line (the poll adds up to 10 ms). Target p99 <= 300 ms.
2. Cost: the node's own process CPU time (user + system, psutil) over a 20 s window while one worker
   writes 1,000 lines/s (half logger, half print), beside the same window with a silent worker. The
   worker's own CPU is not the node's and is not counted. Target <= 10 % of a core.
Prints a table and writes it to bench/results/logs-<date>.md.
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

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SKALDS = Path(sys.executable).parent / "skalds"
SERVICE_VARIABLES = ("KAFKA_HOST", "KAFKA_PORT", "MONGO_HOST", "DB_NAME", "REDIS_HOST", "REDIS_PORT",
                     "SKALDS_BACKEND", "KAFKA_TOPIC_PREFIX", "REDIS_KEY_PREFIX", "SKALDS_EMBEDDED_PATH")
TARGET_P99_MS = 300.0
TARGET_CPU_PERCENT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(backend: str, workdir: Path, run_id: str, name: str = "logbench") -> dict[str, str]:
    """A controller's or node's environment: a fresh embedded file, or the services under names of this run."""
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env.update(PYTHONUNBUFFERED="1", LOG_LEVEL="INFO", LOG_PATH=str(workdir / "logs"),
               PYTHONPATH=os.pathsep.join([str(BENCH), str(REPO)]))
    if backend == "embedded":
        return {**env, "SKALDS_EMBEDDED_PATH": str(workdir / "skalds.db")}
    host = "127.0.0.1"
    return {**env, "KAFKA_HOST": host, "KAFKA_PORT": os.environ.get("SKALDS_KAFKA_PORT", "9092"),
            "KAFKA_REPLICATION_FACTOR": "1", "KAFKA_TOPIC_PREFIX": f"{name}{run_id}.",
            "MONGO_HOST": f"mongodb://root:root@{host}:{os.environ.get('SKALDS_MONGO_PORT', '27017')}/",
            "DB_NAME": f"{name}_{run_id}", "REDIS_HOST": host,
            "REDIS_PORT": os.environ.get("SKALDS_REDIS_PORT", "6379"), "REDIS_KEY_PREFIX": f"{name}{run_id}:"}


class System:
    """A controller and a node on one backend; stopped by `close`."""

    def __init__(self, backend: str, workdir: Path) -> None:
        run_id = uuid.uuid4().hex[:8]
        self.env = environment(backend, workdir, run_id)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.node_id = f"logbench-{run_id}"
        out = (workdir / "controller.out").open("wb")
        self.controller = subprocess.Popen([sys.executable, "-m", "skalds.system_controller.main"], stdout=out,
                                           stderr=subprocess.STDOUT, cwd=workdir,
                                           env={**self.env, "SYSTEM_CONTROLLER_PORT": str(self.port)})
        out = (workdir / "node.out").open("wb")
        self.node = subprocess.Popen([str(SKALDS), "node", "--worker", "log_workers:LogBenchWorker"], stdout=out,
                                     stderr=subprocess.STDOUT, cwd=BENCH, env={**self.env, "SKALD_ID": self.node_id})
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                nodes = self.http.get("/api/skalds").json()
                if self.node_id in str(nodes):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        raise SystemExit(f"controller or node not ready within {timeout:.0f}s")

    def run(self, **attachments: object) -> str:
        response = self.http.post("/api/tasks", json={"className": "LogBenchWorker", "attachments": attachments})
        response.raise_for_status()
        task_id = response.json()["id"]
        deadline = time.monotonic() + 30
        while self.http.get(f"/api/tasks/{task_id}").json()["lifecycleStatus"] != "Running":
            if time.monotonic() > deadline:
                raise SystemExit(f"task {task_id} did not start")
            time.sleep(0.05)
        return task_id

    def close(self) -> None:
        self.http.close()
        for process in (self.node, self.controller):
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_visibility(system: System, probes: int) -> list[float]:
    """Seconds from each probe's write to the poll that first returned it."""
    task_id = system.run(mode="probe", count=probes, every=0.05)
    seen: dict[int, float] = {}
    after: str | None = None
    deadline = time.monotonic() + probes * 0.05 + 20
    while len(seen) < probes and time.monotonic() < deadline:
        params: dict[str, object] = {"q": "probe", "limit": 1000, **({"after": after} if after else {})}
        lines = system.http.get(f"/api/tasks/{task_id}/logs", params=params).json()["lines"]
        now = time.time()
        for line in lines:
            _, number, written = line["text"].split()
            seen.setdefault(int(number), now - float(written))
        if lines:
            after = lines[-1]["id"]
        time.sleep(0.01)
    return list(seen.values())


def node_cpu_percent(system: System, seconds: float, **attachments: object) -> tuple[float, int]:
    """CPU % of a core used by the node's own process while a worker runs `attachments`; lines stored."""
    task_id = system.run(seconds=seconds, **attachments)
    process = psutil.Process(system.node.pid)
    time.sleep(1.0)  # past the start
    before, started = process.cpu_times(), time.monotonic()
    time.sleep(seconds - 3.0)
    after, elapsed = process.cpu_times(), time.monotonic() - started
    used = (after.user - before.user) + (after.system - before.system)
    time.sleep(3.0)
    stored = len(system.http.get(f"/api/tasks/{task_id}/logs", params={"limit": 5000}).json()["lines"])
    return used / elapsed * 100, stored


def bench(backend: str, probes: int, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="logbench-") as folder:
        system = System(backend, Path(folder))
        try:
            latencies = measure_visibility(system, probes)
            idle, _ = node_cpu_percent(system, seconds, mode="idle")
            busy, stored = node_cpu_percent(system, seconds, mode="flood", rate=1000)
        finally:
            system.close()
    ms = [value * 1000 for value in latencies]
    return {"backend": backend, "probes": f"{len(ms)}/{probes}", "p50": percentile(ms, 0.5),
            "p95": percentile(ms, 0.95), "p99": percentile(ms, 0.99), "max": max(ms), "idle": idle, "busy": busy,
            "stored": stored}


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| backend | probes seen | visible p50 | p95 | p99 (target <= 300 ms) | max | node CPU, silent worker "
             "| node CPU, 1,000 lines/s (target <= 10 %) | lines read back (at most 5000) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['backend']} | {row['probes']} | {row['p50']:.0f} ms | {row['p95']:.0f} ms | "
                     f"{row['p99']:.0f} ms | {row['max']:.0f} ms | {row['idle']:.1f} % | {row['busy']:.1f} % | "
                     f"{row['stored']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["services", "embedded", "both"], default="both")
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--output", default=str(BENCH / "results" / f"logs-{dt.date.today()}.md"),
                        help="markdown file for the table ('-' for none)")
    args = parser.parse_args()
    backends = ["services", "embedded"] if args.backend == "both" else [args.backend]
    rows = [bench(backend, args.probes, args.seconds) for backend in backends]
    text = table(rows)
    print(text)
    if args.output != "-":
        machine = f"{platform.node()}, {psutil.cpu_count()} cores, Python {platform.python_version()}"
        Path(args.output).write_text(f"# Task logs bench, {dt.date.today()}\n\n{machine}; "
                                     f"`bench/logs_bench.py --backend {args.backend} --probes {args.probes} "
                                     f"--seconds {args.seconds:g}`\n\n{text}\n", encoding="utf-8")
        print(f"written to {args.output}")


if __name__ == "__main__":
    main()
