"""`skalds task watch` waits through automatic retries and says by its exit code how the tasks ended;
the API and the table show a Failed task waiting for its retry as `Retrying` with the time and the count."""

from __future__ import annotations

import json
import time

import pytest

from support.cluster import wait_for

pytestmark = pytest.mark.integration


def create(skalds, url, class_name, task_id, retries):
    created = skalds("task", "create", class_name, "--id", task_id, "--max-retries", str(retries), "-a",
                     '{"seconds": 0.1}', "--url", url)
    assert created.returncode == 0, created.stderr


def test_a_failed_task_waiting_for_its_retry_shows_retrying_and_watch_waits_for_the_retry(skalds, controllers, nodes):
    controller = controllers.start(RETRY_BACKOFF_SECONDS="3")
    nodes.start()
    create(skalds, controller.url, "FlakyWorker", "flaky", 2)
    waiting = wait_for(lambda: (t := controller.http.get("/api/tasks/flaky").json())["state"] == "Retrying" and t,
                       30, "flaky to wait for its retry")
    assert waiting["lifecycleStatus"] == "Failed" and waiting["retryCount"] == 0 and waiting["maxRetries"] == 2
    assert time.time() * 1000 < waiting["nextAttemptAt"] <= waiting["updateDateTime"] + 3000
    listed = skalds("task", "list", "--url", controller.url)
    assert "Retrying 1/2" in listed.stdout, listed.stdout
    watched = skalds("task", "watch", "flaky", "--interval", "0.2", "--timeout", "60", "--url", controller.url)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "Finished" in watched.stdout
    done = controller.http.get("/api/tasks/flaky").json()
    assert done["state"] == "Finished" and done["retryCount"] == 1 and done["attempt"] == 2


def test_watch_exits_1_on_a_final_failure_and_on_a_cancel(skalds, controllers, nodes):
    controller = controllers.start(RETRY_BACKOFF_SECONDS="0.5")
    nodes.start()
    create(skalds, controller.url, "FailingWorker", "fails", 1)
    failed = skalds("task", "watch", "fails", "--interval", "0.2", "--timeout", "60", "--url", controller.url)
    assert failed.returncode == 1 and "ended without finishing: fails Failed" in failed.stderr, failed.stderr
    shown = json.loads(skalds("task", "show", "fails", "--json", "--url", controller.url).stdout)
    assert shown["retryCount"] == 1 and shown["state"] == "Failed"  # it did wait for the one retry
    assert skalds("task", "create", "SleepWorker", "--id", "stopped", "-a", '{"seconds": 60}', "--url",
                  controller.url).returncode == 0
    wait_for(lambda: controller.http.get("/api/tasks/stopped").json()["lifecycleStatus"] == "Running", 30, "running")
    asked = skalds("task", "cancel", "stopped", "--url", controller.url)
    assert asked.returncode == 0 and "(status Running, now Cancelling)" in asked.stdout, asked.stdout
    cancelled = skalds("task", "watch", "stopped", "--interval", "0.2", "--timeout", "60", "--url", controller.url)
    assert cancelled.returncode == 1 and "stopped Cancelled" in cancelled.stderr, cancelled.stderr
