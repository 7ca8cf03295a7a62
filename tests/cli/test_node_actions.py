"""`skalds node cordon|drain|uncordon ID` (and `skalds nodes ...`) against a real controller and node: each stores
the node's state, which `skalds nodes` then shows."""

from __future__ import annotations

import json

import pytest

from support.cluster import wait_for

pytestmark = pytest.mark.integration


def test_cordon_drain_uncordon_from_the_command_line(skalds, controllers, nodes, cluster):
    url = controllers.start().url
    node = nodes.start()
    wait_for(lambda: node.skald_id in skalds("nodes", "--url", url).stdout, 15, "the node listed")
    cordoned = skalds("node", "cordon", node.skald_id, "--url", url)
    assert cordoned.returncode == 0, cordoned.stderr
    assert f"node {node.skald_id}: cordoned" in cordoned.stdout
    row = next(line for line in skalds("nodes", "--url", url).stdout.splitlines() if line.startswith(node.skald_id))
    assert "online, cordoned" in row
    drained = skalds("nodes", "drain", node.skald_id, "--deadline", "30", "--parallelism", "2", "--json", "--url", url)
    assert drained.returncode == 0, drained.stderr
    assert json.loads(drained.stdout)["drainState"] == "draining"
    wait_for(lambda: json.loads(skalds("nodes", "show", node.skald_id, "--json", "--url", url).stdout)["drainState"]
             == "drained", 15, "drained (it runs nothing)")
    back = skalds("node", "uncordon", node.skald_id, "--url", url)
    assert back.returncode == 0 and "takes new tasks" in back.stdout
    assert json.loads(skalds("nodes", "show", node.skald_id, "--json", "--url", url).stdout)["drainState"] is None
    bad = skalds("node", "drain", node.skald_id, "--deadline", "0", "--url", url)
    assert bad.returncode == 2 and "--deadline" in bad.stderr and "Traceback" not in bad.stderr
