"""A worker that uses CPU and memory on request: spins, holds a block, leaks steadily (for the resource tests)."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from skalds.worker.baseclass import BaseTaskWorker, run_main_handler

MIB = 1024 * 1024


class HogModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    seconds: float = 30.0
    busy: bool = False  # spin on one core
    hold_mb: int = Field(0, alias="holdMb", ge=0, le=4096)  # allocated (and touched) at once
    leak_mb_per_second: int = Field(0, alias="leakMbPerSecond", ge=0, le=1024)


def _touched(mb: int) -> bytearray:
    block = bytearray(mb * MIB)
    block[::4096] = b"x" * len(block[::4096])  # resident, not merely reserved
    return block


class ResourceHogWorker(BaseTaskWorker[HogModel]):
    def initialize(self, data: HogModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        held = [_touched(self.data.hold_mb)] if self.data.hold_mb else []
        deadline, leak_at = time.monotonic() + self.data.seconds, time.monotonic()
        while time.monotonic() < deadline and not self.is_cancel_requested():
            if self.data.leak_mb_per_second and time.monotonic() >= leak_at:
                held.append(_touched(max(1, self.data.leak_mb_per_second // 10)))
                leak_at += 0.1
            if not self.data.busy:
                self.cancel_requested.wait(0.05)
