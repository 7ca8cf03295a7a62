"""The disconnect policy (`disconnect: {lostAfterSeconds, replace}`): read from documents, judged by the monitor,
honoured by the node's fencing, shown by the API."""

import pytest
from pydantic import ValidationError

from skalds.model import disconnect
from skalds.model.task import DisconnectPolicy
from skalds.system_controller.api.models import TaskCreateRequest, TaskResponse
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.policy.verdicts import LostLimits, TaskBeat, lost_reason
from skalds.tasks.validation import problem_of

pytestmark = pytest.mark.unit

LIMITS = LostLimits(heartbeat_timeout=6.0, assign_timeout=15.0)
NOW = 1000.0


def running(policy=None):
    document = {"id": "t1", "mode": "Passive", "lifecycleStatus": "Running", "executor": "n1", "attempt": 1}
    if policy is not None:
        document["disconnect"] = policy
    return document


def silent_node(seconds, default=disconnect.NODE_DEFAULT):
    return NodeRecord(id="n1", online=False, seen_change_at=NOW - seconds, disconnect=default)


def beat(silent_for):
    return TaskBeat(heartbeat=5, stamp="s", seen_change_at=NOW - silent_for)


def test_replace_false_is_never_moved_while_its_node_is_unreachable():
    policy = {"replace": False}
    for silence in (7.0, 60.0, 3600.0):
        assert lost_reason(running(policy), silent_node(silence), beat(silence), NOW, 0, LIMITS) is None
        assert lost_reason(running(policy), None, beat(silence), NOW, 0, LIMITS) is None
    assert lost_reason(running(), silent_node(7.0), beat(7.0), NOW, 0, LIMITS) == "node n1 is offline"


def test_lost_after_seconds_makes_the_wait_longer_never_shorter():
    policy = {"lostAfterSeconds": 30}
    assert lost_reason(running(policy), silent_node(20.0), beat(20.0), NOW, 0, LIMITS) is None
    assert lost_reason(running(policy), silent_node(31.0), beat(31.0), NOW, 0, LIMITS) == "node n1 is offline"
    short = {"lostAfterSeconds": 1}
    assert lost_reason(running(short), silent_node(3.0), beat(3.0), NOW, 0, LIMITS) is None


def test_the_nodes_default_applies_to_tasks_that_name_none():
    keep = disconnect.Disconnect(0.0, replace=False)
    assert lost_reason(running(), silent_node(60.0, keep), beat(60.0), NOW, 0, LIMITS) is None
    assert lost_reason(running({"replace": True}), silent_node(60.0, keep), beat(60.0), NOW, 0, LIMITS)


def test_the_policy_is_validated_at_the_api_and_read_defensively_from_the_store():
    body = TaskCreateRequest.model_validate({"className": "X", "disconnect": {"lostAfterSeconds": 60,
                                                                              "replace": False}})
    assert body.disconnect == DisconnectPolicy(lost_after_seconds=60, replace=False)
    for bad in ({"lostAfterSeconds": -1}, {"lostAfterSeconds": 10 ** 9}, {"replace": "no"}, {"other": 1}):
        with pytest.raises(ValidationError):
            TaskCreateRequest.model_validate({"className": "X", "disconnect": bad})
    assert problem_of(running({"lostAfterSeconds": "soon"})) is not None
    assert disconnect.of(running({"lostAfterSeconds": "soon"})) == disconnect.NODE_DEFAULT
    assert problem_of(running({"lostAfterSeconds": 5, "replace": False})) is None
    assert problem_of(running()) is None  # a 0.3.8 document has none


def test_a_task_whose_node_is_silent_shows_unknown():
    document = running({"replace": False})
    shown = TaskResponse.from_document(document, unconfirmed="node n1 is offline: its Running is not confirmed")
    assert shown.state == "Unknown" and shown.lifecycleStatus == "Running"
    assert shown.disconnect == {"replace": False}
    assert TaskResponse.from_document(document).state == "Running"


def test_the_node_fences_a_worker_only_when_its_policy_says_the_task_may_move():
    from skalds.config.skald_config import SkaldConfig
    from skalds.model.task import Task
    from skalds.node.fencing import fence_after
    from skalds.node.handles import WorkerHandle
    from skalds.node.supervisor import Supervisor
    from skalds.worker.registry import WorkerRegistry

    assert fence_after(4.0, 0.0, True) == 4.0 and fence_after(4.0, 60.0, True) == 56.0
    assert fence_after(4.0, 60.0, False) == float("inf")
    supervisor = Supervisor(SkaldConfig(skald_id="n1", fence_seconds=4), WorkerRegistry(), None, None)
    handle = WorkerHandle.__new__(WorkerHandle)
    handle.task = Task(id="k", class_name="X", source="t", disconnect=DisconnectPolicy(replace=False))
    assert supervisor.fence_after(handle) == float("inf")
    handle.task = Task(id="l", class_name="X", source="t", disconnect=DisconnectPolicy(lost_after_seconds=30))
    assert supervisor.fence_after(handle) == 26.0
    handle.task = Task(id="m", class_name="X", source="t")
    assert supervisor.fence_after(handle) == 4.0
    supervisor.config = SkaldConfig(skald_id="n1", disconnect_replace=False)  # the node's default
    assert supervisor.fence_after(handle) == float("inf")
