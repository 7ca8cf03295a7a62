"""Worker classes used by the tests. Each records what happened to a JSON-lines file
(`record_to`) so a test can see the hooks run, in order, from outside the process."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skalds.utils.logging import logger
from skalds.worker.baseclass import (
    BaseTaskWorker,
    release_handler,
    run_after_handler,
    run_before_handler,
    run_main_handler,
    update_event_handler,
)


class SleepModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    seconds: float = 0.2
    record_to: str | None = Field(None, alias="recordTo")
    label: str = "x"
    handler_seconds: float = Field(0.0, alias="handlerSeconds")


def record(path: str | None, event: str, **data: object) -> None:
    if not path:
        return
    line = json.dumps({"event": event, "ts": time.time(), "pid": os.getpid(), **data})
    with Path(path).open("a", encoding="utf-8") as file:
        file.write(line + "\n")


class SleepWorker(BaseTaskWorker[SleepModel]):
    """Sleeps `seconds` in small steps, honouring cancel requests; records every hook."""

    def initialize(self, data: SleepModel) -> None:
        self.data = data
        record(data.record_to, "initialize", task=self.task_id, label=data.label)

    @run_before_handler
    def before(self) -> None:
        record(self.data.record_to, "before", task=self.task_id)

    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id, attempt=getattr(self.task, "attempt", None))
        logger.info(f"SleepWorker main for {self.data.seconds}s")
        deadline = time.monotonic() + self.data.seconds
        while time.monotonic() < deadline and not self.is_cancel_requested():
            self.cancel_requested.wait(min(1.0, max(0.0, deadline - time.monotonic())))

    @run_after_handler
    def after(self) -> None:
        record(self.data.record_to, "after", task=self.task_id)

    @release_handler
    def release(self) -> None:
        record(self.data.record_to, "release", task=self.task_id)

    @update_event_handler
    def update(self, data: SleepModel) -> None:
        record(self.data.record_to, "update_start", task=self.task_id, label=data.label,
               version=self.attachments_version)
        time.sleep(data.handler_seconds)
        record(self.data.record_to, "update_end", task=self.task_id, label=data.label)
        self.data = data.model_copy(update={"record_to": self.data.record_to})


class PoisonModel(SleepModel):
    @field_validator("label")
    @classmethod
    def _poisoned(cls, value: str) -> str:
        if value == "poison":  # not a ValueError: validation itself fails, every time (a poison event)
            raise RuntimeError("this label poisons the validator")
        return value


class PoisonWorker(SleepWorker, BaseTaskWorker[PoisonModel]):
    """A SleepWorker whose attachments model raises (not a validation error) for the label 'poison'."""


class FailingWorker(SleepWorker):
    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id)
        raise RuntimeError("boom from FailingWorker")


class FlakyWorker(SleepWorker):
    """Fails its first attempt, finishes the next one (an automatic retry gets it through)."""

    @run_main_handler
    def main(self) -> None:
        attempt = getattr(self.task, "attempt", None)
        record(self.data.record_to, "main", task=self.task_id, attempt=attempt)
        if attempt == 1:
            raise RuntimeError("the first attempt of FlakyWorker fails")


class InitFailWorker(SleepWorker):
    def initialize(self, data: SleepModel) -> None:
        raise ValueError("initialize refused these attachments")


class HardExitWorker(SleepWorker):
    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id)
        os._exit(7)


class StubbornWorker(SleepWorker):
    """Ignores cancel requests and SIGTERM, and swallows the cancel's interrupt: only SIGKILL ends it."""

    @run_main_handler
    def main(self) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        record(self.data.record_to, "main", task=self.task_id)
        while True:
            try:
                time.sleep(0.05)
            except BaseException as error:  # swallowing the interrupt is the point of this worker
                record(self.data.record_to, "swallowed", task=self.task_id, error=type(error).__name__)


class NapWorker(SleepWorker):
    """Sleeps in one `time.sleep` and never looks at `is_cancel_requested()` (the seed's own style)."""

    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id)
        time.sleep(self.data.seconds)
        record(self.data.record_to, "main_end", task=self.task_id)


class PollingWorker(SleepWorker):
    """A cooperative loop: `time.sleep(0.1)` steps, polling the flag between them, and ends by itself."""

    @run_main_handler
    def main(self) -> None:
        record(self.data.record_to, "main", task=self.task_id)
        deadline = time.monotonic() + self.data.seconds
        while time.monotonic() < deadline and not self.is_cancel_requested():
            time.sleep(0.1)
        record(self.data.record_to, "main_end", task=self.task_id, cancelled=self.is_cancel_requested())


CANCEL_WORKERS = [NapWorker, PollingWorker, FlakyWorker]  # the cancel and retry tests' (issue #15); see run_node


