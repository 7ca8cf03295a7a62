"""What both task-log adapters share: the caps, the size of a line, and the filter of a query."""

from __future__ import annotations

from dataclasses import dataclass

from skalds.model.log_levels import severity
from skalds.transport.ports import LogLine, LogQuery


@dataclass(frozen=True)
class LogLimits:
    """Caps of one task's log (all attempts together) and how long it is kept after its last line."""

    max_lines: int = 10_000
    max_bytes: int = 4 * 1024 * 1024
    ttl_seconds: int = 7 * 86400


def line_bytes(line: LogLine) -> int:
    """What a line costs against `max_bytes`: its text and fields, as stored."""
    return len(line.text.encode("utf-8", "replace")) + len(line.level) + len(line.source) + 24


def matches(line: LogLine, query: LogQuery) -> bool:
    """The filters of `query` except `after` and `limit` (adapters page themselves)."""
    if query.attempt is not None and line.attempt != query.attempt:
        return False
    if query.min_severity and severity(line.level) < query.min_severity:
        return False
    if query.since is not None and line.ts < query.since:
        return False
    return not query.text or query.text.lower() in line.text.lower()
