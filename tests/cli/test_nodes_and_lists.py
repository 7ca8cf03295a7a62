"""`skalds nodes` and `skalds task list` against a real controller and node, read as a person reads them:
at 80 columns, with the filters typed in any case."""

from __future__ import annotations

import itertools
import json

import pytest

from cli.runner import one_error_line
from support.cluster import wait_for

pytestmark = pytest.mark.integration

NARROW = {"COLUMNS": "80"}


def test_nodes_lists_and_shows_status_classes_tasks_and_heartbeat(skalds, controllers, nodes, cluster):
    url = controllers.start().url
    node = nodes.start()
    assert skalds("task", "create", "SleepWorker", "--id", "on-node", "-a", '{"seconds": 60}', "--url", url
                  ).returncode == 0
    cluster.wait_status("on-node", "Running")
    wait_for(lambda: "on-node" in skalds("nodes", "--url", url).stdout, 15, "the node's heartbeat to carry the task")

    listed = skalds("nodes", "--url", url, env=NARROW)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(node.skald_id))
    assert "online" in row and "SleepWorker" in listed.stdout and "on-node" in row and "s ago" in row, listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80, listed.stdout
    assert skalds("nodes", "list", "--url", url).stdout.count(node.skald_id) == 1
    assert json.loads(skalds("nodes", "--status", "ONLINE", "--json", "--url", url).stdout)["total"] == 1
    assert json.loads(skalds("nodes", "--status", "Offline", "--json", "--url", url).stdout)["total"] == 0
    assert "online or offline" in one_error_line(skalds("nodes", "--status", "gone", "--url", url))

    shown = skalds("nodes", "show", node.skald_id, "--url", url)
    assert shown.returncode == 0, shown.stderr
    assert "online" in shown.stdout and "on-node (SleepWorker)" in shown.stdout and "last heartbeat" in shown.stdout
    detail = json.loads(skalds("nodes", "show", node.skald_id, "--json", "--url", url).stdout)
    assert detail["id"] == node.skald_id and [task["id"] for task in detail["tasks"]] == ["on-node"]
    missing = skalds("nodes", "show", "no-such-node", "--url", url)
    assert missing.returncode == 1
    assert "node 'no-such-node' not found" in one_error_line(missing) and "skalds nodes" in missing.stderr


def _rows(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("──")) + 1
    return [line for line in lines[start:] if line.strip()]


def _error_cell(output: str, task_id: str) -> str:
    """The Error column of the task's row and of its continuation lines, without the spaces of the wrapping."""
    lines = output.splitlines()
    column = next(line for line in lines if line.startswith("ID ")).index("Error")
    rows = _rows(output)
    first = next(index for index, line in enumerate(rows) if line.startswith(task_id))
    cell = [rows[first][column:]]
    cell += [line[column:] for line in itertools.takewhile(lambda line: line.startswith(" "), rows[first + 1:])]
    return "".join(cell).replace(" ", "")


def test_task_list_at_80_columns_sorted_and_filtered_in_any_case(skalds, controllers, nodes, cluster):
    url = controllers.start().url
    nodes.start()
    long_id = "a-rather-long-task-id-42"  # 24 characters: whole at 80 columns
    for task_id, cls in (("b-sleeps", "SleepWorker"), (long_id, "FailingWorker"), ("c-sleeps", "SleepWorker")):
        created = skalds("task", "create", cls, "--id", task_id, "-a", '{"seconds": 60}', "--url", url)
        assert created.returncode == 0, created.stderr
    cluster.wait_status(long_id, "Failed")
    assert "Traceback" in cluster.doc(long_id)["error"]  # what the list must not show as the error
    wait_for(lambda: cluster.status("b-sleeps") == cluster.status("c-sleeps") == "Running", 30, "the sleepers")

    table = skalds("task", "list", "--url", url, env=NARROW)
    assert table.returncode == 0, table.stderr
    assert max(len(line) for line in table.stdout.splitlines()) <= 80, table.stdout
    assert _error_cell(table.stdout, long_id).startswith("RuntimeError:boom"), table.stdout
    assert "Traceback" not in table.stdout

    def ids(*args: str) -> list[str]:
        result = skalds("task", "list", "--json", *args, "--url", url)
        assert result.returncode == 0, result.stderr
        return [item["id"] for item in json.loads(result.stdout)["items"]]

    assert ids("--sort", "id") == [long_id, "b-sleeps", "c-sleeps"]
    assert ids("--sort", "id", "--reverse") == ["c-sleeps", "b-sleeps", long_id]
    assert ids("--sort", "class") == [long_id, "b-sleeps", "c-sleeps"]  # FailingWorker, then SleepWorker by id
    assert ids("--sort", "created") == ["c-sleeps", long_id, "b-sleeps"]  # newest first
    assert sorted(ids("--status", "running")) == ["b-sleeps", "c-sleeps"]
    assert ids("--status", "FAILED") == [long_id]
    refused = skalds("task", "list", "--status", "sleeping", "--url", url)
    assert refused.returncode == 2 and "Running" in one_error_line(refused)
    assert skalds("task", "list", "--sort", "colour", "--url", url).returncode == 2
