"""Cancel that lands in a worker that never looks at `is_cancel_requested()`.

On a `Cancel` the pipe reader asks the `Interrupter` to interrupt the main thread: it sends the main
thread SIGUSR1 (`pthread_kill`, so a blocking `time.sleep` or `Event.wait` returns at once with EINTR),
and the runtime's handler raises `TaskCancelled` there, once, and only while the task's hooks run
(never in a release hook). A worker that has polled the flag is cooperative: it gets `grace_seconds`
to end by itself before the interrupt. A worker that swallows the exception is left to SIGTERM and
SIGKILL on the node's deadlines (`skalds.node.stopping`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

INTERRUPT_SIGNAL = signal.SIGUSR1
DEFAULT_GRACE_SECONDS = 0.25  # a cooperative loop that polls every 100-200 ms ends by itself within it


class Interrupter:
    """Sends the interrupt to the main thread once, after the grace a cooperative worker gets."""

    def __init__(self, main_ident: int, may_interrupt: Callable[[], bool]) -> None:
        self._main_ident = main_ident
        self._may_interrupt = may_interrupt  # True while a hook the interrupt may end runs
        self._lock = threading.Lock()
        self._scheduled = False

    def request(self, cooperative: bool, grace_seconds: float) -> None:
        """Interrupt now, or after `grace_seconds` when the worker is `cooperative` (it polls the flag)."""
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        delay = max(0.0, grace_seconds) if cooperative else 0.0
        if delay == 0.0:
            self._fire()
            return
        timer = threading.Timer(delay, self._fire)
        timer.daemon = True
        timer.name = "skalds-cancel-interrupt"
        timer.start()

    def _fire(self) -> None:
        if self._may_interrupt():
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pthread_kill(self._main_ident, INTERRUPT_SIGNAL)


@contextlib.contextmanager
def interrupt_deferred() -> Iterator[None]:
    """Hold the interrupt back while the main thread writes to the pipe (an exception halfway through a
    message would leave a torn message); it lands right after. Other threads need nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {INTERRUPT_SIGNAL})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {INTERRUPT_SIGNAL})
