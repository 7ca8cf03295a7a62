#!/usr/bin/env python
"""What an idle System Controller costs as finished work piles up in the store (issue #12).

A control plane's cost should follow what is happening, not everything ever stored. This bench
keeps what is happening fixed (a few hundred Running tasks on simulated nodes, no new work) and
grows what is stored (N Finished/Failed/Cancelled tasks, 10 history entries each), at two sizes
in the same run, for our controller and for Skalds 0.3.8's on the same data:

    SKALDS_KAFKA_PORT=39092 SKALDS_KAFKA_CONTROLLER_PORT=39093 SKALDS_MONGO_PORT=57017 \\
        SKALDS_REDIS_PORT=36379 SKALDS_STATE_DIR=/tmp/growthsvc scripts/services up
    SKALDS_KAFKA_PORT=39092 SKALDS_MONGO_PORT=57017 SKALDS_REDIS_PORT=36379 SKALDS_STATE_DIR=/tmp/growthsvc \\
        .venv/bin/python bench/store_growth_bench.py [--quick] [--only ours|baseline]
    SKALDS_KAFKA_PORT=39092 ... SKALDS_STATE_DIR=/tmp/growthsvc scripts/services reset

SKALDS_STATE_DIR must name the services' state dir: the FerretDB pid is read from its record there.
For each system and size, in its own database (run id in every name), documents inserted with pymongo:
  1. quiet window  the simulated nodes heartbeat (Redis only: they read their tasks once at start),
                   no controller: FerretDB's CPU (its pid and children, psutil) over `--window` s;
  2. idle window   the controller started (DISPATCHER, defaults) and settled (ours: its live view
                   read from the store, a one-off whose time is printed, and a first monitor cycle;
                   0.3.8: its start-up task sync done): FerretDB's and the controller's CPU over
                   the same length; the store's share of the controller = idle − quiet (same data, same
                   simulated nodes, minutes apart); then the controller's RSS/USS;
  3. requests      sequential GETs, each kind `--requests` times or until its `--box` s closes.
The load average is printed at the start and end of every window: the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import shutil
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
from bench_services import Endpoints
from controller_bench import (
    BENCH,
    DEFAULT_BASELINE_PYTHON,
    DOC_038_FIELDS,
    Controller,
    Names,
    Ours,
    SimNodes,
    baseline_controller,
    cleanup_kafka,
    cleanup_redis,
    fmt,
    insert_tasks,
    load_average,
    memory_of,
    percentile,
    run_meta,
    write_report,
)
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from skalds.devservices.config import Settings
from skalds.devservices.ferretdb import FerretDB
from skalds.devservices.procs import ProcRecord, owns
from skalds.model.task import Task
from skalds.transport.mongo_tasks import MongoTaskStore

CLASSES = ("GrowthWorker", "GrowthReport")
ENDINGS = ("Finished",) * 7 + ("Failed",) * 2 + ("Cancelled",)  # 70 / 20 / 10 %
DAY_MS = 24 * 3600 * 1000
SYSTEMS = {"ours": "ours", "baseline": "Skalds 0.3.8"}


def log(message: str) -> None:
    print(f"[store-growth {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the data --------------------------------------------------------------------------------------
def task_id(index: int) -> str:
    return f"sg-{index:06d}"


def task_document(index: int, created: int, status: str, executor: str) -> dict[str, Any]:
    """One task as our controller stores it (Task.to_document plus the fields a run adds)."""
    task = Task(id=task_id(index), class_name=CLASSES[index % len(CLASSES)], source="bench",
                name=f"growth task {index}", priority=index % 11, create_date_time=created,
                update_date_time=created + 60_000 if status != "Running" else created,
                desired_status="Cancelled" if status == "Cancelled" else "Running")
    document = task.to_document()
    document.update(attachments={"seconds": 60, "note": "store growth bench"}, lifecycleStatus=status,
                    executor=executor, attempt=1, assignedDateTime=created + 50,
                    exitCode={"Finished": 0, "Failed": 1}.get(status),
                    error="bench: simulated failure" if status == "Failed" else None)
    return document


def history(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries a task's life leaves in `task_events`: 10 for an ended task, 3 for a Running one."""
    tid, start, executor = document["id"], document["createDateTime"], document["executor"]
    kinds: list[dict[str, Any]] = [{"type": "created", "className": document["className"], "by": "api"},
                                   {"type": "assigned", "executor": executor, "attempt": 1},
                                   {"type": "status", "status": "Running", "executor": executor, "attempt": 1}]
    if document["lifecycleStatus"] != "Running":
        for version in (1, 2, 3):
            kinds += [{"type": "attachments_updated", "version": version},
                      {"type": "attachments_applied", "version": version, "executor": executor}]
        kinds.append({"type": "status", "status": document["lifecycleStatus"], "executor": executor, "attempt": 1})
    return [{"taskId": tid, "ts": start + 100 * step, **entry} for step, entry in enumerate(kinds)]


