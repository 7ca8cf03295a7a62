"""Paused workers that a dead node left behind.

A running worker fences itself when its node's pipe closes. A paused one is stopped (SIGSTOP),
notices nothing and would hold its memory for ever. So the fork server is started with
`WORKER_OF_ENV=<node id>` in its environment, which every worker it forks inherits, and a node
that starts kills the stopped processes that carry its own id before it starts any worker: the
node that paused them is gone, and their tasks leave this node (see `reconcile`, "orphaned").
Linux only (`/proc`); elsewhere nothing is found.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from skalds.utils.logging import logger

WORKER_OF_ENV = "SKALDS_WORKER_OF"


def _state(stat: str) -> str:
    return stat.rsplit(")", 1)[1].split()[0]


def stopped_workers_of(skald_id: str, proc: Path = Path("/proc")) -> list[int]:
    """Pids of stopped processes whose environment names them workers of `skald_id`."""
    if not skald_id:
        return []
    marker = f"{WORKER_OF_ENV}={skald_id}".encode()
    found = []
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if _state((entry / "stat").read_text()) in ("T", "t") and \
                    marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return found


def kill_stopped_workers_of(skald_id: str) -> int:
    """Kill (SIGKILL reaches a stopped process) what an earlier run of this node left paused."""
    killed = 0
    for pid in stopped_workers_of(skald_id):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    if killed:
        logger.warning(f"killed {killed} paused worker(s) left by an earlier run of {skald_id}; their tasks "
                       "leave this node (a resume starts them again)")
    return killed
