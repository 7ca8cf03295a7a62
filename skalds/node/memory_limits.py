"""Per-task memory limits: which limit applies and the words of a breach (pure functions).

A task's own `memoryLimitMb` wins over the node's default (`SkaldConfig.task_memory_limit_mb`);
0 or missing means no limit. The limit is on the worker's whole process tree's RSS, in MiB.
"""

from __future__ import annotations

import math

MIB = 1024 * 1024
MAX_MEMORY_LIMIT_MB = 1024 * 1024  # 1 TiB: a larger value is a typo, refused where it enters
MEMORY_STOP = "memory limit"  # the stop reason of a worker the node killed over its limit


def effective_limit_mb(task_limit: int | None, node_default: int) -> int:
    """The limit that applies to a task, in MiB; 0 = none."""
    if task_limit is not None and task_limit > 0:
        return int(task_limit)
    return max(0, int(node_default))


def breach(rss_bytes: int, limit_mb: int) -> str | None:
    """The error of a tree over its limit, e.g. `memory limit 512 MiB exceeded (RSS 530 MiB)`; None when within."""
    if limit_mb <= 0 or rss_bytes <= limit_mb * MIB:
        return None
    return f"memory limit {limit_mb} MiB exceeded (RSS {math.ceil(rss_bytes / MIB)} MiB)"
