"""Errors a person can act on: one `error:` line saying what is wrong and what to do, a non-zero exit code,
no traceback, and nothing sent or changed when the input was refused."""

from __future__ import annotations

import json
import textwrap

import pytest

from cli.runner import one_error_line
from support.tcp_proxy import free_port

pytestmark = pytest.mark.integration


def test_unreachable_controller(skalds):
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["task", "list"], ["task", "show", "x"], ["task", "create", "DemoWorker"], ["task", "cancel", "x"]):
        line = one_error_line(skalds(*args, env={"SKALDS_URL": url}))
        assert f"cannot reach the controller at {url}" in line and "skalds dev" in line


def test_tokens_missing_wrong_and_read_only(skalds, controllers, cluster):
    controller = controllers.start(token="admin-secret", API_READ_TOKENS="reader-secret")
    url = controller.url
    line = one_error_line(skalds("task", "list", "--url", url))
    assert "needs a token" in line and "SKALDS_TOKEN" in line
    line = one_error_line(skalds("task", "list", "--url", url, "--token", "wrong"))
    assert "refused the token" in line and "invalid token" in line
    assert skalds("task", "list", "--url", url, env={"SKALDS_TOKEN": "reader-secret"}).returncode == 0
    line = one_error_line(skalds("task", "create", "SleepWorker", "--url", url, "--token", "reader-secret"))
    assert "not allowed" in line and "read-only" in line and "admin token" in line
    assert cluster.store.count({}) == 0
    created = skalds("task", "create", "SleepWorker", "--wait-for-class", "--id", "t-ok", "--url", url,
                     env={"SKALDS_TOKEN": "admin-secret"})
    assert created.returncode == 0, created.stderr
    assert cluster.status("t-ok") in ("Created", "Assigning")


def test_unknown_task_invalid_json_and_api_rejections(skalds, controllers, cluster, tmp_path):
    """One controller for the three kinds of refusal (each step leaves the store as the next one expects)."""
    url = controllers.start().url
    _unknown_task(skalds, url)
    _invalid_json_is_refused_before_sending(skalds, url, cluster, tmp_path)
    _api_rejections_are_explained(skalds, url)


def _unknown_task(skalds, url):
    for args in (["show", "nope"], ["cancel", "nope"], ["pause", "nope"], ["resume", "nope"], ["retry", "nope"],
                 ["update", "nope", "{}"]):
        line = one_error_line(skalds("task", *args, "--url", url))
        assert "task 'nope' not found" in line and "skalds task list" in line, args


def _invalid_json_is_refused_before_sending(skalds, url, cluster, tmp_path):
    for bad in ("{bad", "[1, 2]", '"text"', ""):
        line = one_error_line(skalds("task", "create", "SleepWorker", "--attachments", bad, "--url", url))
        assert "attachments" in line and ("not valid JSON" in line or "must be a JSON object" in line), line
    assert skalds("task", "create", "SleepWorker", "--wait-for-class", "--id", "t1", "--url", url).returncode == 0
    line = one_error_line(skalds("task", "update", "t1", '{"seconds": }', "--url", url))
    assert "not valid JSON" in line and "line 1 column" in line
    line = one_error_line(skalds("task", "create", "SleepWorker", "-a", f"@{tmp_path / 'missing.json'}", "--url", url))
    assert "cannot read attachments file" in line
    assert cluster.store.count({}) == 1 and cluster.doc("t1")["attachmentsVersion"] == 0
    good = tmp_path / "a.json"
    good.write_text(json.dumps({"seconds": 0.1, "label": "from-file"}))
    created = skalds("task", "create", "SleepWorker", "--wait-for-class", "--id", "t2", "-a", f"@{good}", "--url", url)
    assert created.returncode == 0
    assert cluster.doc("t2")["attachments"]["label"] == "from-file"


def _api_rejections_are_explained(skalds, url):
    line = one_error_line(skalds("task", "create", "SleepWorker", "--wait-for-class", "--id", "bad id!", "--url", url))
    assert "rejected the request" in line and "id" in line and "pattern" in line
    line = one_error_line(skalds("task", "create", "SleepWorker", "--priority", "99", "--url", url))
    assert "rejected the request" in line and "priority" in line
    line = one_error_line(skalds("task", "create", "SleepWorker", "--url", url))
    assert "rejected the request" in line and "no node has registered class 'SleepWorker'" in line
    assert skalds("task", "create", "SleepWorker", "--wait-for-class", "--id", "dup", "--url", url).returncode == 0
    line = one_error_line(skalds("task", "create", "SleepWorker", "--wait-for-class", "--id", "dup", "--url", url))
    assert "already exists" in line
    assert skalds("task", "cancel", "dup", "--url", url).returncode == 0
    line = one_error_line(skalds("task", "cancel", "dup", "--url", url))
    assert "already Cancelled" in line
    line = one_error_line(skalds("task", "list", "--url", url.replace("/api", "") + "/nothing-here"))
    assert "is --url / SKALDS_URL a Skalds controller" in line


def test_process_modes_refuse_bad_arguments(skalds, tmp_path):
    line = one_error_line(skalds("node"))
    assert "no TaskWorker class" in line and "--worker" in line
    line = one_error_line(skalds("node", "--worker", "no_such_module:Foo", cwd=tmp_path))
    assert "cannot import module 'no_such_module'" in line
    line = one_error_line(skalds("node", "--worker", "skalds.examples.demo_worker:Nope"))
    assert "has no class 'Nope'" in line
    line = one_error_line(skalds("node", "--worker", "skalds.examples.demo_worker:DemoAttachments"))
    assert "is not a TaskWorker class" in line
    line = one_error_line(skalds("node", "--worker", "DemoWorker"))
    assert "not of the form module:Class" in line
    line = one_error_line(skalds("edge", "--yaml", str(tmp_path / "none.yaml"), "-w",
                                 "skalds.examples.demo_worker:DemoWorker"))
    assert "none.yaml" in line and "not found" in line
    usage = skalds("node", "-w", "skalds.examples.demo_worker:DemoWorker", "--kafka-port", "abc")
    assert usage.returncode == 2 and "--kafka-port" in usage.stderr and "Traceback" not in usage.stderr
    line = one_error_line(skalds("controller", "--dispatcher-strategy", "FASTEST"))
    assert "--dispatcher-strategy / DISPATCHER_STRATEGY" in line
    (tmp_path / "broken.py").write_text(textwrap.dedent("""
        raise RuntimeError("boom at import")
    """))
    line = one_error_line(skalds("node", "--worker", "broken:W", cwd=tmp_path))
    assert "importing 'broken' failed: RuntimeError: boom at import" in line


def test_services_status_runs_the_repository_script(skalds):
    result = skalds("services", "status")
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert all(name in output for name in ("kafka", "ferretdb", "redis")), output
