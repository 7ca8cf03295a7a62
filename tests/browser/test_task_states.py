"""The dashboard shows what is under way: a task being cancelled reads `Cancelling` (its stored status beside it)
until its worker's process is gone, then `Cancelled`; a failed task waiting for its retry reads `Retrying 1/2`
with the time of its next attempt. Real controller, node and worker processes, headless Chromium."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ADMIN = "admin-token-for-the-states"
LIVE_TIMEOUT = 25000


def sign_in(page):
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Token").fill(ADMIN)
    dialog.get_by_role("button", name="Sign in").click()
    expect(page.locator("#live-state")).to_have_text("Live")


def create(controller, task_id, class_name, **body):
    response = controller.http.post("/api/tasks", json={"id": task_id, "className": class_name, "waitForClass": True,
                                                        **body})
    assert response.status_code == 201, response.text


def test_cancelling_then_cancelled_and_retrying_with_its_next_attempt(controllers, nodes, cluster, dashboard):
    controller = controllers.start(token=ADMIN, RETRY_BACKOFF_SECONDS="20")
    nodes.start(CANCEL_REQUEST_TIMEOUT="3", CANCEL_GRACE_SECONDS="3")  # the deaf worker takes 6 s to go
    create(controller, "deaf", "StubbornWorker")
    create(controller, "flaky", "FlakyWorker", maxRetries=2, attachments={"seconds": 0.1})
    page, _console = dashboard.open(controller.url)
    sign_in(page)
    page.goto(controller.url + "/dashboard#/tasks/deaf")
    badge = page.locator(".task-status .badge")
    expect(badge).to_have_text("Running", timeout=LIVE_TIMEOUT)
    controller.http.post("/api/tasks/deaf/cancel", headers={"Authorization": f"Bearer {ADMIN}"})
    expect(badge).to_have_text("Cancelling", timeout=LIVE_TIMEOUT)
    expect(page.locator(".task-status [data-stored]")).to_have_text("(Running)")
    dashboard.shot(page, "task-cancelling")
    expect(badge).to_have_text("Cancelled", timeout=LIVE_TIMEOUT)
    expect(page.locator(".task-status [data-stored]")).to_have_count(0)

    page.goto(controller.url + "/dashboard#/tasks")
    row = page.locator('tr[data-task="flaky"]')
    expect(row.locator(".badge")).to_have_text("Retrying 1/2", timeout=LIVE_TIMEOUT)
    dashboard.shot(page, "tasks-retrying")
    row.get_by_role("link", name="flaky").click()
    expect(page.locator('[data-field="next-attempt"]')).to_contain_text("in ")
    expect(page.locator(".task-status [data-stored]")).to_have_text("(Failed)")
