"""The worker of `cancel_bench.py`: one class, three ways to meet a cancel (`kind`). Its main hook appends
one JSON line (`main`, with its pid) to `record_to` when entered, so the bench knows which process to watch."""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Literal

from pydantic import BaseModel
from workers import record  # one JSON line per event, appended atomically

from skalds.worker.baseclass import BaseTaskWorker, run_main_handler

KINDS = ("sleeping", "cooperative", "sigterm-ignoring")


class CancelModel(BaseModel):
    kind: Literal["sleeping", "cooperative", "sigterm-ignoring"] = "sleeping"
    seconds: float = 3600.0
    record_to: str = ""


class CancelBenchWorker(BaseTaskWorker[CancelModel]):
    def initialize(self, data: CancelModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id)
        {"sleeping": self._sleep, "cooperative": self._poll, "sigterm-ignoring": self._ignore}[self.data.kind]()

    def _sleep(self) -> None:
        """One `time.sleep` for the whole task; never looks at the flag (the seed's own style)."""
        time.sleep(self.data.seconds)

    def _poll(self) -> None:
        """Steps of 100 ms, polling `is_cancel_requested()` between them."""
        until = time.monotonic() + self.data.seconds
        while not self.is_cancel_requested() and time.monotonic() < until:
            time.sleep(0.1)

    def _ignore(self) -> None:
        """SIGTERM ignored and whatever the cancel raises dropped: only SIGKILL ends it."""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            with contextlib.suppress(BaseException):
                time.sleep(0.05)
