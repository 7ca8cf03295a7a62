"""The fault suite's judge: compares what the store says with what the workers' own records show.

Workers (`TickWorker`) append a tick (task, attempt, pid, time, label) every `tick` seconds. From
those records alone: which copies of a task ran, and whether two ran at the same time. A sampler
compares the store's status with the ticks while faults happen; at the end every task and every
accepted command is checked against the final state.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.chaos_driver import Driver

TERMINAL = {"Finished", "Failed", "Cancelled"}
QUIET = {"Created", "Paused", *TERMINAL}  # no process of the task should tick


@dataclass
class Ticks:
    """Incrementally read tick records: per task, each pid's first and last tick, the runs in which it
    ticked without a pause (a paused copy's silence is not running), and the last label."""

    path: Path
    spans: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    runs: dict[str, dict[int, list[list[float]]]] = field(default_factory=dict)
    gap: float = 1.0  # a silence longer than this between two ticks of one pid ends a run
    last: dict[str, tuple[float, str]] = field(default_factory=dict)
    resumed: dict[str, dict[int, int]] = field(default_factory=dict)  # task -> pid -> checkpoint count it began at
    _offset: int = 0

    def read(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as file:
            file.seek(self._offset)
            data = file.read()
        complete = data.rfind(b"\n") + 1
        self._offset += complete
        for line in data[:complete].splitlines():
            entry = json.loads(line)
            if entry.get("event") != "tick":
                continue
            span = self.spans.setdefault(entry["task"], {}).setdefault(entry["pid"], [entry["ts"], entry["ts"]])
            span[1] = max(span[1], entry["ts"])
            runs = self.runs.setdefault(entry["task"], {}).setdefault(entry["pid"], [])
            if runs and entry["ts"] - runs[-1][1] <= self.gap:
                runs[-1][1] = max(runs[-1][1], entry["ts"])
            else:
                runs.append([entry["ts"], entry["ts"]])
            if entry["ts"] >= self.last.get(entry["task"], (0.0, ""))[0]:
                self.last[entry["task"]] = (entry["ts"], entry.get("label", ""))
            if "resumedFrom" in entry:
                self.resumed.setdefault(entry["task"], {}).setdefault(entry["pid"], int(entry["resumedFrom"]))

    def ticking(self, task_id: str, now: float, tick: float) -> bool:
        return now - self.last.get(task_id, (0.0, ""))[0] <= 3 * tick + 0.5

    def overlaps(self, tick: float) -> dict[str, float]:
        """Tasks two of whose processes ticked at the same time, with the longest overlap (seconds). Each
        run counts until one tick after its last; a paused copy's silence between two runs does not count."""
        found: dict[str, float] = {}
        for task_id, pids in self.runs.items():
            runs = sorted((start, end + tick, pid) for pid, pid_runs in pids.items() for start, end in pid_runs)
            for index, (start, end, pid) in enumerate(runs):
                for other_start, other_end, other_pid in runs[index + 1:]:
                    if other_start >= end:
                        break
                    overlap = min(end, other_end) - max(start, other_start)
                    if other_pid != pid and overlap > 2 * tick:
                        found[task_id] = max(found.get(task_id, 0.0), round(overlap, 1))
        return found


class Sampler:
    """Every second: where the store's status and the processes disagree, and for how long."""

    def __init__(self, ticks: Ticks, read_tasks: Callable[[], list[dict[str, Any]]], tick: float) -> None:
        self.ticks, self.read_tasks, self.tick = ticks, read_tasks, tick
        self.since: dict[str, float] = {}  # task -> when the current disagreement began
        self.longest: dict[str, float] = {}
        self.samples = self.failed_samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                tasks = self.read_tasks()
            except Exception:
                self.failed_samples += 1  # the store is down: nothing is shown, nothing is judged
                continue
            self.ticks.read()
            self.samples += 1
            now = time.time()
            for task in tasks:
                self._judge(task, now)

    def _judge(self, task: dict[str, Any], now: float) -> None:
        task_id, status = task["id"], task.get("lifecycleStatus")
        ticking = self.ticks.ticking(task_id, now, self.tick)
        pending = bool(task.get("pending") or task.get("statusUnconfirmed"))  # the API says it is not a fact
        disagrees = not pending and ((status == "Running" and not ticking) or (status in QUIET and ticking))
        if not disagrees:
            self.since.pop(task_id, None)
            return
        began = self.since.setdefault(task_id, now)
        self.longest[task_id] = max(self.longest.get(task_id, 0.0), now - began)


def checkpoint_problems(ticks: Ticks, worked: float = 10.0) -> tuple[list[str], list[str]]:
    """Copies that began behind a checkpoint an earlier copy of their task had already begun from, and copies
    that began from zero after earlier copies had worked `worked` seconds (saving a checkpoint every second)."""
    behind, from_zero = [], []
    for task_id, pids in ticks.resumed.items():
        copies = sorted((*ticks.spans[task_id][pid], resumed, pid) for pid, resumed in pids.items())
        best, worked_before = 0, 0.0
        for first, last, resumed, pid in copies:
            if resumed < best:
                behind.append(f"{task_id}: pid {pid} began at {resumed}, an earlier copy at {best}")
            if resumed == 0 and worked_before >= worked:
                from_zero.append(f"{task_id}: pid {pid} began from zero after {worked_before:.0f}s of work")
            best, worked_before = max(best, resumed), worked_before + last - first
    return behind, from_zero


def edge_problems(edge: dict[str, str], final: dict[str, dict[str, Any]], ticks: Ticks, tick: float) -> list[str]:
    """Edge tasks are never moved: each must end Running on its own node, its process ticking."""
    now = time.time()
    problems = []
    for task_id, node in edge.items():
        document = final.get(task_id) or {}
        status, executor = document.get("lifecycleStatus"), document.get("executor")
        if status != "Running" or executor != node or not ticks.ticking(task_id, now, tick):
            problems.append(f"{task_id}: {status} on {executor}, running: {ticks.ticking(task_id, now, tick)}")
    return problems


def verdict(driver: Driver, final: dict[str, dict[str, Any]], ticks: Ticks, sampler: Sampler, tick: float,
            bound: float, edge: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The invariants, each a list of offending tasks with a reason (all empty = the run passed)."""
    now = time.time()
    ticks.read()
    lost, not_applied = [], []
    for task_id in driver.created:
        document = final.get(task_id)
        ticking = ticks.ticking(task_id, now, tick)
        if document is None:
            lost.append(f"{task_id}: accepted but not in the store")
            continue
        status = document.get("lifecycleStatus")
        if status not in QUIET and not ticking:
            lost.append(f"{task_id}: {status} but no process runs it")
        not_applied += _unapplied(driver, task_id, status, ticks, ticking)
    behind, from_zero = checkpoint_problems(ticks)
    return {
        "tasks lost": lost,
        "copies begun behind a checkpoint": behind,
        "copies begun from zero after 10 s of work": from_zero,
        "edge tasks not running on their node": edge_problems(edge or {}, final, ticks, tick),
        "tasks running twice at once": [f"{task_id}: {seconds}s" for task_id, seconds in
                                        sorted(ticks.overlaps(tick).items())],
        "accepted commands not applied": not_applied,
        f"statuses wrong for longer than {bound:.0f}s": [f"{task_id}: {seconds:.0f}s" for task_id, seconds in
                                                         sorted(sampler.longest.items()) if seconds > bound],
    }


def _unapplied(driver: Driver, task_id: str, status: str | None, ticks: Ticks, ticking: bool) -> list[str]:
    control = driver.last_command(task_id, ("pause", "resume", "cancel"))
    problems = []
    if control is not None and control.action == "cancel" and status != "Cancelled":
        problems.append(f"{task_id}: cancel accepted, final status {status}")
    elif control is not None and control.action == "pause" and status != "Paused":
        problems.append(f"{task_id}: pause accepted last, final status {status}")
    elif control is not None and control.action == "resume" and not (status == "Running" and ticking):
        problems.append(f"{task_id}: resume accepted last, final status {status}, running: {ticking}")
    update = driver.last_command(task_id, ("update",))
    if update is not None and status == "Running" and ticking:
        wanted = update.sent.get("attachments", {}).get("label")
        label = ticks.last.get(task_id, (0.0, ""))[1]
        if wanted and label != wanted:
            problems.append(f"{task_id}: attachments {wanted} accepted, the worker still runs {label}")
    return problems
