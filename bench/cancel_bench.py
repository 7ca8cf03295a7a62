#!/usr/bin/env python
"""Cancel latency (issue #15): from a node's cancel to the worker's process gone, for three workers.

    .venv/bin/python bench/cancel_bench.py --label ours --json /tmp/ours.json
    PYTHONPATH=/work/main /work/main/.venv/bin/python bench/cancel_bench.py --label main --json /tmp/main.json
    .venv/bin/python bench/cancel_bench.py --compare /tmp/main.json /tmp/ours.json \
        --write bench/results/cancel-2026-12-01.md

A real node supervisor (no services: its statuses go nowhere) forks real worker processes from its fork
server; for each run the bench starts one task, waits for its main hook (the worker records its pid), calls
`Supervisor.cancel_task` and polls /proc every millisecond until the process is gone, then waits for the
Cancelled outcome. The worker (`cancel_workers.py`) has three kinds: one `time.sleep` that never polls the
flag, a cooperative 100 ms loop, and one that ignores SIGTERM and swallows exceptions (ends only by SIGKILL).
Node settings are the defaults (request 2 s before SIGTERM, 10 s before SIGKILL) unless given.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH), os.environ.get("PYTHONPATH", "")) if p)
sys.path.insert(0, str(BENCH))

from cancel_workers import KINDS, CancelBenchWorker, CancelModel  # noqa: E402

import skalds  # noqa: E402
from skalds.config.skald_config import SkaldConfig  # noqa: E402
from skalds.model.task import Task  # noqa: E402
from skalds.node.supervisor import Supervisor  # noqa: E402
from skalds.utils.logging import configure_logging  # noqa: E402
from skalds.worker.registry import WorkerRegistry  # noqa: E402


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):  # gone between the open and the read
        return False


def main_pid(path: Path, task_id: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if record["task"] == task_id and record["event"] == "main":
                    return int(record["pid"])
        time.sleep(0.005)
    raise TimeoutError(f"{task_id}: main hook not entered in {timeout}s")


class Bench:
    def __init__(self, config: SkaldConfig, workdir: Path) -> None:
        registry = WorkerRegistry()
        registry.register(CancelBenchWorker)
        self.supervisor = Supervisor(config, registry, None, None)
        self.records = workdir / "records.jsonl"
        self.outcomes: dict[str, str] = {}
        self.ended = threading.Condition()
        self.supervisor.on_task_finished = self._finished
        self.supervisor.start()

    def _finished(self, task_id: str, status: str) -> None:
        with self.ended:
            self.outcomes[task_id] = status
            self.ended.notify_all()

    def one(self, kind: str, index: int) -> dict[str, Any]:
        """Start one task, cancel it once its main hook runs; ms until its process is gone and until recorded."""
        task_id = f"{kind}-{index}"
        data = CancelModel(kind=kind, record_to=str(self.records))
        self.supervisor.start_task(Task(id=task_id, class_name=CancelBenchWorker.__name__, source="bench",
                                        attachments=data),
                                   1, data.model_dump(mode="json"))
        pid = main_pid(self.records, task_id)
        time.sleep(0.05)
        started = time.monotonic()
        self.supervisor.cancel_task(task_id, "cancel")
        while alive(pid):
            time.sleep(0.001)
        gone = time.monotonic()
        with self.ended:
            self.ended.wait_for(lambda: task_id in self.outcomes, 30)
        recorded = time.monotonic()
        return {"gone_ms": (gone - started) * 1000, "recorded_ms": (recorded - started) * 1000,
                "status": self.outcomes.get(task_id)}

    def close(self) -> None:
        self.supervisor.stop_all(timeout=15)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]  # nearest rank


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    gone = [s["gone_ms"] for s in samples]
    return {"runs": len(samples), "p50": percentile(gone, 0.5), "p99": percentile(gone, 0.99), "max": max(gone),
            "recorded_p99": percentile([s["recorded_ms"] for s in samples], 0.99),
            "statuses": sorted({str(s["status"]) for s in samples})}


def run(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging(level="WARNING")
    config = SkaldConfig(skald_id=f"cancel-bench-{os.getpid()}", log_level="WARNING", standby_workers=2,
                         cancel_request_timeout=args.request_timeout, cancel_grace_seconds=args.grace)
    counts = {"sleeping": args.runs, "cooperative": args.runs, "sigterm-ignoring": args.deaf_runs}
    results: dict[str, Any] = {"label": args.label, "skalds": str(Path(skalds.__file__).parent),
                               "python": platform.python_version(), "cpus": os.cpu_count(),
                               "request_timeout": args.request_timeout, "grace": args.grace, "kinds": {}}
    with tempfile.TemporaryDirectory(prefix="cancel-bench-") as workdir:
        bench = Bench(config, Path(workdir))
        try:
            for kind, count in counts.items():
                samples = [bench.one(kind, index) for index in range(count)]
                results["kinds"][kind] = summarize(samples)
                print(f"{args.label}: {kind}: {results['kinds'][kind]}", flush=True)
        finally:
            bench.close()
    return results


def table(reports: list[dict[str, Any]]) -> str:
    lines = ["| worker | checkout | runs | process gone p50 | p99 | max | Cancelled recorded p99 | status |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for kind in KINDS:
        for report in reports:
            row = report["kinds"].get(kind)
            if row is None:
                continue
            lines.append(f"| {kind} | {report['label']} | {row['runs']} | {row['p50']:.0f} ms | {row['p99']:.0f} ms | "
                         f"{row['max']:.0f} ms | {row['recorded_p99']:.0f} ms | {', '.join(row['statuses'])} |")
    return "\n".join(lines)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="ours")
    parser.add_argument("--runs", type=int, default=40, help="cancels per sleeping and cooperative worker")
    parser.add_argument("--deaf-runs", type=int, default=3, help="cancels of the SIGTERM-ignoring worker")
    parser.add_argument("--request-timeout", type=float, default=2.0, help="node: cancel request -> SIGTERM (s)")
    parser.add_argument("--grace", type=float, default=10.0, help="node: SIGTERM -> SIGKILL (s)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--compare", type=Path, nargs="+", help="print (and --write) a table of saved results")
    parser.add_argument("--write", type=Path, help="markdown file for --compare")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.compare:
        reports = [json.loads(path.read_text()) for path in arguments.compare]
        text = table(reports)
        print(text)
        if arguments.write:
            arguments.write.write_text(text + "\n")
        sys.exit(0)
    report = run(arguments)
    print(table([report]))
    if arguments.json:
        arguments.json.write_text(json.dumps(report, indent=2))
