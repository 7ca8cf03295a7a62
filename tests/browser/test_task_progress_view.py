"""The task page's progress bar and metric charts, and the task list's progress cell, in headless
Chromium, from a worker that reports progress and fps while it runs."""

import pytest
from playwright.sync_api import expect

from support.cluster import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ADMIN = "admin-token-for-the-progress-view"


def test_the_task_page_draws_the_progress_bar_and_a_chart_per_metric(controllers, nodes, dashboard):
    controller = controllers.start(token=ADMIN)
    nodes.start()
    response = controller.http.post("/api/tasks", json={
        "id": "progress-me", "className": "ProgressWorker", "waitForClass": True,
        "attachments": {"steps": 200, "every": 0.3}})
    assert response.status_code == 201, response.text
    wait_for(lambda: controller.http.get("/api/tasks/progress-me").json()["lifecycleStatus"] == "Running", 30,
             "Running")

    page, _ = dashboard.open(controller.url)
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Token").fill(ADMIN)
    dialog.get_by_role("button", name="Sign in").click()
    page.goto(f"{controller.url}/dashboard/#/tasks/progress-me")
    panel = page.locator('[data-panel="progress"]')
    expect(panel).to_be_visible(timeout=15000)
    bar = panel.get_by_role("progressbar", name="Progress")
    wait_for(lambda: float(bar.get_attribute("aria-valuenow") or 0) > 0, 15, "the bar to move")
    first = float(bar.get_attribute("aria-valuenow"))
    wait_for(lambda: float(bar.get_attribute("aria-valuenow")) > first, 15, "the bar to move on")
    width = panel.locator(".progress-fill").evaluate("fill => fill.getBoundingClientRect().width")
    assert width > 0  # drawn, not only labelled (the page's CSP allows no style attribute)
    expect(panel.locator('[data-field="progress-message"]')).to_contain_text("of 200")
    for name in ("dropped", "fps"):
        chart = panel.locator(f'figure[data-metric="{name}"]')
        expect(chart.get_by_role("img", name=f"{name} over time").locator("polyline")).to_have_count(1, timeout=15000)
    points = panel.locator('figure[data-metric="dropped"] polyline').get_attribute("points")
    assert len(points.split()) >= 2
    dashboard.shot(page, "progress")

    page.goto(f"{controller.url}/dashboard/#/tasks")
    cell = page.locator('tr[data-task="progress-me"] td[data-label="Progress"]')
    expect(cell.get_by_role("progressbar", name="Progress")).to_be_visible(timeout=15000)
    expect(cell).to_contain_text("%")
    shown = float(cell.locator("[data-progress]").get_attribute("data-progress"))
    wait_for(lambda: float(cell.locator("[data-progress]").get_attribute("data-progress")) > shown, 15,
             "the list's bar to move with the heartbeats (no reload)")
    dashboard.shot(page, "list")
