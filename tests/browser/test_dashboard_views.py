"""The dashboard's views in headless Chromium against a real controller (and a real node where a task
must run), one behaviour per test: no stray "null" text, no outline on the heading that takes focus
after navigation, the executor link, the task actions' colours, the overview's cards as links,
relative times and durations, the task list's error and attempt columns, the history by attempt
with one collapsible traceback, bulk cancel and retry, and a chart that reads on a phone."""

import itertools
import re

import pytest
from playwright.sync_api import expect

from support.cluster import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ADMIN, READ = "admin-token-for-the-dashboard", "read-token-for-the-dashboard"
LIVE_TIMEOUT = 25000  # ms
RELATIVE = re.compile(r"^(just now|\d+ (s|min|h|days?) ago)$")
BOOM = "boom from FailingWorker"

# Text nodes of <main> that read "null" (the DOM's replaceChildren(null) writes that text).
NULL_TEXTS = """() => {
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent.trim() === 'null') found.push(node.parentElement.outerHTML.slice(0, 200));
  }
  return found;
}"""


def signed_in(dashboard, controller, token=ADMIN, path="", **size):
    """A page signed in with `token`, showing `#/<path>`, and its console watch."""
    page, console = dashboard.open(controller.url, **size)
    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Token").fill(token)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_hidden()
    if path:
        page.goto(f"{controller.url}/dashboard/#/{path}")
    return page, console


def create(controller, task_id, class_name, **attachments):
    response = controller.http.post("/api/tasks", json={"id": task_id, "className": class_name,
                                                        "attachments": attachments, "waitForClass": True})
    assert response.status_code == 201, response.text


def wait_status(controller, task_id, status):
    wait_for(lambda: controller.http.get(f"/api/tasks/{task_id}").json()["lifecycleStatus"] == status, 30,
             f"{task_id} to be {status}")


def running(controllers, nodes, *tasks):
    """A controller and a node running `tasks`: (id, class, status to wait for or None, attachments)."""
    controller = controllers.start(token=ADMIN)
    node = nodes.start()
    for task_id, class_name, _, attachments in tasks:
        create(controller, task_id, class_name, **attachments)
    for task_id, _, status, _ in tasks:
        if status:
            wait_status(controller, task_id, status)
    return controller, node


def test_read_only_attachments_editor_shows_no_null(controllers, cluster, dashboard):
    controller = controllers.start(token=ADMIN, API_READ_TOKENS=READ)
    create(controller, "plain", "NoNodeHasThis", camera="rtsp://cam/1")
    page, _ = signed_in(dashboard, controller, READ, "tasks/plain")
    expect(page.get_by_label("Attachments (JSON)")).to_have_attribute("readonly", "")
    assert page.evaluate(NULL_TEXTS) == []
    dashboard.shot(page, "read-only-editor")


def test_invalid_json_message_shows_no_null(controllers, cluster, dashboard):
    controller = controllers.start(token=ADMIN)
    create(controller, "plain", "NoNodeHasThis", camera="rtsp://cam/1")
    page, _ = signed_in(dashboard, controller, ADMIN, "tasks/plain")
    page.get_by_label("Attachments (JSON)").fill('{"camera": ')
    page.get_by_role("button", name="Update attachments").click()
    expect(page.locator(".editor .field-errors")).to_contain_text("Not valid JSON")
    assert page.evaluate(NULL_TEXTS) == []
    dashboard.shot(page, "invalid-json")


def test_heading_focused_after_navigation_has_no_outline(controllers, cluster, dashboard):
    controller = controllers.start(token=ADMIN)
    page, _ = signed_in(dashboard, controller)
    nav = page.get_by_role("navigation", name="Main")
    outline = "(element) => getComputedStyle(element).outlineStyle"
    for name in ("Tasks", "Nodes", "Overview"):
        nav.get_by_role("link", name=name).focus()
        page.keyboard.press("Enter")  # from the keyboard: focus moves to the new view's heading (screen readers)
        heading = page.get_by_role("heading", name=name, level=2)
        expect(heading).to_be_focused()
        assert heading.evaluate(outline) == "none", name
    dashboard.shot(page, "heading-focused")
    page.keyboard.press("Tab")  # what the keyboard reaches next still shows where focus is
    assert page.evaluate("document.activeElement.tagName") in ("A", "BUTTON")
    assert page.evaluate(f"({outline})(document.activeElement)") == "solid"


