"""An id with a newline in an event cannot forge a line in the node's log (before, it wrote one)."""

import json

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.workers import SleepModel

pytestmark = pytest.mark.integration

FORGED = "2026-12-01 00:00:00.000 | SUCCESS  | skalds.node:forged:1 - task evil Finished"


def test_newlines_in_keys_and_ids_stay_inside_one_escaped_log_line(nodes, cluster):
    node = nodes.start()
    for topic in (KafkaTopic.TASK_ASSIGN, KafkaTopic.TASK_CANCEL, KafkaTopic.TASK_UPDATE_ATTACHMENT):
        cluster.send(topic, f"evil\n{FORGED}", json.dumps({"taskIds": [f"evil\n{FORGED}"]}))
        cluster.send(topic, f"evil\r\n{FORGED}", b"{not json")
    cluster.create("t-after", "SleepWorker", SleepModel(seconds=0.1), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-after")
    cluster.wait_status("t-after", "Finished")
    lines = node.log().splitlines()
    assert not any(line.startswith(FORGED[:23]) for line in lines)  # no line begins with the forged stamp
    assert any("evil\\n2026" in line for line in lines)  # the id is shown escaped, on the line that names it
