"""Bench worker for Skalds 0.3.8 (run with the baseline venv); same logic as `workers.py`.

0.3.8 has no cooperative cancellation: a cancel is SIGTERM, whose handler releases the
worker (heartbeat -2) and exits, interrupting the sleep below.
"""

from __future__ import annotations

import json
import os
import time

from pydantic import BaseModel

from skalds.worker.baseclass import BaseTaskWorker, run_main_handler, update_event_handler


class BenchModel(BaseModel):
    seconds: float = 0.0
    record_to: str = ""
    label: str = "initial"


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
        while time.monotonic() < deadline:
            time.sleep(0.02)
        record(self.data.record_to, "main_end", task=self.task_id)

    @update_event_handler
    def update(self, data: BenchModel) -> None:
        record(self.data.record_to, "update", task=self.task_id, label=data.label)
