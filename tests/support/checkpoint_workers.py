"""Workers that checkpoint (issue #15): they count steps, save each one, and resume from `last_checkpoint`."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from skalds.worker.baseclass import BaseTaskWorker, checkpoint_handler, run_main_handler
from support.workers import record


class StepsModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    steps: int = 1000
    step_seconds: float = Field(0.2, alias="stepSeconds")
    record_to: str | None = Field(None, alias="recordTo")
    save_bytes: int = Field(0, alias="saveBytes")  # pad each save to about this many bytes
    handler_seconds: float = Field(0.0, alias="handlerSeconds")  # @checkpoint_handler takes this long


class CheckpointWorker(BaseTaskWorker[StepsModel]):
    """Step n saves {"step": n}; a new attempt goes on from the step it finds in `last_checkpoint`."""

    def initialize(self, data: StepsModel) -> None:
        self.data = data
        self.step = int((self.last_checkpoint or {}).get("step", 0))
        record(data.record_to, "initialize", task=self.task_id, attempt=getattr(self.task, "attempt", None),
               checkpoint=self.last_checkpoint)

    def _state(self, by: str) -> dict[str, object]:
        state: dict[str, object] = {"step": self.step, "by": by, "attempt": getattr(self.task, "attempt", None)}
        if self.data.save_bytes:
            state["pad"] = "x" * self.data.save_bytes
        return state

    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id, attempt=getattr(self.task, "attempt", None),
               start=self.step)
        while self.step < self.data.steps and not self.is_cancel_requested():
            self.step += 1
            self.save_checkpoint(self._state("main"))
            self.cancel_requested.wait(self.data.step_seconds)

    @checkpoint_handler
    def on_checkpoint(self) -> None:
        time.sleep(self.data.handler_seconds)
        self.save_checkpoint(self._state("handler"))
        record(self.data.record_to, "checkpoint_handler", task=self.task_id, step=self.step)


class OversizeCheckpointWorker(BaseTaskWorker[StepsModel]):
    """Saves a state of `saveBytes`: over the node's limit the save raises in here, and the task fails with it."""

    def initialize(self, data: StepsModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        try:
            self.save_checkpoint({"pad": "x" * self.data.save_bytes})
        except ValueError as error:
            record(self.data.record_to, "refused", task=self.task_id, error=str(error))
            raise


CHECKPOINT_WORKERS = [CheckpointWorker, OversizeCheckpointWorker]
