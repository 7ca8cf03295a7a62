"""Which nodes may take a task, how loaded they are, and which one a strategy picks.

Strategies are plain functions keyed by DispatcherStrategyEnum, so a new one is an entry in
STRATEGIES, not a branch in the dispatcher.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from skalds.config._enum import DispatcherStrategyEnum, SkaldModeEnum
from skalds.model.task import ACTIVE_STATUSES, ModeEnum
from skalds.system_controller.nodes import NodeRecord


@dataclass
class RotationState:
    """What a strategy carries from one choice to the next: the round-robin turn and the random source."""

    turn: int = 0
    rng: random.Random = field(default_factory=random.Random)


Strategy = Callable[[list[NodeRecord], Mapping[str, int], RotationState], NodeRecord]


def least_tasks(candidates: list[NodeRecord], loads: Mapping[str, int], _state: RotationState) -> NodeRecord:
    """The node holding the fewest tasks; ties go to the smallest id, so choices are reproducible."""
    return min(candidates, key=lambda node: (loads.get(node.id, 0), node.id))


def round_robin(candidates: list[NodeRecord], _loads: Mapping[str, int], state: RotationState) -> NodeRecord:
    """The next node in turn among this task's candidates (one turn per assignment, over all tasks)."""
    node = candidates[state.turn % len(candidates)]
    state.turn += 1
    return node


def random_node(candidates: list[NodeRecord], _loads: Mapping[str, int], state: RotationState) -> NodeRecord:
    return state.rng.choice(candidates)


STRATEGIES: dict[DispatcherStrategyEnum, Strategy] = {
    DispatcherStrategyEnum.LEAST_TASKS: least_tasks,
    DispatcherStrategyEnum.ROUND_ROBIN: round_robin,
    DispatcherStrategyEnum.RANDOM: random_node,
}


def eligible_nodes(nodes: Iterable[NodeRecord]) -> list[NodeRecord]:
    """Online node-mode Skalds (edges run only their own tasks), by id so that round robin is stable."""
    return sorted((node for node in nodes if node.online and node.mode == SkaldModeEnum.NODE.value),
                  key=lambda node: node.id)


def holders(live_tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]:
    """task id -> the node it occupies, for dispatched (Passive) tasks that still hold a node."""
    return {task_id: document.get("executor") for task_id, document in live_tasks.items()
            if document.get("mode") == ModeEnum.Passive.value
            and document.get("lifecycleStatus") in ACTIVE_STATUSES}


def node_loads(held: Mapping[str, str | None]) -> dict[str, int]:
    """How many tasks each node holds, from task id -> node."""
    loads: dict[str, int] = {}
    for node_id in held.values():
        if node_id:
            loads[node_id] = loads.get(node_id, 0) + 1
    return loads


def capacity_of(node: NodeRecord, default_capacity: int) -> int:
    """The node's own capacity, else the configured default; 0 means unlimited."""
    return node.capacity or default_capacity


def has_room(node: NodeRecord, loads: Mapping[str, int], default_capacity: int) -> bool:
    capacity = capacity_of(node, default_capacity)
    return capacity <= 0 or loads.get(node.id, 0) < capacity


def capable_nodes(nodes: Iterable[NodeRecord], class_name: str | None, loads: Mapping[str, int],
                  default_capacity: int) -> list[NodeRecord]:
    """Nodes (already eligible) that registered the task's class and have room for one more task."""
    return [node for node in nodes
            if class_name in node.supported_tasks and has_room(node, loads, default_capacity)]
