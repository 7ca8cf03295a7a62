"""`skalds dev` with no service configured: the embedded default, a task run from the CLI, a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import psutil
import pytest

from cli.runner import SKALDS, one_error_line
from support.cluster import wait_for
from support.tcp_proxy import free_port

pytestmark = pytest.mark.e2e

SERVICE_VARIABLES = ("KAFKA_HOST", "KAFKA_PORT", "MONGO_HOST", "REDIS_HOST", "REDIS_PORT", "SKALDS_BACKEND", "DB_NAME",
                     "SKALDS_URL", "SKALDS_TOKEN", "API_ADMIN_TOKENS", "API_READ_TOKENS", "SYSTEM_CONTROLLER_PORT")


def embedded_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No service host anywhere: the configuration must choose the embedded file (here a private one)."""
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    return {**env, "SKALDS_EMBEDDED_PATH": str(tmp_path / "skalds.db"), "COLUMNS": "200", **extra}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_dev_runs_the_system_on_the_embedded_default_and_stops_cleanly(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = embedded_env(tmp_path)
    log = tmp_path / "dev.out"
    with log.open("wb") as out:
        dev = subprocess.Popen([str(SKALDS), "dev", "--nodes", "2", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: f"Dashboard: {url}/dashboard" in log.read_text(errors="replace") or dev.poll() is not None,
                 90, "the dashboard URL")
        assert dev.poll() is None, log.read_text()
        output = log.read_text()
        assert "embedded SQLite file" in output and str(tmp_path / "skalds.db") in output
        nodes = httpx.get(f"{url}/api/skalds", params={"status": "online"}).json()["items"]
        assert sorted(node["id"] for node in nodes) == [f"dev{port}-node-1", f"dev{port}-node-2"]
        assert httpx.get(f"{url}/dashboard", follow_redirects=True).status_code == 200
        assert "created 3 demo tasks" in output  # a fresh store: the demo system shows tasks running
        wait_for(lambda: {task["lifecycleStatus"] for task in httpx.get(f"{url}/api/tasks").json()["items"]
                          if task["id"].startswith("demo-")} == {"Running"}, 30, "the three demo tasks to run")

        def cli(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([str(SKALDS), *args, "--url", url], env=env, capture_output=True, text=True,
                                  timeout=60)

        created = cli("task", "create", "DemoWorker", "--attachments", '{"steps": 2, "stepSeconds": 0.1}', "--json")
        assert "demo-1" in cli("task", "list").stdout
        assert created.returncode == 0, created.stderr
        task_id = json.loads(created.stdout)["id"]
        watched = cli("task", "watch", task_id, "--interval", "0.2", "--timeout", "60")
        assert watched.returncode == 0 and "Finished" in watched.stdout, watched.stdout + watched.stderr
        long_id = json.loads(cli("task", "create", "DemoWorker", "--attachments", '{"steps": 1000}', "--json").stdout)
        wait_for(lambda: json.loads(cli("task", "show", long_id["id"], "--json").stdout)["lifecycleStatus"]
                 == "Running", 30, "the long task to run")

        family = [dev.pid, *(child.pid for child in psutil.Process(dev.pid).children(recursive=True))]
        assert len(family) >= 5  # dev, controller, two nodes, a worker (and the nodes' fork servers)
        dev.send_signal(signal.SIGINT)
        assert dev.wait(60) == 0, log.read_text()[-4000:]
        output = log.read_text()
        assert f"stopped: node dev{port}-node-1 (0), node dev{port}-node-2 (0), controller (0)" in output, \
            output[-3000:]
        assert not [pid for pid in family if _alive(pid)], "processes outlived skalds dev"
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(10)


def test_dev_refuses_a_busy_port_and_a_bad_worker_before_starting_anything(tmp_path):
    env = embedded_env(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([str(SKALDS), "dev", "--port", str(port)], env=env, cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        line = one_error_line(result)
        assert f"port {port} on 127.0.0.1 is already in use" in line and f"--port {port + 1}" in line
    result = subprocess.run([str(SKALDS), "dev", "--workers", "nowhere:Nothing"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert "cannot import module 'nowhere'" in one_error_line(result)
    assert not (tmp_path / "skalds.db").exists()


def test_dev_reports_a_child_that_cannot_start_and_stops_the_rest(tmp_path):
    env = embedded_env(tmp_path, SKALDS_EMBEDDED_PATH="/dev/null/skalds.db")
    result = subprocess.run([str(SKALDS), "dev", "--port", str(free_port())], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "set SKALDS_EMBEDDED_PATH to a writable location" in result.stdout + result.stderr
    assert "error: the controller exited with code 2; stopping the rest" in result.stderr
    assert "Traceback" not in result.stderr


def _start_dev(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen, Path, str]:
    port = free_port()
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    log = tmp_path / f"dev-{port}.out"
    with log.open("wb") as out:
        dev = subprocess.Popen([str(SKALDS), "dev", "--port", str(port), *args], env=env, cwd=work, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: f"Dashboard: {url}/dashboard" in log.read_text(errors="replace") or dev.poll() is not None,
             90, "the dashboard URL")
    assert dev.poll() is None, log.read_text()
    return dev, log, url


def _stop_dev(dev: subprocess.Popen) -> None:
    dev.send_signal(signal.SIGINT)
    try:
        assert dev.wait(60) == 0
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(10)


def test_dev_starts_in_a_few_lines_with_its_logs_in_the_data_folder(tmp_path):
    """Before the dashboard's address: a handful of lines, no configuration dump; the log files beside the
    embedded file, not in ./logs of the folder it was started in; the commands of the banner name --url."""
    data = tmp_path / "data"
    env = embedded_env(tmp_path, SKALDS_EMBEDDED_PATH=str(data / "skalds.db"))
    dev, log, url = _start_dev(tmp_path, env, "--nodes", "2")
    try:
        before = log.read_text().split(f"Dashboard: {url}/dashboard")[0].splitlines()
        assert len(before) <= 15, "\n".join(before)
        assert not any("kafka_host" in line or "Configuration" in line for line in before), "\n".join(before)
        output = log.read_text()
        assert f"skalds task create DemoWorker --attachments '{{}}' --url {url}" in output, output
        assert f"skalds nodes --url {url}" in output and f"Logs:      {data / 'logs'}" in output
        wait_for(lambda: "step 2/" in log.read_text(), 30, "the demo workers' output after the banner")
        port = url.rpartition(":")[2]
        assert {"SystemController.log", f"dev{port}-node-1.log", f"dev{port}-node-2.log"} <= {
            path.name for path in (data / "logs").iterdir()}
        assert not (tmp_path / "work" / "logs").exists()
    finally:
        _stop_dev(dev)
    assert "kafka_host" not in log.read_text()


def test_dev_verbose_shows_the_configuration_of_the_backend_in_use(tmp_path):
    env = embedded_env(tmp_path, LOG_PATH="")  # LOG_PATH given (empty: no files) is the person's choice
    dev, log, _url = _start_dev(tmp_path, env, "--verbose")
    try:
        output = log.read_text()
        assert "System Controller configuration" in output and "Configuration" in output
        assert "skalds_embedded_path: " + str(tmp_path / "skalds.db") in output
        for unused in ("kafka_host", "mongo_host", "redis_port", "db_name"):
            assert unused not in output, unused
        assert "Logs:      this terminal only" in output
    finally:
        _stop_dev(dev)
    assert not (tmp_path / "logs").exists() and not (tmp_path / "work" / "logs").exists()


def test_the_banner_names_url_only_off_the_default_controller(monkeypatch):
    from skalds.cli.dev_setup import banner

    monkeypatch.delenv("SKALDS_URL", raising=False)
    assert "--url" not in banner("http://127.0.0.1:8000", 1, ["DemoWorker"], None)
    assert "skalds task list --url http://127.0.0.1:8001" in banner("http://127.0.0.1:8001", 1, ["DemoWorker"], None)
    monkeypatch.setenv("SKALDS_URL", "http://127.0.0.1:8001")
    assert "--url" not in banner("http://127.0.0.1:8001", 1, ["DemoWorker"], None)
