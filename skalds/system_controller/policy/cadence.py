"""When the monitor's node check and task check are due, each on its own interval.

The monitor loop ticks at the shorter interval and does each part when it is due, so
MONITOR_SKALD_INTERVAL and MONITOR_TASK_INTERVAL each mean what they say.
"""

from __future__ import annotations

from dataclasses import dataclass

EARLY = 0.001  # a tick a hair before its time (timer rounding) still counts as on time


@dataclass
class Cadence:
    node_interval: float
    task_interval: float
    next_nodes_at: float | None = None  # None: due at the first tick
    next_tasks_at: float | None = None

    @property
    def period(self) -> float:
        """How often the loop ticks: the shorter of the two intervals."""
        return min(self.node_interval, self.task_interval)

    def due(self, now: float) -> tuple[bool, bool]:
        """(nodes due, tasks due) at monotonic time `now`; a part that is due is booked for its next time."""
        nodes, self.next_nodes_at = _take(self.next_nodes_at, self.node_interval, now)
        tasks, self.next_tasks_at = _take(self.next_tasks_at, self.task_interval, now)
        return nodes, tasks


def _take(next_at: float | None, interval: float, now: float) -> tuple[bool, float | None]:
    """Due or not, and the next time. The schedule keeps its phase (an interval of 2.5 s on a 1 s tick
    runs 2.5 s apart on average) unless the loop fell a whole interval behind."""
    if next_at is not None and now + EARLY < next_at:
        return False, next_at
    following = (now if next_at is None else next_at) + interval
    return True, following if following > now else now + interval
