"""The dashboard in headless Chromium against a real controller and a real node on the test services.

An operator signs in, creates a task in the form and watches it run and finish without reloading,
changes a running task's attachments (the worker records what it received), cancels another task,
and sees a killed node go offline. A read-only token sees everything and can change nothing.
"""

import json
import os
import re
import signal

import pytest
from playwright.sync_api import expect

from support.cluster import read_records, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ADMIN, READ = "admin-token-for-the-dashboard", "read-token-for-the-dashboard"
LIVE_TIMEOUT = 25000  # ms: a status change reaches the page through the monitor and SSE within seconds


def sign_in(page, token):
    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Token").fill(token)
    dialog.get_by_role("button", name="Sign in").click()


def status_badge(page):
    return page.locator(".task-status .badge")


def test_operator_runs_updates_cancels_and_sees_a_node_die(controllers, nodes, cluster, tmp_path, dashboard):
    controller = controllers.start(token=ADMIN, API_READ_TOKENS=READ)
    node = nodes.start()
    page, console = dashboard.open(controller.url)
    sign_in(page, ADMIN)
    expect(page.locator("#live-state")).to_have_text("Live")
    expect(page.locator("#role-badge")).to_have_text("admin")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    # overview: the node is online; the chart has samples
    expect(page.locator('[data-metric="nodes-online"] .card-value')).to_have_text("1 / 1", timeout=LIVE_TIMEOUT)
    expect(page.locator(".chart")).to_be_visible(timeout=LIVE_TIMEOUT)
    dashboard.shot(page, "overview")

    # create a task in the form; it runs and finishes while we watch
    records = str(tmp_path / "short.jsonl")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New task").click()
    page.get_by_label("Worker class").fill("SleepWorker")
    page.get_by_label("Task id").fill("dash-short")
    page.get_by_label("Name").fill("made in the dashboard")
    page.get_by_label("Attachments (JSON object)").fill(json.dumps({"seconds": 4, "recordTo": records}))
    dashboard.shot(page, "create-form")
    page.get_by_role("button", name="Create task").click()
    expect(page).to_have_url(re.compile(r"#/tasks/dash-short$"))
    expect(status_badge(page)).to_have_text("Running", timeout=LIVE_TIMEOUT)
    expect(page.locator(".fields")).to_contain_text(node.skald_id)
    dashboard.shot(page, "task-running")
    expect(status_badge(page)).to_have_text("Finished", timeout=LIVE_TIMEOUT)
    timeline = page.get_by_role("list", name="History")
    expect(timeline.locator('li[data-status="Running"]')).to_have_count(1)
    expect(timeline.locator('li[data-status="Finished"]')).to_have_count(1)
    assert [r["event"] for r in read_records(records)][:3] == ["initialize", "before", "main"]
    dashboard.shot(page, "task-finished")

    # a running task: bad attachments are refused with the reason; good ones reach the worker
    long_records = str(tmp_path / "long.jsonl")
    created = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                       "id": "dash-long", "className": "SleepWorker",
                                                       "attachments": {"seconds": 120, "recordTo": long_records,
                                                                       "label": "v0"}})
    assert created.status_code == 201, created.text
    page.goto(controller.url + "/dashboard/#/tasks/dash-long")  # a shared link opens the same view
    page.evaluate("window.__sameDocument = true")
    expect(status_badge(page)).to_have_text("Running", timeout=LIVE_TIMEOUT)
    editor = page.get_by_label("Attachments (JSON)")
    update = page.get_by_role("button", name="Update attachments")
    errors = page.locator(".editor .field-errors")
    editor.fill('{"seconds": 120,')
    update.click()
    expect(errors).to_contain_text("Not valid JSON")  # checked in the page: nothing was sent
    console.allow(r"status of 422")  # the next request is refused on purpose
    editor.fill("[1, 2]")
    update.click()
    expect(errors).to_contain_text("The controller refused the request")
    expect(errors).to_contain_text("attachments: Input should be a valid dictionary")
    dashboard.shot(page, "attachments-refused")
    editor.fill(json.dumps({"seconds": 120, "recordTo": long_records, "label": "v1"}))
    update.click()
    expect(errors).to_be_hidden()
    wait_for(lambda: any(r["event"] == "update_end" and r["label"] == "v1" for r in read_records(long_records)), 20,
             "the worker to receive the new attachments")
    expect(page.locator('[data-field="attachments-state"]')).to_have_text("version 1, applied by the worker",
                                                                           timeout=LIVE_TIMEOUT)
    expect(timeline.locator('li[data-type="attachments_applied"]')).to_have_count(1, timeout=LIVE_TIMEOUT)
    dashboard.shot(page, "attachments-applied")
    editor.fill(json.dumps({"seconds": "not a number", "recordTo": long_records}))  # checked against the schema
    update.click()
    expect(errors).to_contain_text("attachments.seconds: \"not a number\" is not of type 'number'")
    expect(page.locator('[data-field="attachments-state"]')).to_have_text("version 1, applied by the worker")
    dashboard.shot(page, "attachments-refused-by-the-schema")

    # pause suspends the worker, resume continues it
    actions = page.get_by_role("group", name="Task actions")
    actions.get_by_role("button", name="Pause").click()
    page.locator("dialog.confirm").get_by_role("button", name="Pause").click()
    expect(status_badge(page)).to_have_text("Paused", timeout=LIVE_TIMEOUT)
    actions.get_by_role("button", name="Resume").click()
    expect(status_badge(page)).to_have_text("Running", timeout=LIVE_TIMEOUT)

    # another task, found through the list's filters, is cancelled from its page
    cancel_records = str(tmp_path / "cancel.jsonl")
    created = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                       "id": "dash-cancel-me", "className": "SleepWorker",
                                                       "attachments": {"seconds": 120, "recordTo": cancel_records}})
    assert created.status_code == 201, created.text
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Status", exact=True).select_option("Finished")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-task", "dash-short")
    page.get_by_label("Status", exact=True).select_option("")
    page.get_by_label("Id contains").fill("CANCEL")
    expect(rows).to_have_count(1)
    row = page.locator('tr[data-task="dash-cancel-me"]')
    expect(row).to_have_attribute("data-status", "Running", timeout=LIVE_TIMEOUT)  # the list follows live
    dashboard.shot(page, "tasks-filtered")
    page.get_by_label("Id contains").fill("")
    page.get_by_role("button", name=re.compile(r"^Sort by Task")).click()
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-task") for i in range(3)] == ["dash-cancel-me", "dash-long",
                                                                          "dash-short"]
    assert "sort=id" in page.url
    row.get_by_role("link", name="dash-cancel-me").click()
    expect(status_badge(page)).to_have_text("Running")
    actions.get_by_role("button", name="Cancel task").click()
    confirm = page.locator("dialog.confirm")
    expect(confirm).to_contain_text("Cancel this task?")
    confirm.get_by_role("button", name="Cancel task").click()
    expect(status_badge(page)).to_have_text("Cancelled", timeout=LIVE_TIMEOUT)
    wait_for(lambda: read_records(cancel_records) and read_records(cancel_records)[-1]["event"] == "release", 20,
             "the cancelled worker to release")
    dashboard.shot(page, "task-cancelled")
    actions.get_by_role("button", name="Retry").click()  # a new attempt runs it again
    expect(status_badge(page)).to_have_text("Running", timeout=LIVE_TIMEOUT)
    expect(page.locator('[data-field="attempt"]')).to_have_text("2")

    # nodes: online, then killed and shown offline without reloading
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Nodes").click()
    node_row = page.locator(f'tr[data-node="{node.skald_id}"]')
    expect(node_row).to_have_attribute("data-status", "online")
    expect(node_row).to_contain_text("SleepWorker")
    expect(node_row).to_contain_text("dash-long")
    expect(node_row).to_contain_text("dash-cancel-me")
    dashboard.shot(page, "nodes-online")
    os.killpg(node.process.pid, signal.SIGKILL)
    node.process.wait(10)
    expect(node_row).to_have_attribute("data-status", "offline", timeout=LIVE_TIMEOUT)
    expect(node_row.locator(".badge")).to_have_text("offline")
    dashboard.shot(page, "nodes-offline")

    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    console.check()


