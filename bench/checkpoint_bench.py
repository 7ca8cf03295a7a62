#!/usr/bin/env python
"""Resume from a checkpoint after a node kill (issue #15): how long until every task of a node killed with
SIGKILL runs again on another node, from its last checkpoint.

    .venv/bin/python bench/checkpoint_bench.py                      # both backends, 20 tasks, about 2 minutes
    .venv/bin/python bench/checkpoint_bench.py --backend embedded --tasks 10

A controller (default intervals: MONITOR_HEARTBEAT_TIMEOUT 6 s, monitor 1 s) and node A run as subprocesses,
on the real services (isolated topic prefix, database and key prefix) or on a fresh embedded file. `--tasks`
CheckpointBenchWorker tasks start on A and save a step every 0.2 s; once each has three saves stored, node B
starts (idle, ready), A's process group gets SIGKILL, and the bench reads the checkpoints stored then (A's
last). For each task: from the kill to the controller's `lost` entry, to the new `assigned` entry, and to the
new attempt's `initialize` (`time.time()` in the worker on B), and where that attempt started: from the step
stored before the kill (as it should), from an older one, or from zero. Prints a table and writes it to
bench/results/checkpoint-<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
from logs_bench import environment, free_port

BENCH = Path(__file__).resolve().parent
SKALDS = Path(sys.executable).parent / "skalds"
WORKER = "checkpoint_workers:CheckpointBenchWorker"
BACKENDS = {"services": ["services"], "embedded": ["embedded"], "both": ["services", "embedded"]}


class System:
    """A controller and up to two nodes on one backend; stopped by `close`."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self.workdir = workdir
        self.env = environment(backend, workdir, self.run_id, "ckptbench")
        self.port = free_port()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=15)
        self.processes: dict[str, subprocess.Popen] = {}
        self._spawn("controller", [sys.executable, "-m", "skalds.system_controller.main"],
                    SYSTEM_CONTROLLER_PORT=str(self.port))

    def _spawn(self, name: str, command: list[str], **extra: str) -> None:
        with (self.workdir / f"{name}.out").open("wb") as out:
            self.processes[name] = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=BENCH,
                                                    env={**self.env, **extra}, start_new_session=True)

    def start_node(self, name: str) -> str:
        node_id = f"{name}-{self.run_id}"
        self._spawn(name, [str(SKALDS), "node", "--worker", WORKER], SKALD_ID=node_id)
        wait(lambda: node_id in str(self.get("/api/skalds", "")), 90, f"{node_id} registered")
        return node_id

    def get(self, path: str, default: Any = None) -> Any:
        try:
            response = self.http.get(path)
            return response.json() if response.status_code == 200 else default
        except (httpx.HTTPError, ValueError):
            return default

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)

    def close(self) -> None:
        self.http.close()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def entry_ts(history: list[dict[str, Any]], kind: str, attempt: int | None = None) -> float | None:
    for entry in history:
        if entry.get("type") == kind and (attempt is None or entry.get("attempt") == attempt):
            return entry["ts"] / 1000
    return None


def bench(backend: str, tasks: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="ckptbench-") as folder:
        system = System(backend, Path(folder))
        try:
            return measure(system, backend, tasks, Path(folder) / "records.jsonl")
        finally:
            system.close()


def measure(system: System, backend: str, tasks: int, record_to: Path) -> dict[str, object]:
    wait(lambda: system.get("/api/system/health"), 90, "the controller")
    system.start_node("node-a")
    ids = []
    for _ in range(tasks):
        response = system.http.post("/api/tasks", json={"className": "CheckpointBenchWorker",
                                                        "attachments": {"recordTo": str(record_to)}})
        response.raise_for_status()
        ids.append(response.json()["id"])
    for task_id in ids:
        wait(lambda t=task_id: (system.get(f"/api/tasks/{t}/checkpoint") or {}).get("state", {}).get("step", 0) >= 3,
             60, f"{task_id} to save three steps")
    node_b = system.start_node("node-b")
    system.kill("node-a")
    killed_at = time.time()
    stored = {t: system.get(f"/api/tasks/{t}/checkpoint")["state"]["step"] for t in ids}
    for task_id in ids:
        wait(lambda t=task_id: (d := system.get(f"/api/tasks/{t}", {})) and d.get("executor") == node_b
             and d.get("lifecycleStatus") == "Running", 60, f"{task_id} to run on node-b")
    return summarise(system, backend, ids, stored, killed_at, records(record_to))


def summarise(system: System, backend: str, ids: list[str], stored: dict[str, int], killed_at: float,
              starts: list[dict[str, Any]]) -> dict[str, Any]:
    phases: dict[str, list[float]] = {"lost": [], "assigned": [], "resumed": []}
    kept = older = zero = twice = 0
    for task_id in ids:
        history = system.get(f"/api/tasks/{task_id}/events", {})["events"]
        second = [r for r in starts if r["task"] == task_id and r["attempt"] == 2]
        twice += len(second) > 1 or any(r["task"] == task_id and (r["attempt"] or 0) > 2 for r in starts)
        lost, assigned = entry_ts(history, "lost"), entry_ts(history, "assigned", 2)
        if lost is not None:
            phases["lost"].append(lost - killed_at)
        if assigned is not None:
            phases["assigned"].append(assigned - killed_at)
        if second:
            phases["resumed"].append(second[0]["ts"] - killed_at)
            start = second[0]["from"]
            zero += start is None
            kept += start == stored[task_id]
            older += start is not None and start < stored[task_id]
    return {"backend": backend, "tasks": len(ids), "phases": phases, "kept": kept, "older": older, "zero": zero,
            "twice": twice}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| backend | tasks | kill -> lost p50 / max | kill -> assigned p50 / max "
             "| kill -> resumed p50 / p95 / max | from the last stored checkpoint | from an older one | from zero "
             "| started twice |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lost, assigned, resumed = (row["phases"][key] for key in ("lost", "assigned", "resumed"))
        lines.append(f"| {row['backend']} | {row['tasks']} | {percentile(lost, .5):.2f} / {max(lost):.2f} s | "
                     f"{percentile(assigned, .5):.2f} / {max(assigned):.2f} s | {percentile(resumed, .5):.2f} / "
                     f"{percentile(resumed, .95):.2f} / {max(resumed):.2f} s | {row['kept']} | {row['older']} | "
                     f"{row['zero']} | {row['twice']} |")
    return "\n".join(lines)


NOTE = ("Times from the SIGKILL of node A's process group. The controller runs with its default "
        "MONITOR_HEARTBEAT_TIMEOUT (6 s): a node is declared lost no sooner than that after its last heartbeat (and "
        "after its fence time plus margin), which is most of the resume time; the rest is the assignment and the "
        "worker start on node B, which reads the checkpoint before `initialize`.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["services", "embedded", "both"], default="both")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--output", default=str(BENCH / "results" / f"checkpoint-{dt.date.today()}.md"),
                        help="markdown file for the table ('-' for none)")
    args = parser.parse_args()
    text = table([bench(backend, args.tasks) for backend in BACKENDS[args.backend]])
    print(text)
    if args.output == "-":
        return
    machine = (f"{platform.node()}, {psutil.cpu_count()} cores, Python {platform.python_version()}, "
               f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")
    command = f"`bench/checkpoint_bench.py --backend {args.backend} --tasks {args.tasks}`"
    Path(args.output).write_text(f"# Resume from a checkpoint after a node kill, {dt.date.today()}\n\n{machine}; "
                                 f"{command}\n\n{text}\n\n{NOTE}\n", encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
