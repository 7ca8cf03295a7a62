"""The task page's live log tail in headless Chromium: lines of a running worker arrive live, the level
filter and search narrow them, pause-scroll keeps the view where it is, and Download saves the log."""

import pytest
from playwright.sync_api import expect

from support.cluster import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ADMIN = "admin-token-for-the-log-tail"


def test_the_task_page_tails_the_log_live(controllers, nodes, dashboard, tmp_path):
    controller = controllers.start(token=ADMIN)
    nodes.start()
    response = controller.http.post("/api/tasks", json={
        "id": "tail-me", "className": "ChattyWorker", "waitForClass": True,
        "attachments": {"lines": 1, "seconds": 120, "every": 0.05}})
    assert response.status_code == 201, response.text
    wait_for(lambda: controller.http.get("/api/tasks/tail-me").json()["lifecycleStatus"] == "Running", 30, "Running")

    page, console = dashboard.open(controller.url)
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Token").fill(ADMIN)
    dialog.get_by_role("button", name="Sign in").click()
    page.goto(f"{controller.url}/dashboard/#/tasks/tail-me")
    log = page.get_by_role("log", name="Task log")
    expect(log).to_contain_text("careful 0 attempt 1")
    expect(log).to_contain_text("plain print 0 attempt 1")
    count = log.locator(".log-line").count()
    wait_for(lambda: log.locator(".log-line").count() > count + 10, 10, "new lines arriving live")
    wait_for(lambda: log.evaluate("box => box.scrollHeight - box.scrollTop - box.clientHeight < 24"), 15,
             "the tail following the bottom")  # a loaded machine paints late
    dashboard.shot(page, "live")

    page.get_by_role("button", name="Pause scroll").click()
    log.evaluate("box => { box.scrollTop = 0; }")
    before = log.locator(".log-line").count()
    wait_for(lambda: log.locator(".log-line").count() > before + 5, 10, "lines arriving while paused")
    assert log.evaluate("box => box.scrollTop") == 0  # paused: the view stays where the reader is
    page.get_by_role("button", name="Resume scroll").click()

    page.get_by_label("Level").select_option("warning")
    expect(log.locator(".log-line")).to_have_count(1)
    expect(log).to_contain_text("WARNING  #1 careful 0 attempt 1")
    page.get_by_label("Level").select_option("")
    page.get_by_label("Search the log").fill("plain print")
    expect(log.locator(".log-line")).to_have_count(1)
    expect(log).to_contain_text("plain print 0 attempt 1")
    dashboard.shot(page, "searched")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "tail-me.log"
    saved = tmp_path / "tail-me.log"
    download.save_as(saved)
    assert saved.read_text().strip().endswith("#1 plain print 0 attempt 1")

    # a download the server refuses (here a 503 on the way, as a proxy in front of a restarting controller
    # answers) says so instead of saving the error document as the log
    console.allow(r"status of 503")
    page.route("**/api/tasks/tail-me/logs?*", lambda route: route.fulfill(status=503, body="unavailable"))
    page.get_by_role("button", name="Download").click()
    expect(page.locator(".log-state")).to_contain_text("download failed: the server answered 503")