def test_executor_link_opens_that_node(controllers, nodes, cluster, dashboard):
    controller, node = running(controllers, nodes, ("long", "SleepWorker", "Running", {"seconds": 120}))
    page, console = signed_in(dashboard, controller, ADMIN, "tasks/long")
    page.locator(".fields").get_by_role("link", name=node.skald_id).click()
    expect(page).to_have_url(re.compile(rf"#/nodes\?node={re.escape(node.skald_id)}$"))
    expect(page.get_by_role("heading", level=2)).to_have_text(f"Node {node.skald_id}")
    expect(page.locator(f'tr[data-node="{node.skald_id}"]')).to_contain_text("long")
    expect(page.locator("tbody tr")).to_have_count(1)
    dashboard.shot(page, "one-node")
    page.get_by_role("link", name="← All nodes").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Nodes")
    page.goto(controller.url + "/dashboard/#/nodes?node=gone-long-ago")
    expect(page.locator("main")).to_contain_text("No node gone-long-ago is registered now.")
    console.check()


def test_restart_is_not_red_beside_cancel(controllers, cluster, dashboard):
    controller = controllers.start(token=ADMIN)
    create(controller, "waits", "NoNodeHasThis")
    page, _ = signed_in(dashboard, controller, ADMIN, "tasks/waits")
    actions = page.get_by_role("group", name="Task actions")
    cancel, restart = actions.get_by_role("button", name="Cancel task"), actions.get_by_role("button", name="Restart")
    expect(cancel).to_have_class(re.compile(r"\bdanger\b"))
    expect(restart).not_to_have_class(re.compile(r"\bdanger\b"))
    style = "(element) => { const s = getComputedStyle(element); return [s.color, s.borderColor]; }"
    cancel_color, restart_color = cancel.evaluate(style), restart.evaluate(style)
    assert cancel_color[0] != restart_color[0] and cancel_color[1] != restart_color[1]
    restart.click()  # still asked first, with a confirm button that is not red either
    confirm = page.locator("dialog.confirm").get_by_role("button", name="Restart")
    expect(confirm).not_to_have_class(re.compile(r"\bdanger\b"))
    dashboard.shot(page, "actions")


def test_overview_cards_link_to_the_filtered_task_list(controllers, cluster, dashboard):
    controller = controllers.start(token=ADMIN)
    for index in range(2):
        create(controller, f"waits-{index}", "NobodyRunsThis")
    page, console = signed_in(dashboard, controller)
    expect(page.locator('[data-metric="status-created"] .card-value')).to_have_text("2")
    page.locator('[data-metric="status-created"]').click()
    expect(page).to_have_url(re.compile(r"#/tasks\?status=Created$"))
    expect(page.get_by_label("Status", exact=True)).to_have_value("Created")
    expect(page.locator('tbody tr[data-status="Created"]')).to_have_count(2)
    page.go_back()
    page.locator('[data-metric="status-failed"]').click()
    expect(page).to_have_url(re.compile(r"#/tasks\?status=Failed$"))
    expect(page.get_by_text("No task matches these filters.")).to_be_visible()
    page.go_back()
    page.locator('[data-metric="nodes-online"]').click()
    expect(page).to_have_url(re.compile(r"#/nodes$"))
    console.check()


def test_relative_times_and_durations(controllers, nodes, cluster, dashboard):
    controller, _ = running(controllers, nodes, ("long", "SleepWorker", "Running", {"seconds": 120}),
                            ("short", "SleepWorker", "Finished", {"seconds": 1.5}))
    page, console = signed_in(dashboard, controller, ADMIN, "tasks")
    created = page.locator('tr[data-task="short"] td[data-label="Created"] time')
    expect(created).to_have_text(RELATIVE)
    expect(created).to_have_attribute("title", re.compile(r"\d{2}"))  # the exact time on hover
    page.locator('tr[data-task="long"]').get_by_role("link", name="long").click()
    run_time = page.locator('[data-field="duration"]')
    expect(run_time).to_have_text(re.compile(r"^running for \d+(\.\d)? s$"))
    first = run_time.text_content()
    expect(run_time).not_to_have_text(first, timeout=10000)  # it keeps counting
    expect(page.locator('[data-field="updated"] time')).to_have_text(RELATIVE)
    page.goto(controller.url + "/dashboard/#/tasks/short")
    expect(page.locator('[data-field="duration"]')).to_have_text(re.compile(r"^ran (1\.[5-9]|[2-9]\.\d) s$"))
    dashboard.shot(page, "durations")
    console.check()


