"""How a worker is stopped: the request (the worker interrupts its own main thread, see
`skalds.worker.interrupt`), then SIGTERM, then SIGKILL, each on a deadline.

The deadlines are plain numbers on the monotonic clock, so the policy is tested without processes;
the reactor asks `due` on every turn and sleeps at most until `next_wait`. Pause and resume are
SIGSTOP / SIGCONT: a stopped process keeps its memory and uses no CPU.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass

LONGEST_WAIT_SECONDS = 1.0  # the reactor looks at the deadlines at least this often


@dataclass
class StopDeadlines:
    """When a stopping worker gets SIGTERM and when SIGKILL (None once sent)."""

    term_at: float | None
    kill_at: float | None

    def due(self, now: float) -> signal.Signals | None:
        """The signal to send now, if any; each is due once. SIGKILL wins when both are due, and
        ends the escalation (a SIGTERM after it could reach a reused pid)."""
        if self.kill_at is not None and now >= self.kill_at:
            self.term_at = self.kill_at = None
            return signal.SIGKILL
        if self.term_at is not None and now >= self.term_at:
            self.term_at = None
            return signal.SIGTERM
        return None


@dataclass(frozen=True)
class StopPolicy:
    request_timeout: float  # how long the cooperative request has before SIGTERM
    grace_seconds: float  # how long SIGTERM (release hooks) has before SIGKILL
    interrupt_grace: float = 0.25  # how long a worker that polls the flag has before its main thread is interrupted

    def deadlines(self, now: float) -> StopDeadlines:
        term_at = now + self.request_timeout
        return StopDeadlines(term_at=term_at, kill_at=term_at + self.grace_seconds)

    def patience(self, margin: float = 2.0) -> float:
        """How long a stop may take at most, with `margin` for the exit to be seen."""
        return self.request_timeout + self.grace_seconds + margin


def next_wait(deadlines: Iterable[StopDeadlines | None], now: float,
              longest: float = LONGEST_WAIT_SECONDS) -> float:
    """Seconds until the soonest deadline (0 when one has passed), at most `longest`."""
    soonest = longest
    for stop in deadlines:
        if stop is None:
            continue
        for moment in (stop.term_at, stop.kill_at):
            if moment is not None:
                soonest = min(soonest, max(0.0, moment - now))
    return soonest


def send_signal(pid: int, signum: int) -> None:
    """Signal a worker that may have exited already."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def pause(pid: int) -> None:
    send_signal(pid, signal.SIGSTOP)


def resume(pid: int) -> None:
    send_signal(pid, signal.SIGCONT)


def kill(pid: int) -> None:
    """SIGKILL, which also ends a stopped (paused) process without letting it run a single step."""
    send_signal(pid, signal.SIGKILL)
