"""What `pip install skalds` gives a new user: the wheel built from this tree, installed into a fresh virtual
environment (dependencies from the package index), runs `skalds dev` until its dashboard answers, and runs
the development services from the installed package (their FerretDB build's Go sources ship in it)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from support.cluster import wait_for
from support.tcp_proxy import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CLEAN = ("KAFKA_HOST", "KAFKA_PORT", "MONGO_HOST", "REDIS_HOST", "REDIS_PORT", "SKALDS_BACKEND", "DB_NAME",
         "SKALDS_URL", "SKALDS_TOKEN", "API_ADMIN_TOKENS", "API_READ_TOKENS", "SYSTEM_CONTROLLER_PORT", "PYTHONPATH",
         "LOG_PATH", "VIRTUAL_ENV", "SKALDS_STATE_DIR")


def run(*command: str | Path, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=timeout,
                            **kwargs)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `bin` folder of a fresh venv holding the wheel of this tree (built from a copy: no build/ here)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "skalds", source / "skalds", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", root / "dist", source, timeout=180)
    wheel = next((root / "dist").glob("skalds-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "skalds/devservices/assets/ferretdb/main.go" in names and "skalds/cli/main.py" in names
    assert "skalds/system_controller/dashboard/index.html" in names
    run(sys.executable, "-m", "venv", root / "venv")
    run(root / "venv" / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check",
        wheel, timeout=300)
    return root / "venv" / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in CLEAN}
    return {**env, "COLUMNS": "200", **extra}


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    where = run(installed / "python", "-c", "import skalds, uvicorn, fastapi; print(skalds.__file__)",
                cwd=tmp_path, env=clean_env()).stdout
    assert "site-packages" in where and str(REPO) not in where


def test_pip_install_then_skalds_dev_serves_the_dashboard(installed, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    work = tmp_path / "work"
    work.mkdir()
    env = clean_env(SKALDS_EMBEDDED_PATH=str(tmp_path / "data" / "skalds.db"))
    log = tmp_path / "dev.out"
    with log.open("wb") as out:
        dev = subprocess.Popen([str(installed / "skalds"), "dev", "--port", str(port)], env=env, cwd=work,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: f"Dashboard: {url}/dashboard" in log.read_text(errors="replace") or dev.poll() is not None,
                 60, "the dashboard URL")
        assert dev.poll() is None, log.read_text()
        page = httpx.get(f"{url}/dashboard", follow_redirects=True, timeout=5)
        assert page.status_code == 200 and "<html" in page.text.lower()
        nodes = httpx.get(f"{url}/api/skalds", params={"status": "online"}, timeout=5).json()["items"]
        assert [node["id"] for node in nodes] == [f"dev{port}-node-1"]
        dev.send_signal(signal.SIGINT)
        assert dev.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(10)
    assert "No module named" not in log.read_text() and not (work / "logs").exists()


def test_the_installed_package_runs_the_development_services(installed, tmp_path):
    """Private ports and state: Redis and the patched FerretDB (the cached build, found by the hash of the Go
    sources read from the installed package)."""
    env = clean_env(SKALDS_REDIS_PORT=str(free_port()), SKALDS_MONGO_PORT=str(free_port()),
                    SKALDS_STATE_DIR=str(tmp_path / "state"))
    skalds = installed / "skalds"
    try:
        run(skalds, "services", "up", "redis", "ferretdb", env=env, cwd=tmp_path, timeout=600)
        status = run(skalds, "services", "status", "redis", "ferretdb", env=env, cwd=tmp_path).stdout
        assert status.count("running") == 2 and str(tmp_path / "state") in status, status
    finally:
        subprocess.run([str(skalds), "services", "down", "redis", "ferretdb"], env=env, cwd=tmp_path, timeout=120,
                       capture_output=True)
    stopped = subprocess.run([str(skalds), "services", "status", "redis", "ferretdb"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