def test_task_list_error_and_attempt_columns(controllers, nodes, cluster, dashboard):
    controller, _ = running(controllers, nodes, ("fails", "FailingWorker", "Failed", {"seconds": 0}),
                            ("waits", "NobodyRunsThis", None, {}))
    assert controller.http.post("/api/tasks/fails/retry").status_code == 200
    wait_for(lambda: controller.http.get("/api/tasks/fails").json()["attempt"] == 2, 30, "a second attempt")
    wait_status(controller, "fails", "Failed")
    page, console = signed_in(dashboard, controller, ADMIN, "tasks")
    failed = page.locator('tr[data-task="fails"]')
    expect(failed.locator('td[data-label="Error"]')).to_have_text(f"RuntimeError: {BOOM}")  # the summary line
    expect(failed.locator('td[data-label="Error"] [title]')).to_have_attribute("title", re.compile("Traceback"))
    expect(failed.locator('td[data-label="Attempt"]')).to_have_text("2")
    waiting = page.locator('tr[data-task="waits"]')
    expect(waiting.locator('td[data-label="Attempt"]')).to_have_text("0")
    expect(waiting.locator('td[data-label="Error"]')).to_have_text("—")
    expect(page.get_by_role("columnheader", name="Error")).to_be_visible()
    dashboard.shot(page, "columns")
    console.check()


def test_history_grouped_by_attempt_with_one_collapsible_traceback(controllers, nodes, cluster, dashboard):
    controller, node = running(controllers, nodes, ("fails", "FailingWorker", "Failed", {"seconds": 0}))
    page, console = signed_in(dashboard, controller, ADMIN, "tasks/fails")
    page.get_by_role("group", name="Task actions").get_by_role("button", name="Retry").click()
    expect(page.locator('[data-field="attempt"]')).to_have_text("2", timeout=LIVE_TIMEOUT)
    expect(page.locator(".task-status .badge")).to_have_text("Failed", timeout=LIVE_TIMEOUT)
    history = page.get_by_role("list", name="History")
    expect(history.locator("li.attempt")).to_have_count(3)  # before the first attempt, then attempts 1 and 2
    for number in (1, 2):
        title = history.locator(f'li.attempt[data-attempt="{number}"] .attempt-title')
        expect(title).to_contain_text(f"Attempt {number} · on {node.skald_id}")
        expect(title.locator(".badge")).to_have_text("Failed")
        expect(title.locator(".duration")).to_have_text(re.compile(r"^ran \d+(\.\d)? s$"))
        expect(history.locator(f'li.attempt[data-attempt="{number}"] li[data-status="Failed"]')).to_have_count(1)
    tracebacks = page.locator("main pre", has_text=BOOM)
    expect(tracebacks).to_have_count(1)  # the Error block's; the attempts only name it
    expect(history.locator(".same-error")).to_have_count(2)
    expect(history.locator(".same-error").first).to_contain_text(f"RuntimeError: {BOOM}")
    box = page.locator("main details.traceback").filter(has=page.locator("pre", has_text=BOOM))
    expect(box.locator("summary")).to_have_text(f"RuntimeError: {BOOM}")
    expect(tracebacks).to_be_visible()
    box.locator("summary").click()
    expect(tracebacks).to_be_hidden()
    dashboard.shot(page, "attempts")
    box.locator("summary").click()
    expect(tracebacks).to_be_visible()
    console.check()


