"""The state a task is shown in (API `state`), whether an edge node can hear a request, and one-line YAML errors."""

import pytest

from skalds.node.yaml_tasks import YamlTaskError, read_yaml_tasks
from skalds.system_controller.api.models import TaskResponse
from skalds.system_controller.policy.edge_reach import unreachable
from skalds.system_controller.policy.shown_state import shown_state
from skalds.transport.node_registry import NodeRecord

pytestmark = pytest.mark.unit


def doc(status, desired=None, **fields):
    document = {"id": "t", "className": "C", "lifecycleStatus": status, "executor": "n1", **fields}
    if desired is not None:
        document["desiredStatus"] = desired
    return document


@pytest.mark.parametrize(("status", "desired", "shown"), [
    ("Running", "Cancelled", "Cancelling"), ("Assigning", "Cancelled", "Cancelling"),
    ("Paused", "Cancelled", "Cancelling"), ("Cancelled", "Cancelled", "Cancelled"),
    ("Running", "Paused", "Pausing"), ("Assigning", "Paused", "Pausing"), ("Paused", "Paused", "Paused"),
    ("Running", None, "Running"), ("Running", "Running", "Running"), ("Finished", "Cancelled", "Finished"),
])
def test_a_request_under_way_is_shown_until_the_node_carried_it_out(status, desired, shown):
    assert shown_state(doc(status, desired), 5000).state == shown


def test_a_failed_task_with_retries_left_shows_retrying_and_when():
    failed = doc("Failed", "Running", retryCount=1, maxRetries=3, updateDateTime=10_000)
    shown = shown_state(failed, 5000)
    assert shown.state == "Retrying" and shown.next_attempt_at == 10_000 + 5000 * 2
    assert shown_state({**failed, "retryCount": 3}, 5000).state == "Failed"  # the budget is spent
    assert shown_state(failed, None).state == "Failed"  # the backoff unknown: nothing is promised
    response = TaskResponse.from_document(failed, retry_backoff_ms=5000)
    assert (response.state, response.nextAttemptAt, response.lifecycleStatus) == ("Retrying", 20_000, "Failed")
    assert TaskResponse.from_document(doc("Running", "Cancelled")).state == "Cancelling"


def record(mode="edge", online=True, requests="events"):
    return NodeRecord(id="n1", mode=mode, online=online, requests=requests)


def test_a_request_for_an_edge_task_is_refused_only_when_it_cannot_reach_the_node():
    edge_task = doc("Running", mode="Active")
    assert unreachable(edge_task, record()) is None
    assert unreachable(edge_task, record(requests="store")) is None  # its reconciler carries requests out
    assert unreachable(edge_task, record(requests="")) is None  # an older edge node did not say: not refused
    assert "no event connection" in unreachable(edge_task, record(requests="none"))
    assert "offline" in unreachable(edge_task, record(online=False))
    assert unreachable(edge_task, None) is None  # not seen (yet): the controller cannot tell, so it does not refuse
    assert unreachable(edge_task, record(mode="node", requests="none")) is None
    assert unreachable(doc("Running", mode="Passive"), None) is None  # a node's task: the monitor handles that
    assert unreachable(doc("Finished", mode="Active"), None) is None  # nothing runs: the store alone decides


def test_a_malformed_yaml_file_is_one_line_saying_where(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("TaskWorkers:\n  a:\n    className: X\n   attachments: [1, 2\n")
    with pytest.raises(YamlTaskError) as raised:
        read_yaml_tasks(path)
    message = str(raised.value)
    assert "\n" not in message and "line 4" in message and str(path) in message, message
