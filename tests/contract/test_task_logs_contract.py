"""The task-log port on both families (a Redis stream per task; the embedded table): a read says how far it
looked (`scanned`), so a follower with a filter resumes after the lines it left out instead of reading them
again on every poll."""

from __future__ import annotations

import pytest

from skalds.model.log_levels import severity
from skalds.transport.ports import LogLine, LogQuery
from support.families import Family, unique

pytestmark = pytest.mark.integration

WARNING = severity("WARNING")


def lines(task_id: str, levels: list[str]) -> list[LogLine]:
    return [LogLine(task_id=task_id, attempt=1, level=level, ts=1_700_000_000_000 + index, text=f"line {index}")
            for index, level in enumerate(levels)]


def test_a_filtered_read_reports_the_newest_line_it_looked_at(family: Family) -> None:
    logs, task_id = family.logs(), unique("logs-")
    logs.append(lines(task_id, ["INFO"] * 10 + ["WARNING"] + ["INFO"] * 300))
    last = logs.read(task_id, LogQuery(limit=1)).lines[-1]

    newest = logs.read(task_id, LogQuery(min_severity=WARNING, limit=50))
    assert [line.text for line in newest.lines] == ["line 10"]
    assert newest.scanned == last.id  # it looked at every line, also the 300 INFO ones after the match

    following = logs.read(task_id, LogQuery(min_severity=WARNING, after=newest.scanned, limit=50))
    assert following.lines == [] and following.scanned is None  # nothing new: nothing looked at

    logs.append(lines(task_id, ["INFO", "ERROR"]))
    new = logs.read(task_id, LogQuery(min_severity=WARNING, after=newest.scanned, limit=50))
    assert [line.level for line in new.lines] == ["ERROR"]
    assert new.scanned == new.lines[-1].id


def test_a_forward_read_cut_at_its_limit_resumes_after_its_last_line(family: Family) -> None:
    logs, task_id = family.logs(), unique("logs-")
    logs.append(lines(task_id, ["INFO"] * 40))
    first = logs.read(task_id, LogQuery(after="0", limit=15))
    assert len(first.lines) == 15 and first.scanned == first.lines[-1].id
    rest = logs.read(task_id, LogQuery(after=first.scanned, limit=100))
    assert [line.text for line in rest.lines] == [f"line {index}" for index in range(15, 40)]
    assert rest.scanned == rest.lines[-1].id
    assert logs.read(unique("none-"), LogQuery()).scanned is None  # an empty log: nothing looked at
