"""Reads every worker's output pipe on one node thread: lines tagged with task, attempt, level and
time, rate-limited per task, written to the node's own log and queued for the task log.

A worker never waits for this (its pipe holds 1 MiB; this thread only reads, parses and queues) and
the reactor never does either (a new pipe is handed over through a queue). A worker over
`lines_per_second` loses the excess, and the next line it is allowed (or its end) is preceded by one
"N lines dropped" marker. The logger's records arrive structured (`utils.logging.write_records_to`);
anything else written to stdout or stderr is a line of its own, at INFO.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import selectors
import threading
import time
from dataclasses import dataclass, field

from loguru import logger as _loguru

from skalds.model.log_levels import known_level
from skalds.node.log_shipper import LogShipper
from skalds.transport.ports import LogLine
from skalds.utils.logging import RECORD_PREFIX, worker_line

READ_BYTES = 65536
COALESCE_SECONDS = 0.01  # after a read, let more output gather: a line-at-a-time writer costs fewer wake-ups
MAX_LINE_BYTES = 16_384  # a longer line (or one without an end) is cut here; the rest of it is discarded
CUT_NOTE = f" ... (cut at {MAX_LINE_BYTES} bytes)"
_PREFIX = RECORD_PREFIX.encode()


@dataclass
class _Output:
    """One worker's pipe: whose lines, the unfinished line, and the rate limit's bucket."""

    fd: int
    task_id: str
    attempt: int
    rate: float
    partial: bytes = b""
    tokens: float = 0.0
    refilled_at: float = field(default_factory=time.monotonic)
    dropped: int = 0
    skipping: bool = False  # the rest of a line cut at MAX_LINE_BYTES is being discarded

    def allow(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.refilled_at) * self.rate)
        self.refilled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.dropped += 1
        return False


def parse(raw: bytes, task_id: str, attempt: int) -> LogLine:
    """A structured record of the worker's logger, or a plain line of its output."""
    now = int(time.time() * 1000)
    if raw.startswith(_PREFIX):
        try:
            record = json.loads(raw[len(_PREFIX):])
            return LogLine(task_id, attempt, known_level(str(record["l"])) or "INFO", int(record["t"]),
                           str(record["m"]), "logger")
        except (ValueError, KeyError, TypeError):
            pass  # not one of ours after all: kept as it is
    text = raw.decode("utf-8", "replace").rstrip("\r")
    return LogLine(task_id, attempt, "INFO", now, text, "stdout")


class LogCapture:
    def __init__(self, shipper: LogShipper | None, lines_per_second: float, skald_id: str) -> None:
        self.shipper = shipper
        self.rate = max(1.0, float(lines_per_second))
        self.skald_id = skald_id
        self.dropped_total = 0  # lines over the rate limit since the node started (the node's metric)
        self._new: queue.SimpleQueue[_Output] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._open = 0
        self._for_node_log: list[LogLine] = []

    def watch(self, fd: int | None, task_id: str, attempt: int) -> None:
        """Read `fd` (a worker's output pipe, now ours to close) as the output of this attempt."""
        if fd is None:
            return
        self._new.put(_Output(fd, task_id, attempt, self.rate, tokens=self.rate))
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set and every pipe has ended (or `stop` was set a while ago)."""
        stopped_at: float | None = None
        while True:
            if stop.is_set():
                stopped_at = stopped_at or time.monotonic()
                if not self._open or time.monotonic() - stopped_at > 2.0:
                    break
            ready = self._selector.select(timeout=0.5)
            for key, _ in ready:
                if key.data is None:
                    self._adopt()
                else:
                    self._read(key.data)
            self._write_node_log()
            if ready:
                time.sleep(COALESCE_SECONDS)
        for key in list(self._selector.get_map().values()):
            if key.data is not None:
                self._end(key.data)
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _adopt(self) -> None:
        with contextlib.suppress(OSError):
            os.read(self._wake_r, 4096)
        while True:
            try:
                output = self._new.get_nowait()
            except queue.Empty:
                return
            self._selector.register(output.fd, selectors.EVENT_READ, output)
            self._open += 1

    def _read(self, output: _Output) -> None:
        try:
            data = os.read(output.fd, READ_BYTES)
        except OSError:
            data = b""
        if not data:
            self._end(output)
            return
        pieces = (output.partial + data).split(b"\n")
        output.partial = pieces.pop()
        if output.skipping:  # the first piece (or all of it, if no line ended) ends a line already cut
            if pieces:
                pieces.pop(0)
                output.skipping = False
            else:
                output.partial = b""
        if len(output.partial) > MAX_LINE_BYTES:
            pieces.append(output.partial)
            output.partial, output.skipping = b"", True
        now = time.monotonic()
        for raw in pieces:
            if output.allow(now):
                self._flush_dropped(output)
                self._emit(self._line(raw, output), output)

    def _end(self, output: _Output) -> None:
        if output.partial:
            self._emit(self._line(output.partial, output), output)
        self._flush_dropped(output)
        self._selector.unregister(output.fd)
        os.close(output.fd)
        self._open -= 1

    @staticmethod
    def _line(raw: bytes, output: _Output) -> LogLine:
        if len(raw) <= MAX_LINE_BYTES:
            return parse(raw, output.task_id, output.attempt)
        line = parse(raw[:MAX_LINE_BYTES], output.task_id, output.attempt)
        return LogLine(line.task_id, line.attempt, line.level, line.ts, line.text + CUT_NOTE, line.source)

    def _flush_dropped(self, output: _Output) -> None:
        if output.dropped:
            text = f"{output.dropped} lines dropped: over {self.rate:g} lines/s"
            self.dropped_total += output.dropped
            output.dropped = 0
            self._emit(LogLine(output.task_id, output.attempt, "WARNING", int(time.time() * 1000), text, "skalds"),
                       output)

    def _emit(self, line: LogLine, output: _Output) -> None:
        self._for_node_log.append(line)
        if self.shipper is not None:
            self.shipper.put(line)

    def _write_node_log(self) -> None:
        """The lines read just now, into the node's own log (console, file): formatted here and written
        as one raw record per run of lines of one level, since a record per line cost most of the capture."""
        lines, self._for_node_log = self._for_node_log, []
        start = 0
        for end in range(1, len(lines) + 1):
            if end == len(lines) or lines[end].level != lines[start].level:
                text = "".join(worker_line(self.skald_id, line) for line in lines[start:end])
                _loguru.opt(raw=True).log(lines[start].level, text)
                start = end
