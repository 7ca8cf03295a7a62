"""Which node the dispatcher picks: eligibility, capacity and each strategy, over plain NodeRecords."""

import random

import pytest

from skalds.config._enum import DispatcherStrategyEnum
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.policy import placement
from skalds.system_controller.policy.placement import STRATEGIES, RotationState

pytestmark = pytest.mark.unit


def node(node_id: str, *, online: bool = True, mode: str = "node", classes: tuple[str, ...] = ("Work",),
         capacity: int = 0) -> NodeRecord:
    return NodeRecord(id=node_id, mode=mode, online=online, supported_tasks=list(classes), capacity=capacity)


def test_every_strategy_has_a_function():
    assert set(STRATEGIES) == set(DispatcherStrategyEnum)


def test_eligible_nodes_are_online_node_mode_sorted_by_id():
    nodes = [node("c"), node("a"), node("off", online=False), node("edge", mode="edge"), node("b")]
    assert [n.id for n in placement.eligible_nodes(nodes)] == ["a", "b", "c"]


def test_capable_nodes_registered_the_class():
    nodes = [node("a", classes=("Work",)), node("b", classes=("Other",)), node("c", classes=("Other", "Work"))]
    assert [n.id for n in placement.capable_nodes(nodes, "Work", {}, 0)] == ["a", "c"]
    assert placement.capable_nodes(nodes, None, {}, 0) == []


def test_capacity_zero_is_unlimited():
    assert placement.capable_nodes([node("a", capacity=0)], "Work", {"a": 10_000}, 0) != []


def test_node_capacity_limits_and_wins_over_the_default():
    nodes = [node("a", capacity=2), node("b", capacity=3)]
    loads = {"a": 2, "b": 2}
    assert [n.id for n in placement.capable_nodes(nodes, "Work", loads, default_capacity=1)] == ["b"]


def test_default_capacity_applies_to_nodes_without_their_own():
    nodes = [node("a"), node("b")]
    assert [n.id for n in placement.capable_nodes(nodes, "Work", {"a": 1, "b": 0}, default_capacity=1)] == ["b"]
    assert placement.capacity_of(node("a"), 4) == 4
    assert placement.capacity_of(node("a", capacity=2), 4) == 2


def test_loads_count_passive_tasks_that_hold_a_node():
    live = {
        "t1": {"mode": "Passive", "lifecycleStatus": "Running", "executor": "a"},
        "t2": {"mode": "Passive", "lifecycleStatus": "Assigning", "executor": "a"},
        "t3": {"mode": "Passive", "lifecycleStatus": "Paused", "executor": "b"},
        "t4": {"mode": "Active", "lifecycleStatus": "Running", "executor": "b"},
        "t5": {"mode": "Passive", "lifecycleStatus": "Finished", "executor": "b"},
        "t6": {"mode": "Passive", "lifecycleStatus": "Running", "executor": None},
    }
    held = placement.holders(live)
    assert set(held) == {"t1", "t2", "t3", "t6"}
    held.update({"t7": "c"})  # assigned since the view was taken
    assert placement.node_loads(held) == {"a": 2, "b": 1, "c": 1}


def test_least_tasks_picks_the_lightest_node_then_the_smallest_id():
    candidates = [node("b"), node("a"), node("c")]
    choose = STRATEGIES[DispatcherStrategyEnum.LEAST_TASKS]
    assert choose(candidates, {"a": 2, "b": 1, "c": 1}, RotationState()).id == "b"
    assert choose(candidates, {}, RotationState()).id == "a"


def test_round_robin_rotates_over_the_candidates():
    candidates = [node("a"), node("b"), node("c")]
    state = RotationState()
    choose = STRATEGIES[DispatcherStrategyEnum.ROUND_ROBIN]
    assert [choose(candidates, {}, state).id for _ in range(4)] == ["a", "b", "c", "a"]
    assert choose(candidates[:2], {}, state).id == "a"  # one turn over all tasks: 4 % 2 candidates
    assert state.turn == 5


def test_random_picks_a_candidate_from_the_state_source():
    candidates = [node("a"), node("b"), node("c")]
    choose = STRATEGIES[DispatcherStrategyEnum.RANDOM]
    picks = [choose(candidates, {}, RotationState(rng=random.Random(seed))).id for seed in range(30)]
    assert set(picks) <= {"a", "b", "c"} and len(set(picks)) > 1
    again = [choose(candidates, {}, RotationState(rng=random.Random(seed))).id for seed in range(30)]
    assert picks == again