class UnpicklableWorker(SleepWorker):
    """Holds a lock from its constructor: it cannot be sent to its process."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        import threading

        self.lock = threading.Lock()


class StrictModel(BaseModel):
    count: int
    name: str


class StrictWorker(BaseTaskWorker[StrictModel]):
    def initialize(self, data: StrictModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        time.sleep(0.1)


class TickModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    seconds: float = 3600.0
    record_to: str | None = Field(None, alias="recordTo")
    tick_seconds: float = Field(0.25, alias="tickSeconds")
    label: str = "x"
    checkpoint_every: int = Field(0, alias="checkpointEvery")  # save {"count"} every N ticks (0: never)


class TickWorker(BaseTaskWorker[TickModel]):
    """Writes a `tick` (task, attempt, pid, time, count) every `tick_seconds` while main runs: the fault tests
    read from these records which copies of a task really ran, and when. With `checkpointEvery` it saves its
    count as a checkpoint, and a later copy counts on from the checkpoint it started from (`resumedFrom`)."""

    def initialize(self, data: TickModel) -> None:
        self.data = data
        self.resumed_from = int((self.last_checkpoint or {}).get("count", 0))
        self.count = self.resumed_from

    @run_main_handler
    def main(self) -> None:
        attempt = getattr(self.task, "attempt", None)
        deadline = time.monotonic() + self.data.seconds
        while time.monotonic() < deadline and not self.is_cancel_requested():
            self.count += 1
            record(self.data.record_to, "tick", task=self.task_id, attempt=attempt, label=self.data.label,
                   count=self.count, resumedFrom=self.resumed_from)
            if self.data.checkpoint_every and self.count % self.data.checkpoint_every == 0:
                self.save_checkpoint({"count": self.count})
            self.cancel_requested.wait(self.data.tick_seconds)

    @update_event_handler
    def update(self, data: TickModel) -> None:
        self.data = data.model_copy(update={"record_to": self.data.record_to,
                                            "checkpoint_every": self.data.checkpoint_every})


class BusyTickWorker(TickWorker):
    """Ticks without looking at cancel requests (as a worker deep in a long step would): only a signal,
    or fencing, stops it."""

    @run_main_handler
    def main(self) -> None:
        attempt = getattr(self.task, "attempt", None)
        deadline = time.monotonic() + self.data.seconds
        while time.monotonic() < deadline:
            record(self.data.record_to, "tick", task=self.task_id, attempt=attempt, label=self.data.label)
            time.sleep(self.data.tick_seconds)


class PickyWorker(SleepWorker):
    """A SleepWorker whose update handler refuses the label 'refused' (valid by the schema: only the worker knows)."""

    @update_event_handler
    def update(self, data: SleepModel) -> None:
        if data.label == "refused":
            raise ValueError("this worker refuses the label 'refused'")
        super().update(data)


class ChattyModel(BaseModel):
    lines: int = 1  # rounds of: a logger info and warning, a print to stdout and one to stderr
    flood: int = 0  # plain prints in a tight loop after them
    seconds: float = 0.0  # then a tick line every `every` seconds for this long
    every: float = 0.2
    width: int = 0  # pad the flood's lines to this many characters
    forge: str = ""  # a line to try to forge in the node's log, after a newline and a carriage return


class ChattyWorker(BaseTaskWorker[ChattyModel]):
    """Writes to its log every way a worker can: the skalds logger, print, stderr; optionally floods."""

    def initialize(self, data: ChattyModel) -> None:
        self.data = data

    @run_main_handler
    def main(self) -> None:
        attempt = getattr(self.task, "attempt", None)
        for n in range(self.data.lines):
            logger.info(f"hello from the logger {n} attempt {attempt}")
            logger.warning(f"careful {n} attempt {attempt}")
            print(f"plain print {n} attempt {attempt}")
            print(f"to stderr {n} attempt {attempt}", file=sys.stderr)
        if self.data.forge:
            logger.info(f"evil\n{self.data.forge}")
            print(f"evil\r{self.data.forge}\x1b[2K")
        for n in range(self.data.flood):
            print(f"flood {n}".ljust(self.data.width, "."))
        deadline, n = time.monotonic() + self.data.seconds, 0
        while time.monotonic() < deadline and not self.is_cancel_requested():
            print(f"tick {n} attempt {attempt}")
            n += 1
            self.cancel_requested.wait(self.data.every)


class TracedWorker(SleepWorker):
    """Adds a span of its own inside main (`self.span`), to see it under the main hook's span in the trace."""

    @run_main_handler
    def main(self) -> None:
        with self.span("traced.step", step=1):
            super().main()


ALL_WORKERS = [ChattyWorker, SleepWorker, FailingWorker, InitFailWorker, HardExitWorker, StubbornWorker, StrictWorker,
               UnpicklableWorker, TickWorker, PoisonWorker, BusyTickWorker, PickyWorker, TracedWorker]

from support.progress_workers import ProgressWorker  # noqa: E402  (report_progress)

ALL_WORKERS.append(ProgressWorker)