def test_read_only_token_sees_everything_and_changes_nothing(controllers, cluster, dashboard):
    controller = controllers.start(token=ADMIN, API_READ_TOKENS=READ)
    created = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                       "id": "dash-look", "className": "NoNodeHasThis",
                                                       "attachments": {"camera": "rtsp://cam/1"}})
    assert created.status_code == 201, created.text
    page, console = dashboard.open(controller.url, width=390, height=844, mobile=True)

    # keyboard: the first Tab reaches the skip link; a wrong token is refused in the dialog
    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Token")).to_be_focused()
    dialog.get_by_label("Token").fill("not-a-token")
    dialog.get_by_label("Token").press("Enter")
    expect(dialog.locator("#login-error")).to_have_text("This token is not accepted by the controller.")
    dashboard.shot(page, "login-refused")
    sign_in(page, READ)
    expect(dialog).to_be_hidden()
    expect(page.locator("#role-badge")).to_have_text("read-only")
    expect(page.locator("#live-state")).to_have_text("Live")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="New task")).to_be_hidden()
    dashboard.shot(page, "overview-phone")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(page.locator('tr[data-task="dash-look"]')).to_be_visible()
    expect(page.get_by_role("link", name="New task")).to_have_count(0)
    dashboard.shot(page, "tasks-phone")
    page.locator('tr[data-task="dash-look"]').get_by_role("link", name="dash-look").click()
    expect(status_badge(page)).to_have_text("Created")
    expect(page.get_by_role("group", name="Task actions").get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("button", name="Update attachments")).to_have_count(0)
    expect(page.get_by_label("Attachments (JSON)")).to_have_attribute("readonly", "")
    expect(page.get_by_label("Attachments (JSON)")).to_have_value(re.compile(r"rtsp://cam/1"))
    dashboard.shot(page, "task-read-only-phone")
    page.goto(controller.url + "/dashboard/#/create")
    expect(page.locator("main")).to_contain_text("Your token is read-only")

    # the token is kept for the tab; signing out forgets it
    page.get_by_role("button", name="Sign out").click()
    expect(dialog).to_be_visible()
    page.reload()
    expect(page.get_by_role("dialog", name="Sign in")).to_be_visible()
    console.check()


