"""What the controller serves for the dashboard, checked over HTTP against a real controller:
the page and its assets (shipped in the package, no build), security headers, the session and
timeline endpoints, and that every module the page imports exists."""

import re
from pathlib import Path

import httpx
import pytest

from skalds.system_controller.dashboard import ASSETS_DIR, INDEX_HTML
from support.cluster import wait_for

pytestmark = pytest.mark.integration

ADMIN, READ = "admin-token-for-the-dashboard", "read-token-for-the-dashboard"


def test_page_assets_and_headers(controllers, cluster):
    controller = controllers.start(token=ADMIN, API_READ_TOKENS=READ)
    anonymous = httpx.Client(base_url=controller.url, timeout=10)
    page = anonymous.get("/dashboard/")  # the page itself needs no token; every API call does
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-cache" and "Skalds Dashboard" in page.text
    moved = anonymous.get("/dashboard", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"] == "/dashboard/"
    deep = anonymous.get("/dashboard/tasks", follow_redirects=False)  # 0.3.8's page paths still open
    assert deep.status_code == 307 and deep.headers["location"] == "/dashboard/#/tasks"
    script = anonymous.get("/dashboard/assets/js/main.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "no-cache" and script.headers.get("etag")
    assert anonymous.get("/dashboard/assets/js/main.js", headers={"If-None-Match": script.headers["etag"]}
                         ).status_code == 304
    assert anonymous.get("/dashboard/assets/css/dashboard.css").headers["content-type"].startswith("text/css")
    assert anonymous.get("/dashboard/assets/js/nope.js").status_code == 404
    assert anonymous.get("/dashboard/assets/%2e%2e/%2e%2e/api/app.py").status_code == 404
    assert anonymous.get("/api/dashboard/timeline").status_code == 401
    root = httpx.get(controller.url + "/", follow_redirects=False)
    assert root.status_code == 302


def test_every_imported_module_and_linked_file_exists():
    """No bundler checks the imports, so this does: each relative import and link resolves to a file."""
    html = INDEX_HTML.read_text()
    linked = re.findall(r'(?:src|href)="(assets/[^"]+)"', html)
    assert "assets/js/main.js" in linked and "assets/css/dashboard.css" in linked
    missing = [link for link in linked if not (INDEX_HTML.parent / link).is_file()]
    for module in ASSETS_DIR.rglob("*.js"):
        for target in re.findall(r"""^\s*(?:import|export)\s[^'"]*from\s+['"](\.[^'"]+)['"]""", module.read_text(),
                                 flags=re.MULTILINE):
            if not (module.parent / target).resolve().is_file():
                missing.append(f"{module.relative_to(ASSETS_DIR)} -> {target}")
    assert not missing, missing
    assert all(Path(module).suffix == ".js" for module in ASSETS_DIR.rglob("*.js"))


def test_session_tells_the_role_without_a_401(controllers, cluster):
    controller = controllers.start(token=ADMIN, API_READ_TOKENS=READ)

    def session(token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(controller.url + "/api/dashboard/session", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    assert session() | {"version": None} == {"authRequired": True, "role": None, "version": None,
                                             "error": "missing bearer token (Authorization: Bearer <token>)",
                                             "mode": "DISPATCHER", "monitoring": True}
    assert session("wrong")["role"] is None and session("wrong")["error"] == "invalid token"
    assert session(READ)["role"] == "read" and session(ADMIN)["role"] == "admin"
    query = httpx.get(controller.url + "/api/dashboard/session", params={"token": READ}, timeout=10).json()
    assert query["role"] == "read"  # EventSource passes the token this way


def test_open_controller_needs_no_sign_in(controllers, cluster):
    controller = controllers.start()
    body = controller.http.get("/api/dashboard/session").json()
    assert body["authRequired"] is False and body["role"] == "admin"


def test_timeline_counts_statuses_and_rates(controllers, nodes, cluster, tmp_path):
    controller = controllers.start(token=ADMIN, API_READ_TOKENS=READ)
    nodes.start()
    reader = httpx.Client(base_url=controller.url, headers={"Authorization": f"Bearer {READ}"}, timeout=10)
    for index in range(3):
        created = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                           "id": f"t{index}", "className": "SleepWorker",
                                                           "attachments": {"seconds": 0.2}})
        assert created.status_code == 201
    controller.http.post("/api/tasks", json={"waitForClass": True, "id": "waits", "className": "NobodyRegisteredThis"})

    def settled():
        timeline = reader.get("/api/dashboard/timeline").json()
        last = timeline["samples"][-1]["counts"] if timeline["samples"] else {}
        return timeline if last.get("Finished") == 3 and last.get("Created") == 1 else None

    timeline = wait_for(settled, 30, "a sample with 3 Finished and 1 Created", interval=0.5)
    assert timeline["intervalSeconds"] > 0
    rates = timeline["rates"]
    assert rates["assigned"] == 3 and rates["finished"] == 3 and rates["failed"] == 0
    assert rates["failureRatio"] == 0 and rates["assignedPerMinute"] > 0
    newest = timeline["samples"][-1]["ts"]
    assert all(s["ts"] > newest for s in reader.get("/api/dashboard/timeline", params={"since": newest}
                                                    ).json()["samples"])
    assert reader.get("/api/dashboard/timeline", params={"since": -1}).status_code == 422
