"""Bench worker for our Skalds (same logic as `workers_038.py`, which targets 0.3.8).

Every hook of interest appends one JSON line to `record_to` with `time.time()`, so the
bench can tell, from outside the process, when the main hook or the update handler was
entered. One `os.write` per line on an O_APPEND descriptor: lines from many processes
never interleave.
"""

from __future__ import annotations

import json
import os
import time

from pydantic import BaseModel

from skalds.worker.baseclass import BaseTaskWorker, run_main_handler, update_event_handler


class BenchModel(BaseModel):
    seconds: float = 0.0  # how long main runs; 0 = return at once
    record_to: str = ""  # JSON-lines file shared by all workers of one bench run
    label: str = "initial"  # changed by updates, echoed in the update record


def record(path: str, event: str, **data: object) -> None:
    if not path:
        return
    line = json.dumps({"event": event, "ts": time.time(), "pid": os.getpid(), **data}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class BenchWorker(BaseTaskWorker[BenchModel]):
    def initialize(self, data: BenchModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id)
        deadline = time.monotonic() + self.data.seconds
        # Cooperates with cancellation: a cancel request ends main within one poll (20 ms).
        while time.monotonic() < deadline and not self.is_cancel_requested():
            time.sleep(0.02)
        record(self.data.record_to, "main_end", task=self.task_id)

    @update_event_handler
    def update(self, data: BenchModel) -> None:
        record(self.data.record_to, "update", task=self.task_id, label=data.label)
