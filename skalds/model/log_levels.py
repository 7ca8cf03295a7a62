"""Log levels of task logs and their order (loguru's numbers), shared by node, API and CLI."""

from __future__ import annotations

SEVERITY = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "SUCCESS": 25, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
LEVEL_NAMES = tuple(SEVERITY)


def severity(level: str) -> int:
    """The number of `level` (any case); an unknown level counts as INFO (a worker may add its own)."""
    return SEVERITY.get(level.upper(), SEVERITY["INFO"])


def known_level(level: str) -> str | None:
    """`level` upper-cased when it is one of ours (`warn` is WARNING), else None."""
    name = level.strip().upper()
    name = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(name, name)
    return name if name in SEVERITY else None
