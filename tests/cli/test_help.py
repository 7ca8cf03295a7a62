"""`skalds node|edge|single|controller --help`: the ~45 flags come in named groups, in a reading order."""

from __future__ import annotations

import re

import pytest

NODE_PANELS = ["Options", "Node", "Backend", "Connection: Kafka", "Connection: MongoDB", "Connection: Redis",
               "Node timing", "Logging"]
CONTROLLER_PANELS = ["Options", "Controller", "API security", "Backend", "Connection: Kafka", "Connection: MongoDB",
                     "Connection: Redis", "Monitor and dispatcher", "Logging"]


def panels(help_text: str) -> dict[str, list[str]]:
    """Panel title -> the flags in it, in the order shown."""
    found: dict[str, list[str]] = {}
    current = None
    for line in help_text.splitlines():
        title = re.match(r"╭─ (.+?) ─", line)
        if title:
            current = found.setdefault(title.group(1), [])
        elif current is not None and (flag := re.match(r"│ (?:\*)? *(--[a-z-]+)", line)):
            current.append(flag.group(1))
    return found


@pytest.mark.parametrize(("command", "expected"), [("node", NODE_PANELS), ("edge", NODE_PANELS),
                                                   ("single", NODE_PANELS), ("controller", CONTROLLER_PANELS)])
def test_flags_are_grouped_in_order(skalds, command, expected):
    result = skalds(command, "--help", env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    found = panels(result.stdout)
    assert list(found) == expected, result.stdout
    assert found["Options"] == ["--help"]
    assert all(len(flags) <= 15 for flags in found.values()), {name: len(flags) for name, flags in found.items()}
    assert sum(len(flags) for flags in found.values()) >= 40  # every setting is still a flag
    assert "--kafka-host" in found["Connection: Kafka"] and "--log-level" in found["Logging"]
    if command != "controller":
        assert "--worker" in found["Node"] and "--skald-id" in found["Node"]
        assert ("--yaml" in found["Node"]) == (command != "node")
    else:
        assert "--system-controller-port" in found["Controller"] and "--api-admin-tokens" in found["API security"]