def test_live_view_reconnects_after_the_controller_restarts(controllers, cluster, dashboard):
    controller = controllers.start()  # no token configured: nothing to sign in to
    page, console = dashboard.open(controller.url)
    live_state = page.locator("#live-state")
    expect(live_state).to_have_text("Live")
    expect(page.get_by_role("dialog", name="Sign in")).to_be_hidden()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(page.get_by_text("No tasks yet.")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    # SIGKILL can cut a response mid-body (a chunked stream or one with a Content-Length).
    console.tolerate(r"ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_INCOMPLETE_CHUNKED_ENCODING"
                     r"|ERR_CONTENT_LENGTH_MISMATCH|ERR_CONNECTION_RESET")
    os.killpg(controller.process.pid, signal.SIGKILL)
    controller.process.wait(10)
    expect(live_state).to_have_text("Reconnecting…", timeout=LIVE_TIMEOUT)
    dashboard.shot(page, "reconnecting")
    second = controllers.start(SYSTEM_CONTROLLER_PORT=str(controller.port))
    created = second.http.post("/api/tasks", json={"waitForClass": True,
                                                   "id": "after-restart", "className": "NobodyHasThis"})
    assert created.status_code == 201, created.text
    expect(live_state).to_have_text("Live", timeout=LIVE_TIMEOUT)
    expect(page.locator('tr[data-task="after-restart"]')).to_be_visible(timeout=LIVE_TIMEOUT)
    dashboard.shot(page, "reconnected")
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    console.check()