def test_bulk_cancel_and_retry_show_each_result(controllers, nodes, cluster, dashboard):
    controller, _ = running(controllers, nodes, ("b-failed", "FailingWorker", "Failed", {"seconds": 0}),
                            ("b-running", "SleepWorker", "Running", {"seconds": 120}),
                            ("b-waiting", "NobodyRunsThis", None, {}),
                            ("b-done", "SleepWorker", "Finished", {"seconds": 0.1}))
    page, console = signed_in(dashboard, controller, ADMIN, "tasks")
    expect(page.locator("tbody tr")).to_have_count(4)
    bulk = page.get_by_role("group", name="Selected tasks")
    results = page.get_by_role("status").filter(has=page.locator(".bulk-list"))

    def select(*task_ids):
        for task_id in task_ids:
            page.get_by_label(f"Select {task_id}").check()
        expect(bulk).to_contain_text(f"{len(task_ids)} selected")

    def outcome(task_id):
        return results.locator(f'li[data-task="{task_id}"]')

    console.allow(r"status of 409")  # cancelling a finished task is refused
    select("b-running", "b-waiting", "b-done")
    bulk.get_by_role("button", name="Cancel selected").click()
    page.locator("dialog.confirm").get_by_role("button", name="Cancel").click()
    expect(outcome("b-running")).to_have_attribute("data-outcome", "pending")  # its node still has to stop it
    expect(outcome("b-running")).to_contain_text("pending until node")
    expect(outcome("b-waiting")).to_have_attribute("data-outcome", "accepted")
    expect(outcome("b-done")).to_have_attribute("data-outcome", "refused")
    expect(outcome("b-done")).to_contain_text("already Finished")  # the controller's reason
    expect(results.get_by_role("heading")).to_have_text("Cancel: 1 accepted, 1 pending, 1 refused")
    expect(page.locator('tr[data-task="b-running"]')).to_have_attribute("data-status", "Cancelled",
                                                                         timeout=LIVE_TIMEOUT)
    dashboard.shot(page, "bulk-cancel")

    console.allow(r"status of 409")  # retrying a finished task is refused
    page.get_by_label("Select all tasks on this page").check()
    expect(bulk).to_contain_text("4 selected")
    page.get_by_label("Select b-running").uncheck()  # its node may still be stopping it
    bulk.get_by_role("button", name="Retry selected").click()
    page.locator("dialog.confirm").get_by_role("button", name="Retry").click()
    expect(outcome("b-failed")).to_have_attribute("data-outcome", "accepted")
    expect(outcome("b-waiting")).to_have_attribute("data-outcome", "accepted")
    expect(outcome("b-done")).to_have_attribute("data-outcome", "refused")
    expect(results.get_by_role("heading")).to_have_text("Retry: 2 accepted, 1 refused")
    expect(page.locator('tr[data-task="b-failed"] td[data-label="Attempt"]')).to_have_text("2", timeout=LIVE_TIMEOUT)
    expect(bulk).to_contain_text("No task selected")
    dashboard.shot(page, "bulk-retry")
    console.check()


def test_chart_has_integer_ticks_and_readable_labels_on_a_phone(controllers, cluster, dashboard):
    controller = controllers.start(token=ADMIN)
    for index in range(5):  # a top of 5 used to give a 2.5 tick
        create(controller, f"waits-{index}", "NobodyRunsThis")
    page, console = signed_in(dashboard, controller, width=375, height=812, mobile=True)
    chart = page.locator("svg.chart")
    expect(chart).to_have_attribute("aria-label", re.compile(r"Created 5"), timeout=LIVE_TIMEOUT)

    def axis_labels() -> list:
        return chart.locator("text.axis").evaluate_all(
            "(texts) => texts.map((text) => { const r = text.getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom, text.textContent]; })")
    # two samples make a time axis; the first may already hold the five tasks (sampled once the view is read)
    labels = wait_for(lambda: (found := axis_labels()) and sum(":" in label[4] for label in found) >= 2 and found,
                      LIVE_TIMEOUT / 1000 + 10, "a second sample on the chart")
    ticks = [text for *_, text in labels if ":" not in text]
    assert ticks and all(re.fullmatch(r"\d+", tick) for tick in ticks), ticks
    assert int(ticks[-1]) >= 5
    assert all(bottom - top >= 10 for _, top, _, bottom, _ in labels), labels  # real size, not shrunk
    times = [label for label in labels if ":" in label[4]]
    assert len(times) >= 2
    for first, second in itertools.pairwise(times):
        assert first[2] <= second[0], f"time labels overlap: {first} {second}"
    width = page.evaluate("document.documentElement.clientWidth")
    assert all(left >= 0 and right <= width for left, _, right, _, _ in labels), labels
    dashboard.shot(page, "chart-phone")
    console.check()


def test_the_task_page_shows_when_its_checkpoint_was_saved(controllers, nodes, cluster, dashboard):
    controller, _ = running(controllers, nodes, ("saver", "CheckpointWorker", "Running", {"stepSeconds": 0.5}),
                            ("plain", "SleepWorker", "Running", {"seconds": 120}))
    wait_for(lambda: controller.http.get("/api/tasks/saver").json()["checkpoint"], 20, "a checkpoint")
    page, console = signed_in(dashboard, controller, ADMIN, "tasks/saver")
    saved = page.locator('[data-field="checkpoint"]')
    expect(saved).to_have_text(re.compile(r"^saved (just now|\d+ (s|min) ago) by attempt 1 \(\d+ B\)$"),
                               timeout=LIVE_TIMEOUT)
    expect(saved.locator("time")).to_have_attribute("title", re.compile(r"\d{2}"))
    page.goto(controller.url + "/dashboard/#/tasks/plain")
    expect(page.locator('[data-field="checkpoint"]')).to_have_text("—")
    assert page.evaluate(NULL_TEXTS) == []
    console.check()
