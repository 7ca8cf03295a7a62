"""`skalds task ...` against a real controller and node on the test services."""

from __future__ import annotations

import json

import pytest

from support.cluster import read_records, wait_for

pytestmark = pytest.mark.integration


def _status(skalds, url, task_id):
    result = skalds("task", "show", task_id, "--json", "--url", url)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _wait(skalds, url, task_id, *statuses, timeout=20):
    return wait_for(lambda: (task := _status(skalds, url, task_id))["lifecycleStatus"] in statuses and task, timeout,
                    f"{task_id} to be {statuses}")


def test_every_task_subcommand_drives_a_real_task(skalds, controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    node = nodes.start()
    url = controller.url
    records = str(tmp_path / "r.jsonl")
    attachments = json.dumps({"seconds": 60, "recordTo": records, "label": "v0"})

    created = skalds("task", "create", "SleepWorker", "--id", "cli-1", "--attachments", attachments,
                     "--name", "from the CLI", "--url", url)
    assert created.returncode == 0, created.stderr
    assert "created task cli-1 (SleepWorker)" in created.stdout
    running = _wait(skalds, url, "cli-1", "Running")
    assert running["executor"] == node.skald_id and running["name"] == "from the CLI"

    table = skalds("task", "list", "--url", url)
    assert table.returncode == 0 and "cli-1" in table.stdout and "Running" in table.stdout
    listed = json.loads(skalds("task", "list", "--json", "--status", "Running", "--url", url).stdout)
    assert [item["id"] for item in listed["items"]] == ["cli-1"] and listed["total"] == 1
    assert json.loads(skalds("task", "list", "--json", "--status", "Finished", "--url", url).stdout)["total"] == 0

    shown = skalds("task", "show", "cli-1", "--history", "--url", url)
    assert shown.returncode == 0 and "assigned" in shown.stdout and node.skald_id in shown.stdout

    update = json.dumps({"seconds": 60, "recordTo": records, "label": "v1"})
    updated = skalds("task", "update", "cli-1", update, "--url", url)
    assert updated.returncode == 0 and "attachments version 1" in updated.stdout, updated.stderr
    wait_for(lambda: any(r["event"] == "update_end" and r["label"] == "v1" for r in read_records(records)), 10,
             "the worker to get the update")
    wait_for(lambda: _status(skalds, url, "cli-1").get("appliedAttachmentsVersion") == 1, 10, "the update's ack")

    assert skalds("task", "pause", "cli-1", "--url", url).returncode == 0
    _wait(skalds, url, "cli-1", "Paused")
    assert skalds("task", "resume", "cli-1", "--url", url).returncode == 0
    _wait(skalds, url, "cli-1", "Running")
    cancelled = skalds("task", "cancel", "cli-1", "--url", url)
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout.lower()
    watched = skalds("task", "watch", "cli-1", "--interval", "0.2", "--timeout", "30", "--url", url)
    assert watched.returncode == 1, watched.stderr  # it ended, but not Finished
    assert "Cancelled" in watched.stdout
    wait_for(lambda: read_records(records)[-1]["event"] == "release", 10, "the worker to be released")

    retried = skalds("task", "retry", "cli-1", "--json", "--url", url)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["success"] is True
    again = _wait(skalds, url, "cli-1", "Running")
    assert again["attempt"] > running["attempt"]
    live = skalds("task", "delete", "cli-1", "--url", url)  # a live task: cancelled, as 0.3.8's delete did
    assert live.returncode == 0 and "cancelled, not deleted" in live.stdout, live.stdout + live.stderr
    _wait(skalds, url, "cli-1", "Cancelled")
    deleted = skalds("task", "delete", "cli-1", "--url", url)
    assert deleted.returncode == 0 and "deleted with its history" in deleted.stdout, deleted.stdout + deleted.stderr
    assert skalds("task", "show", "cli-1", "--url", url).returncode == 1  # gone


def test_create_defaults_and_watch_until_finished(skalds, controllers, nodes, cluster):
    controller = controllers.start()
    nodes.start()
    created = skalds("task", "create", "SleepWorker", "--json", "--url", controller.url)
    assert created.returncode == 0, created.stderr
    task = json.loads(created.stdout)
    assert task["attachments"] == {} and task["lifecycleStatus"] == "Created"
    watched = skalds("task", "watch", task["id"], "--interval", "0.2", "--timeout", "30",
                     env={"SKALDS_URL": controller.url})
    assert watched.returncode == 0, watched.stderr
    assert "Finished" in watched.stdout and task["id"] in watched.stdout


def test_task_list_prints_the_cursor_of_the_next_page(skalds, controllers, cluster):
    controller = controllers.start()
    for task_id in ("page-a", "page-b", "page-c"):
        created = controller.http.post("/api/tasks", json={"waitForClass": True, "id": task_id,
                                                           "className": "SleepWorker"})
        assert created.status_code == 201, created.text
    first = skalds("task", "list", "--page-size", "2", "--sort", "id", "--url", controller.url)
    assert first.returncode == 0, first.stderr
    cursor = first.stdout.split("next page: --cursor ")[1].split()[0]
    rest = json.loads(skalds("task", "list", "--page-size", "2", "--sort", "id", "--cursor", cursor, "--json",
                             "--url", controller.url).stdout)
    assert [item["id"] for item in rest["items"]] == ["page-c"]
    assert rest["nextCursor"] is None and rest["total"] == 3
