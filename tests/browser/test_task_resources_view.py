"""The dashboard shows resource use in headless Chromium: the task page's CPU and RSS of a worker holding
200 MB (refreshed while it runs) with its memory limit, and the nodes view's figures of its node."""

import re

import pytest
from playwright.sync_api import expect

from support.cluster import wait_for
from support.nodes import REPO

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SCRIPT = REPO / "tests" / "support" / "run_resource_node.py"


def test_task_page_and_nodes_view_show_cpu_and_rss(controllers, nodes, dashboard):
    controller = controllers.start()
    node = nodes.start(script=SCRIPT)
    response = controller.http.post("/api/tasks", json={
        "id": "hog", "className": "ResourceHogWorker", "waitForClass": True, "memoryLimitMb": 900,
        "attachments": {"holdMb": 200, "busy": True, "seconds": 120}})
    assert response.status_code == 201, response.text
    wait_for(lambda: controller.http.get("/api/tasks/hog").json()["lifecycleStatus"] == "Running", 30, "Running")

    page, _ = dashboard.open(controller.url)
    page.goto(f"{controller.url}/dashboard/#/tasks/hog")
    expect(page.locator('[data-field="memory-limit"]')).to_have_text("900 MiB")
    usage = page.locator('[data-field="resources"]')
    expect(usage).to_have_text(re.compile(r"CPU [\d.]+ % · RSS (2\d\d|[3-8]\d\d)\.\d MiB"), timeout=15000)
    first = usage.text_content()
    wait_for(lambda: usage.text_content() != first, 15, "the figures refreshed while it runs")
    dashboard.shot(page, "task")

    page.goto(f"{controller.url}/dashboard/#/nodes?node={node.skald_id}")
    cell = page.locator(f'tr[data-node="{node.skald_id}"] [data-field="resources"]')
    expect(cell).to_contain_text(re.compile(r"CPU [\d.]+ % · RSS [\d.]+ MiB"), timeout=15000)
    expect(cell).to_contain_text(re.compile(r"MiB of [\d.]+ MiB free"))
    dashboard.shot(page, "nodes")
    controller.http.post("/api/tasks/hog/cancel")
