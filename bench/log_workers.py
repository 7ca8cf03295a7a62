"""The worker of bench/logs_bench.py: probe lines carrying their own write time, a paced flood, or nothing."""

from __future__ import annotations

import time

from pydantic import BaseModel

from skalds.utils.logging import logger
from skalds.worker.baseclass import BaseTaskWorker, run_main_handler


class LogBenchModel(BaseModel):
    mode: str = "idle"  # "probe", "flood" or "idle"
    count: int = 200  # probes
    every: float = 0.05  # seconds between probes
    rate: int = 1000  # flood lines per second
    seconds: float = 20.0  # flood or idle duration


class LogBenchWorker(BaseTaskWorker[LogBenchModel]):
    def initialize(self, data: LogBenchModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        data = self.data
        if data.mode == "probe":
            for n in range(data.count):
                logger.info(f"probe {n} {time.time():.6f}")
                time.sleep(data.every)
        elif data.mode == "flood":
            self._flood(data)
        else:
            self.cancel_requested.wait(data.seconds)

    def _flood(self, data: LogBenchModel) -> None:
        """`rate` lines a second, 10 per tick, half through the logger and half printed."""
        start, sent = time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < data.seconds:
            due = int(elapsed * data.rate) + 10
            while sent < due:
                if sent % 2:
                    print(f"flood line {sent} of a worker writing {data.rate} lines per second")
                else:
                    logger.info(f"flood line {sent} of a worker writing {data.rate} lines per second")
                sent += 1
            time.sleep(0.01)
