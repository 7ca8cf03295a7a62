"""A worker's watch on its supervisor: at most one live copy of a task, also when its node freezes.

The node sends a `KeepAlive` on every worker's pipe each keep-alive period (well under the fence
time). A worker that has heard nothing from its supervisor for longer than `fence_seconds` stops
itself at once: its node is frozen (a long GC pause, a VM stall, `kill -STOP`) or cut off, and the
controller may soon give the task to another node. The node never lets its controller see it
alive for longer than that either (see `skalds/node/fencing.py`), so by the time a task is moved
its old copy has ended.

This process being stopped itself (a paused task, SIGSTOP; or the whole machine stalled) is no
silence of the supervisor: a turn that comes much later than asked for starts a fresh window.
A stalled machine is fenced by its node, which sees the same gap in its own heartbeats.
"""

from __future__ import annotations

CHECK_SECONDS = 0.25  # the reader thread looks at the silence at least this often
STALL_SECONDS = 1.0  # a turn this much later than asked for: this process itself was stopped


class SupervisorWatch:
    """The timing of the watch, without threads or clocks of its own (`now` is monotonic seconds)."""

    def __init__(self, fence_seconds: float, now: float) -> None:
        self.fence_seconds = fence_seconds  # 0: no silence rule (only a closed pipe fences)
        self.last_heard = now
        self._last_turn = now

    @property
    def check_seconds(self) -> float | None:
        """How long the reader may wait for a message before looking again (None: as long as it likes)."""
        if self.fence_seconds <= 0:
            return None
        return min(CHECK_SECONDS, self.fence_seconds / 4)

    def heard(self, now: float) -> None:
        self.last_heard = now

    def silent_for(self, now: float) -> float:
        return now - self.last_heard

    def overdue(self, now: float) -> bool:
        """True when the supervisor has been silent for longer than the fence time; call every turn."""
        wait = self.check_seconds
        if wait is None:
            return False
        if now - self._last_turn > wait + STALL_SECONDS:  # we were stopped, not the supervisor silent
            self.last_heard = max(self.last_heard, now)
        self._last_turn = now
        return self.silent_for(now) > self.fence_seconds
