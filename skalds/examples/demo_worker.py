"""DemoWorker: every attachment has a default, so `{}` is a valid task."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from skalds.utils.logging import logger
from skalds.worker.baseclass import BaseTaskWorker, release_handler, run_main_handler, update_event_handler


class DemoAttachments(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    message: str = "hello from Skalds"
    steps: int = Field(10, ge=0, description="how many steps to run")
    step_seconds: float = Field(1.0, ge=0, alias="stepSeconds")


class DemoWorker(BaseTaskWorker[DemoAttachments]):
    """Logs `message` once per step; a live update changes the message mid-run."""

    def initialize(self, data: DemoAttachments) -> None:
        self.data = data

    @run_main_handler
    def run_steps(self) -> None:
        step = 0
        while step < self.data.steps and not self.is_cancel_requested():
            step += 1
            logger.info(f"step {step}/{self.data.steps}: {self.data.message}")
            time.sleep(self.data.step_seconds)

    @update_event_handler
    def on_update(self, data: DemoAttachments) -> None:
        logger.info(f"attachments updated: message={data.message!r}, steps={data.steps}")
        self.data = data

    @release_handler
    def release(self) -> None:
        logger.info("demo worker released")
