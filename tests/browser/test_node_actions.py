"""The node page's Cordon, Drain and Uncordon buttons in headless Chromium, against a real controller and node:
each changes the node's stored state, which the list and the page then show."""

import pytest
from playwright.sync_api import expect

from support.cluster import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ADMIN = "admin-token-for-the-node-actions"


def signed_in(dashboard, controller, path):
    page, console = dashboard.open(controller.url)
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Token").fill(ADMIN)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_hidden()
    page.goto(f"{controller.url}/dashboard/#/{path}")
    return page, console


def test_cordon_drain_and_uncordon_from_the_node_page(controllers, nodes, cluster, dashboard):
    controller = controllers.start(token=ADMIN)
    node = nodes.start()
    wait_for(lambda: controller.http.get("/api/skalds").json()["items"], 15, "the node registered")
    page, console = signed_in(dashboard, controller, f"nodes?node={node.skald_id}")
    row = page.locator(f'tr[data-node="{node.skald_id}"]')
    expect(row).to_be_visible()
    page.get_by_role("button", name="Cordon").click()
    expect(row.locator('[data-field="drain"]')).to_have_text("cordoned")
    assert controller.http.get(f"/api/skalds/{node.skald_id}").json()["drainState"] == "cordoned"
    page.get_by_role("button", name="Drain").click()
    page.get_by_role("dialog").get_by_role("button", name="Drain").click()
    expect(row.locator('[data-field="drain"]')).to_have_text("drained", timeout=15000)  # it runs nothing
    dashboard.shot(page, "node-drained")
    page.get_by_role("button", name="Uncordon").click()
    expect(row.locator('[data-field="drain"]')).to_have_count(0)
    assert controller.http.get(f"/api/skalds/{node.skald_id}").json()["drainState"] is None
    console.check()
