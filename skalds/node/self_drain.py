"""A node told to stop (SIGTERM) drains itself first: its tasks move to other nodes a few at a time while the
rest keep running, within `shutdown_drain_seconds`; what is left then stops as a plain shutdown.

Meanwhile the node says in its registration that it drains (the dispatcher gives it nothing new; an assign that
still arrives is given back at once), and it keeps handling events, so a cancel during the drain lands.
"""

from __future__ import annotations

import threading
import time

from skalds.node.supervisor import Supervisor
from skalds.transport.node_registry import write_draining
from skalds.utils.logging import logger

SHUTDOWN = "shutdown"  # the releasing stop of a node told to stop: its history says "node shutdown"
POLL_SECONDS = 0.05
ANNOUNCE_SECONDS = 1.0  # the draining flag is written again this often (live state may have restarted)
SEEN_WITHIN_SECONDS = 1.5  # the controller reads nodes every second: it knows the node drains before a task moves


def drain_self(supervisor: Supervisor, deadline_seconds: float, parallelism: int, stop: threading.Event) -> int:
    """Release the running tasks, at most `parallelism` at a time, until none runs, the deadline passes or
    `stop` is set; returns how many were released."""
    skald_id = supervisor.config.skald_id
    supervisor.draining = True
    deadline = time.monotonic() + deadline_seconds
    asked: set[str] = set()
    logger.info(f"node {skald_id} drains itself: {len(supervisor.running_ids())} task(s), "
                f"{deadline_seconds:g}s at most, {parallelism} at a time")
    if supervisor.running_ids():
        _announce(supervisor, stop, min(deadline_seconds / 4, SEEN_WITHIN_SECONDS))
    announced = time.monotonic()
    while supervisor.running_ids() and time.monotonic() < deadline and not stop.is_set():
        if time.monotonic() - announced >= ANNOUNCE_SECONDS:
            supervisor.write_live(lambda batch: write_draining(batch, skald_id))
            announced = time.monotonic()
        running = supervisor.running_ids()
        under_way = [task_id for task_id in running if task_id in asked]
        batch = [task_id for task_id in running if task_id not in asked][:max(0, parallelism - len(under_way))]
        asked.update(batch)
        if batch:  # the batch checkpoints together, then stops as a release
            supervisor.release_tasks(batch, SHUTDOWN)
        time.sleep(POLL_SECONDS)
    left = len(supervisor.running_ids())
    if left:
        logger.warning(f"node {skald_id}: {left} task(s) not released within the drain; stopping them now")
    else:
        logger.info(f"node {skald_id} drained ({len(asked)} task(s) released)")
    return len(asked)


def _announce(supervisor: Supervisor, stop: threading.Event, seconds: float) -> None:
    """Say that the node drains, and give the controller time to read it: a task released before it knows
    would be assigned straight back here (and given back again, one attempt spent for nothing)."""
    skald_id = supervisor.config.skald_id
    written = supervisor.write_live(lambda batch: write_draining(batch, skald_id))
    if written is not None:
        written.wait(seconds)
    stop.wait(seconds)
