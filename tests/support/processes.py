"""What a test reads of a process from /proc: its state letter, and whether it still lives."""

from __future__ import annotations


def process_state(pid: int) -> str:
    """The state letter (R, S, T stopped, Z zombie, ...); FileNotFoundError once the process is gone."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    """Running or stopped, not a zombie and not gone."""
    try:
        return process_state(pid) not in ("Z", "X")
    except FileNotFoundError:
        return False
