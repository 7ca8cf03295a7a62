"""A worker that reports progress and metrics (`report_progress`), for the progress tests."""

from __future__ import annotations

from pydantic import BaseModel

from skalds.worker.baseclass import BaseTaskWorker, run_main_handler


class ProgressModel(BaseModel):
    steps: int = 10
    every: float = 0.3  # seconds between steps
    hold: float = 0.0  # then wait this long (cancellable) before the last report
    bad: str = ""  # "fraction", "name" or "many": make one invalid report (its ValueError fails the task)


class ProgressWorker(BaseTaskWorker[ProgressModel]):
    """Reports step/steps, `fps` and `dropped` each step, a burst in between (coalesced), then 1.0 "done"."""

    def initialize(self, data: ProgressModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        if self.data.bad == "fraction":
            self.report_progress(fraction=1.5)
        if self.data.bad == "name":
            self.report_progress(**{"bad-name": 1.0})
        if self.data.bad == "many":
            self.report_progress(**{f"m{n}": float(n) for n in range(40)})
        for step in range(self.data.steps):
            for burst in range(200):  # a tight loop: the worker is never held up
                self.report_progress(fps=24.0 + step + burst / 1000)
            self.report_progress(step / self.data.steps, f"step {step} of {self.data.steps}", fps=24.0 + step,
                                 dropped=step)
            if self.cancel_requested.wait(self.data.every):
                return
        self.cancel_requested.wait(self.data.hold)
        self.report_progress(1.0, "done", fps=0.0)
