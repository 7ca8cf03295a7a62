"""At most one live copy of a task: the node's reconciler checks that the store still names it the
owner of every passive task it runs, and stops the copies it no longer owns."""

from __future__ import annotations

from skalds.utils.logging import logger


def lost_copies(held: dict[str, int], owned: dict[str, int]) -> list[str]:
    """The task ids held here (id -> attempt) that the store gives to another node.

    A newer attempt assigned here is not lost: its assign (event or reconciler) replaces the running copy."""
    lost = []
    for task_id, attempt in held.items():
        current = owned.get(task_id)
        if current is None:
            lost.append(task_id)
        elif current > attempt:
            logger.debug(f"task {task_id}: attempt {current} is assigned here; its assign (event or reconciler) "
                         f"replaces attempt {attempt}")
    return lost
