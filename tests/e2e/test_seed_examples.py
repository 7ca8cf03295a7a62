"""The seed's three example scripts, unchanged, against the package and the real services."""

import shutil
import subprocess
import sys

import pytest

from support.nodes import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = REPO / "tests" / "e2e" / "seed_example"


def test_seed_node_runs_the_task_sent_by_the_seed_script(nodes, cluster, tmp_path):
    for script in SEED.glob("*.py"):
        shutil.copy(script, tmp_path / script.name)
    env_overrides = {"PYTHONPATH": str(tmp_path)}
    node = nodes.start("skald_123", script=tmp_path / "skald_node.py", cwd=tmp_path, wait=True, **env_overrides)
    standalone = subprocess.Popen([sys.executable, "my_simple_worker.py"], cwd=tmp_path,
                                  env=nodes.env("standalone", **env_overrides), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
    sender = subprocess.run([sys.executable, "create_task_script.py"], cwd=tmp_path,
                            env=nodes.env("script", **env_overrides), capture_output=True, text=True, timeout=60)
    assert sender.returncode == 0, sender.stdout + sender.stderr
    cluster.wait_status("task_123", "Running", timeout=20)
    node.wait_log("Running main logic for MyWorker")
    node.wait_log("RTSP URL: rtsp://example.com/stream, Fix Frame: 10")
    document = cluster.wait_status("task_123", "Finished", timeout=60)
    assert document["executor"] == "skald_123"
    per_task_log = tmp_path / "logs" / "skald_123_task_123.log"
    assert "Running main logic for MyWorker" in per_task_log.read_text()
    assert "my_simple_worker.py:main_run:" in per_task_log.read_text()
    output, _ = standalone.communicate(timeout=60)
    assert standalone.returncode == 0, output
    assert output.count("Running main logic for MyWorker") == 30


def test_seed_copies_match_the_founding_document():
    """The copies run above must stay byte-identical to the seed (checked where ../shared is present)."""
    assert sorted(path.name for path in SEED.glob("*.py")) == [
        "create_task_script.py", "my_simple_worker.py", "skald_node.py"]
    shared = REPO.parent / "shared" / "seed" / "example"
    for script in shared.glob("*.py"):
        assert (SEED / script.name).read_bytes() == script.read_bytes(), script.name
