"""The dashboard's task list pages by cursor: Next reads the page after the last row shown (the API's
`nextCursor`), Previous goes back, and Next is off on the last page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_next_and_previous_follow_the_cursor(controllers, cluster, dashboard):
    controller = controllers.start()
    for index in range(12):
        answer = controller.http.post("/api/tasks", json={"id": f"pg-{index:02d}", "className": "NobodyRunsThis",
                                                          "waitForClass": True})
        assert answer.status_code == 201, answer.text
    page, _console = dashboard.open(controller.url)
    page.goto(f"{controller.url}/dashboard/#/tasks?sort=id&order=asc&size=10")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(10)
    expect(page.locator(".page-info")).to_have_text("Page 1 of 2 · 12 tasks")
    with page.expect_request(lambda request: "/api/tasks?" in request.url and "cursor=" in request.url):
        page.get_by_role("button", name="Next ›").click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("pg-10")
    expect(page.get_by_role("button", name="Next ›")).to_be_disabled()
    page.get_by_role("button", name="‹ Previous").click()
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("pg-00")
