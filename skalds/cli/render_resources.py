"""CPU % and memory, as `skalds task show` and `skalds nodes` print them."""

from __future__ import annotations

from typing import Any

MIB = 1024 * 1024


def mib(value: Any) -> str:
    return f"{value / MIB:.1f} MiB" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def usage(resources: dict[str, Any] | None) -> str:
    """`CPU 97.0 %, RSS 212.4 MiB` (and `in 2 processes` when more than one); `-` when not measured."""
    if not isinstance(resources, dict):
        return "-"
    text = f"CPU {resources.get('cpuPercent', 0):.1f} %, RSS {mib(resources.get('rssBytes'))}"
    processes = resources.get("processes")
    return text + (f" in {processes} processes" if isinstance(processes, int) and processes > 1 else "")


def machine(resources: dict[str, Any] | None) -> str:
    """The machine's memory a node reported: `1234.0 MiB of 7890.0 MiB available`."""
    if not isinstance(resources, dict) or not resources.get("memoryTotalBytes"):
        return "-"
    return f"{mib(resources.get('memoryAvailableBytes'))} of {mib(resources.get('memoryTotalBytes'))} available"
