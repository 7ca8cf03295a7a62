"""`skalds node|edge|single|controller` start the real processes, configured by flags over the environment."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from cli.runner import SKALDS
from support.cluster import wait_for

pytestmark = pytest.mark.integration

SINGLE = """\
TaskWorkers:
  sp-task:
    className: {cls}
    attachments:
      seconds: 0.2
"""
EDGE = """\
TaskWorkers:
  edge-cli:
    className: SleepWorker
    attachments:
      seconds: 30
"""


def test_node_and_controller_commands_run_a_task(skalds, controllers, nodes, cluster):
    controller = controllers.start()
    node = nodes.start(script=SKALDS, args=["node", "--worker", "support.workers:SleepWorker",
                                            "--worker", "support.workers:FailingWorker", "--max-concurrent-tasks", "3"])
    assert "SleepWorker -> SleepModel" in node.log() and "max_concurrent_tasks: 3" in node.log()
    created = skalds("task", "create", "SleepWorker", "--json", "--url", controller.url)
    task_id = json.loads(created.stdout)["id"]
    cluster.wait_status(task_id, "Finished")
    assert cluster.doc(task_id)["executor"] == node.skald_id
    failed = json.loads(skalds("task", "create", "FailingWorker", "--json", "--url", controller.url).stdout)["id"]
    assert cluster.wait_status(failed, "Failed")["executor"] == node.skald_id


def test_controller_command_takes_its_flags(skalds, nodes, cluster, tmp_path):
    """`skalds controller --system-controller-port P --api-admin-tokens T`: the flags reach the real controller."""
    from support.tcp_proxy import free_port

    port = free_port()
    env = nodes.env("unused")
    process = subprocess.Popen([str(SKALDS), "controller", "--system-controller-port", str(port),
                                "--api-admin-tokens", "flag-token"], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: skalds("task", "list", "--url", url, "--token", "flag-token").returncode == 0, 60,
                 "the controller to answer with the token given as a flag")
        refused = skalds("task", "list", "--url", url)
        assert refused.returncode == 1 and "needs a token" in refused.stderr
    finally:
        process.terminate()
        assert process.wait(30) == 0


@pytest.mark.parametrize(("cls", "code"), [("SleepWorker", 0), ("FailingWorker", 1)])
def test_single_exits_with_the_outcome(nodes, tmp_path, cls, code):
    yaml_file = tmp_path / "one.yml"
    yaml_file.write_text(SINGLE.format(cls=cls))
    env = nodes.env("single-cli", KAFKA_HOST="", REDIS_HOST="")
    result = subprocess.run([str(SKALDS), "single", "--yaml", str(yaml_file), "--worker", "support.workers:" + cls],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == code, result.stdout[-3000:] + result.stderr[-3000:]


def test_edge_starts_the_yaml_tasks(nodes, cluster, tmp_path):
    yaml_file = tmp_path / "edge.yml"
    yaml_file.write_text(EDGE)
    node = nodes.start(script=SKALDS, args=["edge", "--yaml", str(yaml_file), "-w", "support.workers:SleepWorker"])
    document = cluster.wait_status("edge-cli", "Running")
    assert document["executor"] == node.skald_id and document["mode"] == "Active"


def test_flags_override_environment_and_reach_the_config(monkeypatch):
    """The generated flags: one per field, given ones win over the environment, absent ones fall back to it."""
    import typer

    from skalds.cli.config_flags import build_config, with_config_flags
    from skalds.config.skald_config import SkaldConfig

    app = typer.Typer()

    @app.command()
    @with_config_flags(SkaldConfig, exclude={"skald_mode"})
    def show(*, settings: dict) -> None:
        typer.echo(build_config(SkaldConfig, settings).model_dump_json())

    monkeypatch.setenv("KAFKA_PORT", "1111")
    monkeypatch.setenv("SKALD_ID", "from-env")
    result = CliRunner().invoke(app, ["--kafka-port", "2222", "--log-json", "--heartbeat-period", "0.5"])
    assert result.exit_code == 0, result.output
    config = json.loads(result.output)
    assert config["kafka_port"] == 2222 and config["log_json"] is True and config["heartbeat_period"] == 0.5
    assert config["skald_id"] == "from-env" and config["skald_mode"] == "node"
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "300"}).output
    for name in SkaldConfig.model_fields:
        if name != "skald_mode":
            assert "--" + name.replace("_", "-") in help_text, name
