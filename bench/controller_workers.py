"""The worker the controller bench's real nodes run (bench/controller_node.py).

Its main hook appends one JSON line `{"event": "main", "task": id, "ts": time.time(), "pid": ...}`
to `recordTo` as soon as it is entered, so the bench can time API create -> main hook from
outside the process. One `os.write` on an O_APPEND descriptor per line: lines written by
many worker processes never interleave.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field
from workers import record  # the same O_APPEND JSON-lines recorder as the node bench

from skalds.worker.baseclass import BaseTaskWorker, run_main_handler


class CtlBenchModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    seconds: float = 0.0  # how long main runs
    record_to: str = Field("", alias="recordTo")


class CtlBenchWorker(BaseTaskWorker[CtlBenchModel]):
    def initialize(self, data: CtlBenchModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id)
        deadline = time.monotonic() + self.data.seconds
        while time.monotonic() < deadline and not self.is_cancel_requested():
            time.sleep(0.05)