def make_data(ended: int, running: int, nodes: list[str]) -> list[dict[str, Any]]:
    """`ended` tasks over the last day (inside the 7-day retention), then `running` newer ones."""
    now = int(time.time() * 1000)
    step = max(1, (DAY_MS - 3_600_000) // max(1, ended))
    documents = [task_document(index, now - DAY_MS + index * step, ENDINGS[index % len(ENDINGS)],
                               nodes[index % len(nodes)]) for index in range(ended)]
    documents += [task_document(ended + index, now - 600_000 + index, "Running", nodes[index % len(nodes)])
                  for index in range(running)]
    return documents


def load(mongo: MongoClient, db: str, documents: list[dict[str, Any]], shape_038: bool) -> float:
    """Insert the tasks (ours: `_id` = id, our indexes, history; 0.3.8: its fields only, no history:
    it has none, and it creates its own `id_1` index)."""
    if shape_038:
        return insert_tasks(mongo, db, [{key: doc.get(key) for key in DOC_038_FIELDS} for doc in documents],
                            indexes=False)
    began = time.perf_counter()
    insert_tasks(mongo, db, [{"_id": doc["id"], **doc} for doc in documents])
    entries = [entry for doc in documents for entry in history(doc)]
    events = MongoTaskStore(mongo, db).events
    for start in range(0, len(entries), 5000):
        events.insert_many(entries[start:start + 5000], ordered=False)
    return time.perf_counter() - began


# --- measuring -------------------------------------------------------------------------------------
def store_pid(endpoints: Endpoints) -> int:
    """FerretDB's pid from the record `scripts/services up` wrote (checked: same process, our port)."""
    settings = Settings.from_env()
    record = ProcRecord.load(FerretDB(settings).record_path)
    if record is None or not owns(record) or record.port != endpoints.mongo_port:
        raise SystemExit(f"no FerretDB of ours on port {endpoints.mongo_port} recorded in {settings.state_dir} "
                         "(set SKALDS_STATE_DIR to the services' state dir)")
    return record.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (a backing process, if any)."""
    process = psutil.Process(pid)
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


@dataclass
class Window:
    seconds: float
    store_pct: float
    controller_pct: float | None
    load_start: str
    load_end: str


def window(seconds: float, store: int, controller: int | None) -> Window:
    """CPU of the store (and of the controller, if one runs) as % of one core over `seconds`."""
    load_start, began = load_average(), time.monotonic()
    store_0 = cpu_seconds(store)
    controller_0 = cpu_seconds(controller) if controller else 0.0
    time.sleep(seconds)
    wall = time.monotonic() - began
    store_pct = (cpu_seconds(store) - store_0) * 100 / wall
    controller_pct = (cpu_seconds(controller) - controller_0) * 100 / wall if controller else None
    return Window(wall, store_pct, controller_pct, load_start, load_average())


@dataclass
class Timings:
    samples_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    error_ms: list[float] = field(default_factory=list)  # answers other than 200, timed too
    reasons: dict[str, str] = field(default_factory=dict)  # status -> the first such answer's text
    boxed: bool = False


def answer(http: httpx.Client, path: str, params: dict[str, Any]) -> tuple[str, str]:
    """The status (or the transport error's name) and the text of one GET."""
    try:
        response = http.get(path, params=params)
    except httpx.HTTPError as error:
        return type(error).__name__, str(error)
    return str(response.status_code), response.text


def timed(http: httpx.Client, requests: list[tuple[str, dict[str, Any]]], box: float) -> Timings:
    """Sequential GETs; a sample for a 200 answer, any other answer counted by status (and timed apart)."""
    result, deadline = Timings(), time.monotonic() + box
    for path, params in requests:
        result.boxed = time.monotonic() > deadline
        if result.boxed:
            break
        began = time.perf_counter()
        status, text = answer(http, path, params)
        elapsed = (time.perf_counter() - began) * 1000
        if status == "200":
            result.samples_ms.append(elapsed)
            continue
        result.errors[status] = result.errors.get(status, 0) + 1
        result.error_ms.append(elapsed)
        result.reasons.setdefault(status, " ".join(text.split())[:200])
    return result


def request_plan(list_path: str, count: int, ended: int, nodes: list[str]) -> dict[str, list[tuple[str, dict]]]:
    """The request kinds, in the report's order; the same for both systems (0.3.8: its list path)."""
    rng = random.Random(12)
    detail = list_path.rstrip("/")
    plans = {
        "list, no filter, page 1": {"pageSize": 20},
        "list ?lifecycleStatus=Running, page 1": {"pageSize": 20, "lifecycleStatus": "Running"},
        f"list ?className={CLASSES[0]}, page 1": {"pageSize": 20, "className": CLASSES[0]},
        "list ?executor=<node>, page 1": {"pageSize": 20, "executor": nodes[0]},
        "list, no filter, page 2": {"pageSize": 20, "page": 2},
    }
    result = {name: [(list_path, params)] * count for name, params in plans.items()}
    result["GET /api/system/dashboard/summary"] = [("/api/system/dashboard/summary", {})] * count
    result["GET /api/tasks/{id} (an ended task)"] = [(f"{detail}/{task_id(rng.randrange(ended))}", {})
                                                     for _ in range(count)]
    return result


# --- one system at one size ------------------------------------------------------------------------
@dataclass
class Phase:
    system: str
    size: int
    insert_s: float = 0.0
    ready_s: float | None = None
    settle: str = ""
    quiet: Window | None = None
    idle: Window | None = None
    rss_mib: float | None = None
    uss_mib: float | None = None
    idle_store_ops: dict[str, int] | None = None  # ours: the controller's own count, by operation
    requests: dict[str, Timings] = field(default_factory=dict)
    requests_load: tuple[str, str] = ("?", "?")
    notes: list[str] = field(default_factory=list)


@dataclass
class Run:
    endpoints: Endpoints
    names: Names
    workdir: Path
    mongo: MongoClient
    options: argparse.Namespace
    store: int


def metric_samples(controller: Controller, sample: str) -> list[tuple[dict[str, str], float]]:
    """The controller's `/metrics` samples named `sample` (labels, value), read with prometheus_client's parser."""
    text = controller.http.get("/metrics", timeout=30).text
    return [(found.labels, found.value) for family in text_string_to_metric_families(text)
            for found in family.samples if found.name == sample]


def view_reads(controller: Controller) -> int:
    """How often the controller has read its live view from the store (`skalds_controller_view_rebuilds`)."""
    return int(sum(value for _labels, value in metric_samples(controller, "skalds_controller_view_rebuilds_total")))


def settle_ours(controller: Controller, phase: Phase) -> None:
    """Idle means after the start-up read of the live view (its totals aggregate over every ended task, a
    one-off that grows with the store) and a first monitor cycle; the read's time is reported beside."""
    began = time.monotonic()
    cycle, read_s = None, None
    while time.monotonic() - began < 120 and (cycle is None or read_s is None):
        with contextlib.suppress(httpx.HTTPError, ValueError):
            cycle = cycle or controller.component("Monitor").get("lastCycleMs")
            if read_s is None and view_reads(controller) >= 1:
                read_s = time.monotonic() - began
        time.sleep(0.5)
    phase.settle = (f"live view read after {read_s:.1f} s more" if read_s is not None
                    else "live view not read within 120 s")
    phase.settle += f"; first monitor cycle {cycle:,.0f} ms" if cycle else "; no monitor cycle within 120 s"


def settle_038(timing: Path, phase: Phase, box: float = 240) -> None:
    """0.3.8 reads every task once at start (its TaskMonitor's task sync); idle means after that."""
    began = time.monotonic()
    while time.monotonic() - began < box:
        with contextlib.suppress(OSError):
            if '"initial_sync"' in timing.read_text():
                phase.settle = f"start-up task sync done after {time.monotonic() - began:.1f} s more"
                return
        time.sleep(0.5)
    phase.settle = f"start-up task sync not done within {box:.0f} s (the idle window includes it)"


def store_operations(controller: Controller) -> dict[str, int]:
    """The controller's count of its task-store operations (`skalds_controller_store_operations`), by operation."""
    return {labels["operation"]: int(value)
            for labels, value in metric_samples(controller, "skalds_controller_store_operations_total")}


def ops_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}


def start_controller(run: Run, system: str, db: str, prefix: str, phase: Phase) -> Controller:
    if system == "ours":
        controller = Ours(run.endpoints, run.names, run.workdir).controller(db, prefix)
        settle_ours(controller, phase)
    else:
        python = Path(run.options.baseline_python)
        home = run.workdir / f"b038-{phase.size}"
        controller = baseline_controller(run.endpoints, db, python, run.workdir, home)
        settle_038(home / "timing.jsonl", phase)
    phase.ready_s = controller.ready_after
    time.sleep(3)  # let the first cycles after start-up pass
    return controller


def measure(run: Run, system: str, size: int) -> Phase:
    options, phase = run.options, Phase(system, size)
    db, prefix = run.names.db(f"{system}_{size}"), run.names.redis_prefix + f"{system}{size}:"
    node_prefix = f"sg{system[0]}-{run.names.run_id}-{size}"
    nodes = [f"{node_prefix}-{index:03d}" for index in range(options.nodes)]
    log(f"{system} N={size:,}: inserting {size:,} ended + {options.running} Running tasks into {db}")
    phase.insert_s = load(run.mongo, db, make_data(size, options.running, nodes), system == "baseline")
    sim = SimNodes(run.endpoints, run.workdir, f"sim-{system}-{size}", prefix=prefix if system == "ours" else "",
                   db=db, node_prefix=node_prefix, nodes=options.nodes, capacity=2 * options.running // options.nodes,
                   history=False, topic_prefix=None, extra_args=("--ownership", "1000000000"))
    controller = None
    try:
        sim.wait(lambda s: s.get("held", 0) >= options.running and s.get("writes", 0) >= 2 * options.nodes, 300,
                 "every Running task held and heartbeated")
        log(f"{system} N={size:,}: quiet window ({options.window:.0f} s, no controller)")
        phase.quiet = window(options.window, run.store, None)
        controller = start_controller(run, system, db, prefix, phase)
        log(f"{system} N={size:,}: idle window ({options.window:.0f} s, controller running; {phase.settle})")
        ops_before = store_operations(controller) if system == "ours" else {}
        phase.idle = window(options.window, run.store, controller.proc.pid)
        if system == "ours":
            phase.idle_store_ops = ops_delta(ops_before, store_operations(controller))
        usage = memory_of(controller.proc.pid)
        if usage:
            phase.rss_mib, phase.uss_mib = usage.rss_mib, usage.uss_mib
        load_start = load_average()
        for name, plan in request_plan(controller.api_tasks, options.requests, size, nodes).items():
            log(f"{system} N={size:,}: {name}")
            phase.requests[name] = timed(controller.http, plan, options.box)
        phase.requests_load = (load_start, load_average())
        phase.notes += failures(controller)
    finally:
        if controller is not None:
            controller.stop(45)
        sim.stop()
        run.mongo.drop_database(db)
        if system == "ours":  # 0.3.8's keys have no prefix: the simulated nodes delete theirs on exit
            cleanup_redis(run.endpoints, prefix)
    return phase


def failures(controller: Controller) -> list[str]:
    """Loops that logged failed cycles (ours) or errors (0.3.8) during the phase."""
    text = controller.proc.log()
    counts = {marker: text.count(marker) for marker in ("cycle failed", "Error in _monitor_tasks", " - ERROR - ")}
    return [f"{count} log lines with {marker.strip(' -')!r}" for marker, count in counts.items() if count]


# --- report ----------------------------------------------------------------------------------------
def columns(phases: list[Phase], systems: list[str], sizes: list[int]) -> list[tuple[str, int, Phase | None]]:
    found = {(phase.system, phase.size): phase for phase in phases}
    return [(system, size, found.get((system, size))) for system in systems for size in sizes]


def idle_table(cols: list[tuple[str, int, Phase | None]]) -> list[str]:
    def row(name: str, value: Callable[[Phase], str]) -> str:
        return f"| {name} | " + " | ".join(value(p) if p else "not run" for _, _, p in cols) + " |"

    def pct(get: Callable[[Phase], float | None]) -> Callable[[Phase], str]:
        return lambda p: fmt(get(p), 1)

    header = "| Idle, nothing happening | " + " | ".join(f"{SYSTEMS[s]}, N={n:,}" for s, n, _ in cols) + " |"
    return [header, "|---" * (len(cols) + 1) + "|",
            row("FerretDB CPU, quiet window: no controller (% of one core)",
                pct(lambda p: p.quiet and p.quiet.store_pct)),
            row("FerretDB CPU, controller idle (% of one core)", pct(lambda p: p.idle and p.idle.store_pct)),
            row("**Store CPU the idle controller causes** (idle − quiet, % of one core)",
                pct(lambda p: p.idle.store_pct - p.quiet.store_pct if p.idle and p.quiet else None)),
            row("Store operations the controller made in the idle window (its own count)",
                lambda p: ", ".join(f"{name} {count}" for name, count in sorted(p.idle_store_ops.items())) or "none"
                if p.idle_store_ops is not None else "–"),
            row("Controller CPU while idle (% of one core)", pct(lambda p: p.idle and p.idle.controller_pct)),
            row("Controller RSS / USS after the idle window (MiB)",
                lambda p: f"{fmt(p.rss_mib)} / {fmt(p.uss_mib)}"),
            row("Load average (1 min) at start → end, quiet window",
                lambda p: f"{p.quiet.load_start.split(' / ')[0]} → {p.quiet.load_end.split(' / ')[0]}"
                if p.quiet else "–"),
            row("Load average (1 min) at start → end, idle window",
                lambda p: f"{p.idle.load_start.split(' / ')[0]} → {p.idle.load_end.split(' / ')[0]}"
                if p.idle else "–"),
            row("Controller start → API answering (s); then", lambda p: f"{fmt(p.ready_s, 1)}; {p.settle}"),
            row("Inserting the documents (s)", lambda p: fmt(p.insert_s, 1))]


def latency(timings: Timings | None, box: float) -> str:
    if timings is None:
        return "not run"
    if not timings.samples_ms and timings.error_ms:
        errors = ", ".join(f"{status}×{count}" for status, count in timings.errors.items())
        values = timings.error_ms
        return (f"no 200 ({errors}); those answers took {fmt(percentile(values, 0.5))} / "
                f"{fmt(percentile(values, 0.99))} / {fmt(max(values))}" + (f", {box:.0f} s box closed)"
                                                                           if timings.boxed else ""))
    samples = timings.samples_ms
    text = (f"{fmt(percentile(samples, 0.5))} / {fmt(percentile(samples, 0.99))} / "
            f"{fmt(max(samples) if samples else None)} (n={len(samples)}")
    if timings.errors:
        text += ", errors " + ", ".join(f"{status}×{count}" for status, count in timings.errors.items())
    if timings.boxed:
        text += f", {box:.0f} s box closed"
    return text + ")"


def growth(small: Timings | None, large: Timings | None) -> str:
    low = percentile(small.samples_ms or small.error_ms, 0.5) if small else None  # 0.3.8's detail: its 500s
    high = percentile(large.samples_ms or large.error_ms, 0.5) if large else None
    return f"×{high / low:.1f}" if low and high else "–"


def request_table(phases: list[Phase], systems: list[str], sizes: list[int], box: float) -> list[str]:
    found = {(phase.system, phase.size): phase for phase in phases}
    names = list(dict.fromkeys(name for phase in phases for name in phase.requests))
    header = ["Request (p50 / p99 / max ms, n)"]
    for system in systems:
        header += [f"{SYSTEMS[system]}, N={size:,}" for size in sizes] + [f"{SYSTEMS[system]}: p50 growth"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for name in names:
        cells = [name]
        for system in systems:
            got = [found[(system, size)].requests.get(name) if (system, size) in found else None for size in sizes]
            cells += [latency(timings, box) for timings in got] + [growth(got[0], got[-1]) if len(got) > 1 else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    loads = ["Load average (1 min) at start → end of the requests"]
    for system in systems:
        for size in sizes:
            phase = found.get((system, size))
            loads.append(f"{phase.requests_load[0].split(' / ')[0]} → {phase.requests_load[1].split(' / ')[0]}"
                         if phase else "–")
        loads.append("")
    return [*lines, "| " + " | ".join(loads) + " |"]


def render(phases: list[Phase], errors: list[str], options: argparse.Namespace, meta: dict[str, str]) -> str:
    systems = [system for system in SYSTEMS if options.only in (None, system)]
    sizes = options.sizes
    lines = [f"# Store growth benchmark — {meta['date']}", "",
             f"Machine: {meta['machine']}; load average (1/5/15 min) at start {meta['load_start']}, at end "
             f"{meta['load_end']}.  ", f"Services: {meta['services']}.  ",
             f"Run: `{meta['command']}` ({meta['duration']}); ours = this repository ({meta['ours_version']}), "
             "0.3.8 = skalds 0.3.8 from PyPI.", "",
             f"Data per column: N ended tasks (70 % Finished, 20 % Failed, 10 % Cancelled, updated during the last "
             f"day, so inside the 7-day retention) with 10 history entries each (ours only: 0.3.8 has no history), "
             f"plus {options.running} **Running** tasks (3 history entries each) on {options.nodes} simulated nodes "
             "that write their heartbeats to Redis every 3 s as our node does (bench/controller_simnodes.py; they "
             "read their tasks once at start and never query the store again). No other work: no task is "
             "created, assigned or changed during the windows.", "",
             *idle_table(columns(phases, systems, sizes)), "",
             *request_table(phases, systems, sizes, options.box), "",
             f"How: each window is {options.window:.0f} s; CPU = (user + system CPU seconds of the process and its "
             "children, psutil, at the end − at the start) / wall seconds. FerretDB is one process (SQLite is "
             "embedded: no backing process), its pid from the services' record. The controller's share of the "
             "store = FerretDB's CPU in the idle window − in the quiet window just before it (same database, "
             "same simulated nodes, no controller). Requests are sequential on one keep-alive connection, "
             f"pageSize 20, each kind {options.requests} times or until its {options.box:.0f} s box closes; "
             "a sample is a 200 answer; p99 interpolates between ranks. 0.3.8's list path is `/api/tasks/`; "
             "it filters lifecycleStatus and className by case-insensitive regex, as its source does. 0.3.8's "
             "`GET /api/tasks/{id}` answers 500 for every task with stored attachments (it reads the document "
             "with `find_one({id})`, keeps the raw attachments dict, then calls `.model_dump()` on it: "
             "\"'dict' object has no attribute 'model_dump'\"): its cells time those 500 answers, which made "
             "the same store read."]
    notes = [f"{SYSTEMS[p.system]}, N={p.size:,}: " + "; ".join(p.notes) for p in phases if p.notes]
    notes += [f"{SYSTEMS[p.system]}, N={p.size:,}, {name}: first {status} answer: `{text}`"
              for p in phases for name, timings in p.requests.items() for status, text in timings.reasons.items()]
    if notes:
        lines += ["", "Controller logs and answers other than 200:", *[f"- {note}" for note in notes]]
    if errors:
        lines += ["", "Errors:", *[f"- {error}" for error in errors]]
    return "\n".join(lines) + "\n"


# --- main ------------------------------------------------------------------------------------------
def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 200 and 2,000, 15 s windows")
    parser.add_argument("--sizes", type=int, nargs="+", help="ended tasks per column (1,000 10,000)")
    parser.add_argument("--running", type=int, default=200, help="Running tasks on the simulated nodes")
    parser.add_argument("--nodes", type=int, default=10, help="simulated nodes")
    parser.add_argument("--window", type=float, help="seconds per CPU window (30; quick 15)")
    parser.add_argument("--requests", type=int, default=50, help="requests of each kind")
    parser.add_argument("--box", type=float, help="seconds at most per request kind (30; quick 15)")
    parser.add_argument("--only", choices=sorted(SYSTEMS), help="one system only")
    parser.add_argument("--baseline-python", default=os.environ.get("SKALDS_BASELINE_PYTHON",
                                                                    str(DEFAULT_BASELINE_PYTHON)))
    parser.add_argument("--output", help="results file (default bench/results/store-growth-<date>[-quick].md)")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the processes' logs")
    options = parser.parse_args()
    options.sizes = options.sizes or ([200, 2000] if options.quick else [1000, 10000])
    options.window = options.window or (15.0 if options.quick else 30.0)
    options.box = options.box or (15.0 if options.quick else 30.0)
    if options.only != "ours" and not Path(options.baseline_python).exists():
        raise SystemExit(f"no baseline python at {options.baseline_python}: run bench/setup_baseline.sh, then its "
                         "pip install 'skalds[backend]==0.3.8' (or --only ours)")
    return options


def main() -> int:
    options = parse()
    endpoints = Endpoints.from_env()
    services = endpoints.check()
    names = Names(uuid.uuid4().hex[:6], tag="growth")  # in every database, Redis key and topic name
    workdir = Path(tempfile.mkdtemp(prefix=f"store-growth-{names.run_id}-"))
    mongo = MongoClient(endpoints.mongo_uri, serverSelectionTimeoutMS=5000, socketTimeoutMS=600000)
    run = Run(endpoints, names, workdir, mongo, options, store_pid(endpoints))
    log(f"run {names.run_id}, FerretDB pid {run.store}, logs in {workdir}")
    started, load_start = time.monotonic(), load_average()
    phases: list[Phase] = []
    errors: list[str] = []
    try:
        for size in options.sizes:
            for system in (system for system in SYSTEMS if options.only in (None, system)):
                try:
                    phases.append(measure(run, system, size))
                except Exception as error:
                    errors.append(f"{SYSTEMS[system]}, N={size:,}: {type(error).__name__}: {str(error)[:600]}")
                    log(errors[-1])
    finally:
        cleanup_kafka(endpoints, names)
        mongo.close()
    report = render(phases, errors, options, run_meta("store_growth_bench.py", services, started, load_start))
    write_report(report, Path(options.output) if options.output else (
        BENCH / "results" / f"store-growth-{dt.date.today().isoformat()}{'-quick' if options.quick else ''}.md"))
    if options.keep_workdir or errors:
        log(f"process logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
