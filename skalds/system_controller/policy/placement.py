"""Which nodes may take a task, how loaded they are, and which one a strategy picks.

Strategies are plain functions keyed by DispatcherStrategyEnum, so a new one is an entry in
STRATEGIES, not a branch in the dispatcher.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
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


def eligible_nodes(nodes: Iterable[NodeRecord], unschedulable: Collection[str] = ()) -> list[NodeRecord]:
    """Online node-mode Skalds (edges run only their own tasks) that are neither cordoned (`unschedulable`)
    nor draining themselves, by id so that round robin is stable."""
    return sorted((node for node in nodes if node.online and node.mode == SkaldModeEnum.NODE.value
                   and node.id not in unschedulable and not node.draining), key=lambda node: node.id)


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


def classes_with_room(nodes: Iterable[NodeRecord], loads: Mapping[str, int], default_capacity: int) -> set[str]:
    """The classes some node (already eligible) registered and has room for one more task of."""
    return {name for node in nodes if has_room(node, loads, default_capacity) for name in node.supported_tasks}


def capable_nodes(nodes: Iterable[NodeRecord], class_name: str | None, loads: Mapping[str, int],
                  default_capacity: int) -> list[NodeRecord]:
    """Nodes (already eligible) that registered the task's class and have room for one more task."""
    return [node for node in nodes
            if class_name in node.supported_tasks and has_room(node, loads, default_capacity)]


def _contention(node: NodeRecord, class_name: str, demand: Mapping[str | None, int]) -> int:
    """How many other classes still waiting in the batch this node could also take."""
    return sum(1 for other in node.supported_tasks if other != class_name and demand.get(other, 0) > 0)


def plan_batch(waiting: Sequence[Mapping[str, Any]], nodes: list[NodeRecord], loads: Mapping[str, int], *,
               default_capacity: int, choose: Strategy, state: RotationState,
               limit: int) -> list[tuple[Mapping[str, Any], NodeRecord]]:
    """Which waiting task goes to which node, in the order given (highest priority first), at most `limit`.

    A task goes to a node that registered its class and has room (loads count what this plan adds). Fair
    across classes: of those nodes, the ones fewer other classes still waiting could use are preferred, so a
    flood of one class fills the capacity only it can use before the capacity another class needs, and a
    class with no room left is passed over at once, so it never holds back a class other nodes can take.
    The strategy then picks among the preferred nodes."""
    loads = dict(loads)
    demand = Counter(document.get("className") for document in waiting)
    full: set[str | None] = set()
    plan: list[tuple[Mapping[str, Any], NodeRecord]] = []
    for document in waiting:
        if len(plan) >= limit:
            break
        class_name = document.get("className")
        demand[class_name] -= 1
        if class_name in full:
            continue
        capable = capable_nodes(nodes, class_name, loads, default_capacity)
        if not capable:
            full.add(class_name)
            continue
        least = min(_contention(node, class_name, demand) for node in capable)
        node = choose([node for node in capable if _contention(node, class_name, demand) == least], loads, state)
        loads[node.id] = loads.get(node.id, 0) + 1
        plan.append((document, node))
    return plan
