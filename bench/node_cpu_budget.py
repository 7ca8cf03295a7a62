#!/usr/bin/env python
"""Where the CPU goes during node_bench's throughput burst: seconds of CPU per process group.

    .venv/bin/python bench/node_cpu_budget.py [--tasks 500]

Runs our node (as node_bench.py does) on the real services, creates the tasks, then measures
the CPU time (user + system, children included once reaped) of every process group while the
burst runs, from the first assign produced to the last Finished recorded: the worker processes
(counted through their fork server), the node, FerretDB, Kafka, Redis and this driver. On a
machine where all of them share the cores, this says which one bounds tasks per second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import node_bench
import psutil
from bench_services import Endpoints

GROUPS = (("worker processes (fork server + its children)", ("skalds.node.forkserver_main",)),
          ("node", ("run_node.py",)), ("FerretDB", ("ferretdb",)), ("Kafka", ("kafka.Kafka", "kafka_2.13")),
          ("Redis", ("redis-server",)))


def cpu_by_group() -> dict[str, float]:
    totals = dict.fromkeys((name for name, _ in GROUPS), 0.0)
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        group = next((name for name, marks in GROUPS if any(mark in command for mark in marks)), None)
        if group is None:
            continue
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        totals[group] += times.user + times.system + times.children_user + times.children_system
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=500)
    options = parser.parse_args()
    system = node_bench.Ours(Endpoints.from_env(), uuid.uuid4().hex[:6], Path(tempfile.mkdtemp(prefix="cpu-budget-")))
    marks: dict[str, object] = {}
    create = system.create

    def create_then_start_clock(task_ids: list[str], seconds: float) -> None:
        create(task_ids, seconds)  # not measured: the burst starts with the first assign
        marks.update(before=cpu_by_group(), driver=time.process_time(), wall=time.monotonic())

    system.create = create_then_start_clock  # type: ignore[method-assign]
    try:
        system.start()
        node_bench.warm_up(system, 10)
        result = node_bench.measure_throughput(system, options.tasks, 240)
        wall = time.monotonic() - float(marks["wall"])  # type: ignore[arg-type]
        after = cpu_by_group()
    finally:
        system.stop()
        system.cleanup()
        system.close()
    before: dict[str, float] = marks["before"]  # type: ignore[assignment]
    used = {name: after[name] - before[name] for name in after}
    used["bench driver"] = time.process_time() - float(marks["driver"])  # type: ignore[arg-type]
    done = result.finished_done or 0
    print(f"{done}/{options.tasks} Finished in {result.finished_seconds or 0:.2f} s "
          f"= {node_bench.Throughput.rate(done, result.finished_seconds) or 0:.1f} tasks/s; "
          f"{psutil.cpu_count()} CPUs x {wall:.1f} s wall = {psutil.cpu_count() * wall:.1f} CPU-s available\n")
    print("| process group | CPU s | ms per task |\n|---|---|---|")
    for name, seconds in sorted(used.items(), key=lambda item: -item[1]):
        print(f"| {name} | {seconds:.2f} | {seconds / max(1, done) * 1000:.1f} |")
    total = sum(used.values())
    print(f"| total | {total:.2f} | {total / max(1, done) * 1000:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
