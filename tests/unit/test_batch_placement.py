"""Which node each task of a dispatcher batch goes to (`placement.plan_batch`), on plain data."""

from typing import Any

import pytest

from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.policy import placement
from skalds.system_controller.policy.placement import RotationState

pytestmark = pytest.mark.unit


def node(node_id: str, *classes: str, capacity: int = 0) -> NodeRecord:
    return NodeRecord(id=node_id, mode="node", online=True, supported_tasks=list(classes), capacity=capacity)


def tasks(class_name: str, count: int, priority: int, prefix: str = "") -> list[dict[str, Any]]:
    return [{"id": f"{prefix or class_name}-{i}", "className": class_name, "priority": priority}
            for i in range(count)]


def plan(waiting: list[dict[str, Any]], nodes: list[NodeRecord], *, loads: dict[str, int] | None = None,
         capacity: int = 0, limit: int = 1000, strategy=placement.least_tasks) -> dict[str, str]:
    chosen = placement.plan_batch(waiting, nodes, loads or {}, default_capacity=capacity, choose=strategy,
                                  state=RotationState(), limit=limit)
    return {document["id"]: chosen_node.id for document, chosen_node in chosen}


def per_node(assigned: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node_id in assigned.values():
        counts[node_id] = counts.get(node_id, 0) + 1
    return counts


def test_a_batch_keeps_priority_order_and_capacity():
    waiting = tasks("A", 3, 9) + tasks("A", 3, 1, prefix="low")
    assigned = plan(waiting, [node("n1", "A", capacity=2), node("n2", "A", capacity=2)])
    assert set(assigned) == {"A-0", "A-1", "A-2", "low-0"}  # the highest priorities, 4 places
    assert per_node(assigned) == {"n1": 2, "n2": 2}


def test_a_flood_of_one_class_leaves_the_only_capacity_of_another_class_to_it():
    # n-both is the only node for B; the high-priority flood of A could fill it, but n-a can take A.
    waiting = tasks("A", 4, 9) + tasks("B", 2, 0)
    assigned = plan(waiting, [node("n-a", "A", capacity=4), node("n-both", "A", "B", capacity=2)])
    assert all(assigned[f"A-{i}"] == "n-a" for i in range(4))
    assert assigned["B-0"] == assigned["B-1"] == "n-both"


def test_a_class_with_no_room_left_does_not_hold_back_one_other_nodes_can_take():
    waiting = tasks("A", 50, 9) + tasks("B", 3, 0)
    assigned = plan(waiting, [node("n-a", "A", capacity=2), node("n-b", "B", capacity=3)])
    assert [task_id for task_id in assigned if task_id.startswith("A")] == ["A-0", "A-1"]
    assert per_node(assigned) == {"n-a": 2, "n-b": 3}


def test_priority_still_wins_when_classes_compete_for_the_same_node():
    waiting = tasks("A", 3, 9) + tasks("B", 3, 0)
    assigned = plan(waiting, [node("shared", "A", "B", capacity=3)])
    assert set(assigned) == {"A-0", "A-1", "A-2"}


def test_loads_already_held_count_and_the_input_is_not_changed():
    loads = {"n1": 1}
    assigned = plan(tasks("A", 3, 0), [node("n1", "A"), node("n2", "A")], loads=loads, capacity=2)
    assert per_node(assigned) == {"n1": 1, "n2": 2} and loads == {"n1": 1}


def test_the_strategy_picks_among_the_preferred_nodes_and_the_limit_bounds_the_batch():
    nodes = [node("n1", "A"), node("n2", "A"), node("n3", "A")]
    assigned = plan(tasks("A", 6, 0), nodes, strategy=placement.round_robin, limit=4)
    assert list(assigned.values()) == ["n1", "n2", "n3", "n1"]


def test_nothing_is_placed_without_a_capable_node():
    assert plan([*tasks("A", 2, 0), {"id": "x"}], [node("n1", "B")]) == {}
