"""The worker of bench/checkpoint_bench.py: one save per step, and a record of where each attempt started."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from skalds.worker.baseclass import BaseTaskWorker, run_main_handler


class StepModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    step_seconds: float = Field(0.2, alias="stepSeconds")
    record_to: str = Field(..., alias="recordTo")


class CheckpointBenchWorker(BaseTaskWorker[StepModel]):
    """Counts steps, saving {"step": n} after each; a new attempt goes on from `last_checkpoint`."""

    def initialize(self, data: StepModel) -> None:
        self.data = data
        self.step = int((self.last_checkpoint or {}).get("step", 0))
        line = json.dumps({"event": "initialize", "task": self.task_id, "ts": time.time(), "pid": os.getpid(),
                           "attempt": getattr(self.task, "attempt", None),
                           "from": None if self.last_checkpoint is None else self.step})
        with Path(data.record_to).open("a", encoding="utf-8") as file:
            file.write(line + "\n")

    @run_main_handler
    def main(self) -> None:
        while not self.is_cancel_requested():
            self.step += 1
            self.save_checkpoint({"step": self.step})
            self.cancel_requested.wait(self.data.step_seconds)
