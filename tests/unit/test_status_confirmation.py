"""A status that names a process is shown as a fact only while its node is heard from."""

from __future__ import annotations

import pytest

from skalds.system_controller.policy.confirmation import silent_nodes, unconfirmed
from skalds.transport.node_registry import NodeRecord

pytestmark = pytest.mark.unit


def _records(now: float) -> dict[str, NodeRecord]:
    return {"fresh": NodeRecord(id="fresh", online=True, seen_change_at=now - 1),
            "silent": NodeRecord(id="silent", online=True, seen_change_at=now - 9),
            "gone": NodeRecord(id="gone", online=False, seen_change_at=now - 60)}


def test_only_tasks_of_silent_offline_or_unknown_nodes_are_unconfirmed():
    records = _records(1000.0)
    silent = silent_nodes(records, now=1000.0)
    assert set(silent) == {"silent", "gone"} and "silent for 9s" in silent["silent"]
    running = {"lifecycleStatus": "Running"}
    assert unconfirmed({**running, "executor": "fresh"}, records, silent) is None
    assert "silent for 9s" in unconfirmed({**running, "executor": "silent"}, records, silent)
    assert "offline" in unconfirmed({**running, "executor": "gone"}, records, silent)
    assert "not registered" in unconfirmed({**running, "executor": "nobody"}, records, silent)
    assert unconfirmed({"lifecycleStatus": "Finished", "executor": "gone"}, records, silent) is None
    assert unconfirmed({**running, "executor": "gone"}, {}, {}) is None  # no node view: nothing is said
