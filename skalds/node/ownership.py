"""At most one live copy of a task: the node checks that the store still names it the owner of
every passive task it runs, and stops the copies it no longer owns."""

from __future__ import annotations

from skalds.tasks import queries
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger


def lost_copies(held: dict[str, int], owned: dict[str, int]) -> list[str]:
    """The task ids held here (id -> attempt) that the store gives to another node.

    A newer attempt assigned here is not lost: its assign event replaces the running copy."""
    lost = []
    for task_id, attempt in held.items():
        current = owned.get(task_id)
        if current is None:
            lost.append(task_id)
        elif current > attempt:
            logger.debug(f"task {task_id}: attempt {current} is assigned here; its assign event replaces "
                         f"attempt {attempt}")
    return lost


def check_ownership(store: TaskStore, skald_id: str, held: dict[str, int]) -> list[str]:
    """Read who owns the tasks held here; the ones to stop (none when the store is unreachable)."""
    if not held:
        return []
    try:
        owned = queries.owned_attempts(store, skald_id, list(held))
    except Exception as error:
        logger.warning(f"ownership check skipped, task store unreachable: {error}")
        return []
    return lost_copies(held, owned)
