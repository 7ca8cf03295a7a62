"""The fault suite's judge counts two copies as running at once only when both really ticked then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.chaos_check import Ticks

pytestmark = pytest.mark.unit
TICK = 0.25


def _write(path: Path, ticks: list[tuple[int, float]]) -> Ticks:
    path.write_text("".join(json.dumps({"event": "tick", "task": "t", "pid": pid, "ts": ts, "attempt": 1}) + "\n"
                            for pid, ts in ticks))
    judged = Ticks(path)
    judged.read()
    return judged


def _ticks(pid: int, start: float, end: float) -> list[tuple[int, float]]:
    return [(pid, start + index * TICK) for index in range(int((end - start) / TICK) + 1)]


def test_a_paused_copys_silence_is_not_running(tmp_path: Path) -> None:
    """Paused from 10 s to 100 s while its replacement ran from 20 s: no overlap."""
    ticks = _ticks(1, 0, 10) + _ticks(2, 20, 120) + [(1, 100.0)]
    assert _write(tmp_path / "ticks.jsonl", ticks).overlaps(TICK) == {}


def test_two_copies_ticking_together_are_found_with_the_overlap(tmp_path: Path) -> None:
    ticks = _ticks(1, 0, 10) + _ticks(2, 7, 20)
    assert _write(tmp_path / "ticks.jsonl", ticks).overlaps(TICK) == {"t": 3.2}
