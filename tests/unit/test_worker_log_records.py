"""A worker's logger record on its output pipe stays one structured line the node parses, however its text
escapes: a traceback full of newlines, quotes and non-ASCII text is cut to fit, never shown as raw text."""

from __future__ import annotations

import pytest

from skalds.node.log_capture import MAX_LINE_BYTES, parse
from skalds.utils import logging as skalds_logging
from skalds.utils.logging import logger

pytestmark = pytest.mark.unit


def records_written(message: str) -> list[bytes]:
    """The line the console sink of a captured worker writes for a record (a real loguru record)."""
    records: list[dict] = []
    sink = logger.add(lambda written: records.append(written.record), level="DEBUG")
    try:
        logger.warning(message)
    finally:
        logger.remove(sink)
    return skalds_logging._record_line(records[0]).splitlines(keepends=True)


@pytest.mark.parametrize("piece", ['"\n', "é", "\U0001f600", "\x01", "plain "])
def test_a_long_escaped_record_fits_the_nodes_line_and_parses(piece: str) -> None:
    message = piece * 20_000
    lines = records_written(message)
    assert len(lines) == 1 and len(lines[0]) <= MAX_LINE_BYTES
    line = parse(lines[0].rstrip(b"\n"), "t1", 1)
    assert (line.source, line.level) == ("logger", "WARNING")
    assert line.text.startswith(message[:100]) and "characters cut)" in line.text


def test_a_short_record_is_kept_whole() -> None:
    line = parse(records_written('a "quoted"\nline')[0].rstrip(b"\n"), "t1", 1)
    assert (line.text, line.source) == ('a "quoted"\nline', "logger")
