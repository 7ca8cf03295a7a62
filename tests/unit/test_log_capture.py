"""The node's capture of a worker's output (real pipes, a real embedded task log): structured records and plain
lines, the per-task rate limit and its marker, cut lines, and the caps of the embedded table."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from skalds.node.log_capture import CUT_NOTE, MAX_LINE_BYTES, LogCapture
from skalds.node.log_shipper import LogShipper
from skalds.transport.log_common import LogLimits
from skalds.transport.ports import LogLine, LogQuery
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_logs import SqliteTaskLogs
from skalds.utils.logging import RECORD_PREFIX
from support.cluster import wait_for

pytestmark = pytest.mark.unit


def captured(tmp_path: Path, chunks: list[bytes], rate: int = 1000, limits: LogLimits | None = None
             ) -> list[LogLine]:
    """Write `chunks` into a worker pipe read by a real capture thread; the lines stored, once it ended."""
    logs = SqliteTaskLogs(SqliteDatabase(tmp_path / "logs.db"), limits)
    shipper = LogShipper(logs)
    shipper.start()
    capture, stop = LogCapture(shipper, rate, "node-t"), threading.Event()
    thread = threading.Thread(target=capture.run, args=(stop,), daemon=True)
    thread.start()
    read_end, write_end = os.pipe()
    capture.watch(read_end, "t1", 3)
    for chunk in chunks:
        os.write(write_end, chunk)
    os.close(write_end)  # the worker ended
    stop.set()
    thread.join(10)
    reader = SqliteTaskLogs(SqliteDatabase(tmp_path / "logs.db"))
    wait_for(lambda: reader.read("t1", LogQuery(limit=100000)).lines or None, 5, "lines stored")
    shipper.close()
    return reader.read("t1", LogQuery(limit=100000)).lines


def record(level: str, text: str, ts: int = 1_700_000_000_000) -> bytes:
    return f'{RECORD_PREFIX}{{"l": "{level}", "t": {ts}, "m": "{text}"}}\n'.encode()


def test_records_and_plain_lines_are_tagged_in_order(tmp_path):
    lines = captured(tmp_path, [record("WARNING", "from the logger"), b"a print\nhalf a li", b"ne\nno newline"])
    assert [(line.text, line.level, line.source) for line in lines] == [
        ("from the logger", "WARNING", "logger"), ("a print", "INFO", "stdout"), ("half a line", "INFO", "stdout"),
        ("no newline", "INFO", "stdout")]
    assert {(line.task_id, line.attempt) for line in lines} == {("t1", 3)}
    assert lines[0].ts == 1_700_000_000_000 and abs(lines[1].ts - time.time() * 1000) < 60_000


def test_a_flood_is_cut_to_the_rate_with_one_marker(tmp_path):
    lines = captured(tmp_path, [b"".join(f"line {n}\n".encode() for n in range(500))], rate=100)
    kept = [line.text for line in lines if line.source == "stdout"]
    markers = [line.text for line in lines if line.source == "skalds"]
    assert kept[:100] == [f"line {n}" for n in range(100)] and len(kept) < 105  # the burst, then the rate
    assert markers and all(text.endswith("lines dropped: over 100 lines/s") for text in markers)
    assert len(kept) + sum(int(text.split()[0]) for text in markers) == 500


def test_a_long_line_is_cut_and_the_next_one_kept(tmp_path):
    lines = captured(tmp_path, [b"x" * (MAX_LINE_BYTES * 3), b"x" * 100, b"\nnext\n", b"y" * (MAX_LINE_BYTES + 5)])
    assert [line.text for line in lines] == ["x" * MAX_LINE_BYTES + CUT_NOTE, "next", "y" * MAX_LINE_BYTES + CUT_NOTE]


def test_the_embedded_log_keeps_the_newest_lines_within_its_caps(tmp_path):
    lines = captured(tmp_path, [b"".join(f"{n:04d} {'y' * 90}\n".encode() for n in range(300))],
                     limits=LogLimits(max_lines=200, max_bytes=10_000))
    assert sum(len(line.text) + 30 for line in lines) <= 10_000
    assert lines[-1].text.startswith("0299") and int(lines[0].text[:4]) > 200
