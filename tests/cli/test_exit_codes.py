"""The exit codes of `skalds` are the README's table: each code, produced by the real command."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from cli.runner import SKALDS
from support.tcp_proxy import free_port

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
DEMO = "skalds.examples.demo_worker:DemoWorker"


def documented_codes() -> set[int]:
    text = README.read_text(encoding="utf-8").split("<!-- exit-codes -->", 1)[1]
    rows = re.findall(r"^\| (\d+) \|", text.split("\n\n", 1)[0], flags=re.MULTILINE)
    return {int(code) for code in rows}


def test_the_readme_documents_the_codes_the_cli_uses():
    from skalds.cli import errors

    used = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert documented_codes() == used == {0, 1, 2, 3, 130}


def test_usage_errors_exit_2_and_nothing_starts(skalds, tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}"
    cases = [
        ("task", "list", "--no-such-flag"),
        ("task", "create", "DemoWorker", "--attachments", '{"name": }', "--url", nowhere),
        ("task", "list", "--status", "sleeping", "--url", nowhere),
        ("task", "list", "--sort", "colour", "--url", nowhere),
        ("nodes", "--status", "asleep", "--url", nowhere),
        ("node", "--worker", "no_such_module:Worker"),
        ("node", "--worker", f"{DEMO}x"),
        ("node",),
        ("dev", "--workers", "no_such_module:Worker", "--port", str(free_port())),
        ("controller", "--dispatcher-strategy", "FASTEST"),
        ("edge", "--yaml", str(tmp_path / "missing.yaml"), "--worker", DEMO),
    ]
    for args in cases:
        result = skalds(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, args


def test_failures_exit_1(skalds, controllers, tmp_path):
    assert skalds("task", "list", "--url", f"http://127.0.0.1:{free_port()}").returncode == 1
    url = controllers.start().url
    assert skalds("task", "show", "no-such-task", "--url", url).returncode == 1
    assert skalds("nodes", "show", "no-such-node", "--url", url).returncode == 1
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert skalds("dev", "--port", str(busy.getsockname()[1]), cwd=tmp_path).returncode == 1


def test_waits_exit_3_and_an_interrupted_watch_130(skalds, controllers, nodes, cluster, tmp_path):
    url = controllers.start().url
    nodes.start()
    assert skalds("task", "create", "SleepWorker", "--id", "long", "-a", '{"seconds": 60}', "--url", url
                  ).returncode == 0
    cluster.wait_status("long", "Running")
    timed_out = skalds("task", "watch", "long", "--timeout", "1", "--interval", "0.2", "--url", url)
    assert timed_out.returncode == 3 and "not ended yet: long" in timed_out.stderr, timed_out.stderr
    down = skalds("services", "status", "redis", env={"SKALDS_REDIS_PORT": str(free_port()),
                                                       "SKALDS_STATE_DIR": str(tmp_path / "state")})
    assert down.returncode == 3, down.stdout + down.stderr

    out = tmp_path / "watch.out"
    with out.open("wb") as sink:
        watch = subprocess.Popen([str(SKALDS), "task", "watch", "long", "--interval", "0.2", "--url", url],
                                 stdout=sink, stderr=subprocess.STDOUT)
    try:
        time.sleep(3)  # started and polling (off a terminal, rich's live table prints only when it ends)
        assert watch.poll() is None, out.read_text(errors="replace")
        watch.send_signal(signal.SIGINT)
        assert watch.wait(30) == 130
    finally:
        if watch.poll() is None:
            watch.kill()
    output = out.read_text(errors="replace")
    assert "Traceback" not in output and "long" in output, output
