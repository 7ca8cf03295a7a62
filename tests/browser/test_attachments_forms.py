"""The New task form built from the class's published schema, and the attachments editor's field errors:
its own check before sending, the controller's 422 when the page had no schema, a task waiting for a node,
and an update the worker rejected shown as such beside what it kept (headless Chromium, real services)."""

import json
import re

import pytest
from playwright.sync_api import expect

from support.cluster import read_records, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LIVE_TIMEOUT = 25000


def _no_schemas(page):
    """The page learns no schema (as with an older controller): only the controller's 422 can refuse."""
    page.route(re.compile(r".*/api/classes$"), lambda route: route.fulfill(status=200, json=[]))


def test_new_task_form_is_built_from_the_schema_and_checks_before_sending(controllers, nodes, cluster, dashboard,
                                                                          tmp_path):
    controller = controllers.start()
    nodes.start()
    wait_for(lambda: controller.http.get("/api/classes/SleepWorker").status_code == 200, 20, "SleepWorker registered")
    page, console = dashboard.open(controller.url)
    sent = []
    page.on("request", lambda request: sent.append(request.method) if request.url.endswith("/api/tasks") else None)
    page.goto(controller.url + "/dashboard/#/create")
    page.get_by_label("Worker class").fill("SleepWorker")
    form = page.get_by_role("group", name="Attachments")
    seconds = form.get_by_label("Seconds", exact=True)
    expect(seconds).to_have_value("0.2")  # the model's default
    expect(seconds).to_have_attribute("type", "number")
    expect(form.get_by_label("Label", exact=True)).to_have_value("x")
    expect(form).to_contain_text("number")
    records = str(tmp_path / "r.jsonl")
    seconds.fill("0.5")
    form.get_by_label("Recordto", exact=True).fill(records)
    form.get_by_label("Label", exact=True).fill("from-the-form")
    editor = page.get_by_label("Attachments (JSON object")
    assert json.loads(editor.input_value()) == {"seconds": 0.5, "recordTo": records, "label": "from-the-form",
                                                "handlerSeconds": 0}
    dashboard.shot(page, "schema-form")

    errors = page.locator(".editor .field-errors")
    editor.fill(json.dumps({"seconds": "soon", "label": 7}))
    page.get_by_role("button", name="Create task").click()
    expect(errors).to_contain_text("attachments.seconds: \"soon\" is not of type 'number'")
    expect(errors).to_contain_text("attachments.label: 7 is not of type 'string'")
    assert "POST" not in sent  # checked in the page: nothing was sent
    dashboard.shot(page, "schema-form-refused")

    form.get_by_label("Label", exact=True).fill("from-the-form")  # the fields write the JSON again
    page.get_by_label("Task id").fill("from-form")
    page.get_by_role("button", name="Create task").click()
    expect(page).to_have_url(re.compile(r"#/tasks/from-form$"))
    wait_for(lambda: any(r["event"] == "initialize" and r["label"] == "from-the-form" for r in read_records(records)),
             20, "the worker to start with the form's attachments")
    console.check()


def test_editor_shows_the_controllers_field_errors_and_what_the_worker_kept(controllers, nodes, cluster, dashboard,
                                                                          tmp_path):
    controller = controllers.start()
    nodes.start()
    wait_for(lambda: controller.http.get("/api/classes/PickyWorker").status_code == 200, 20, "PickyWorker registered")
    created = controller.http.post("/api/tasks", json={"id": "picky", "className": "PickyWorker",
                                                       "attachments": {"seconds": 120, "label": "good"}})
    assert created.status_code == 201, created.text
    page, console = dashboard.open(controller.url)
    _no_schemas(page)
    page.goto(controller.url + "/dashboard/#/tasks/picky")
    expect(page.locator(".task-status .badge").first).to_have_text("Running", timeout=LIVE_TIMEOUT)
    editor = page.get_by_label("Attachments (JSON)")
    errors = page.locator(".editor .field-errors")
    console.allow(r"status of 422")
    editor.fill(json.dumps({"seconds": [1], "label": "good"}))
    page.get_by_role("button", name="Update attachments").click()
    expect(errors).to_contain_text("The controller refused the request")
    expect(errors).to_contain_text("attachments.seconds: [1] is not of type 'number'")
    dashboard.shot(page, "editor-422")

    editor.fill(json.dumps({"seconds": 120, "label": "refused"}))  # fits the schema; the worker refuses it
    page.get_by_role("button", name="Update attachments").click()
    expect(page.locator(".toast.error")).to_contain_text("The worker rejected attachments version 1",
                                                          timeout=LIVE_TIMEOUT)
    applied = page.locator('[data-field="applied-attachments"]')
    expect(applied).to_contain_text("a retry or new attempt starts with it")
    expect(applied).to_contain_text('"label": "good"')
    expect(page.locator(".toast.success")).to_have_count(0)
    dashboard.shot(page, "editor-rejected-by-worker")
    console.check()


def test_a_task_waiting_for_a_node_says_so(controllers, cluster, dashboard):
    controller = controllers.start()
    created = controller.http.post("/api/tasks", json={"id": "waits", "className": "NobodyRunsThis",
                                                       "waitForClass": True})
    assert created.status_code == 201, created.text
    page, console = dashboard.open(controller.url)
    page.goto(controller.url + "/dashboard/#/tasks/waits")
    expect(page.locator('[data-field="waiting"]')).to_have_text("waiting for a node that runs NobodyRunsThis")
    dashboard.shot(page, "waiting-for-a-node")
    console.allow(r"status of 422")
    page.goto(controller.url + "/dashboard/#/create")
    page.get_by_label("Worker class").fill("NobodyRunsThis")
    page.get_by_role("button", name="Create task").click()
    problem = page.locator('form[aria-label="New task"] > .field-errors')
    expect(problem).to_contain_text("no node has registered class 'NobodyRunsThis'")
    console.check()
