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
import time
from collections.abc import Callable, Iterator

INTERRUPT_SIGNAL = signal.SIGUSR1
DEFAULT_GRACE_SECONDS = 0.25  # a cooperative loop that polls every 100-200 ms ends by itself within it
RESEND_SECONDS = 0.02  # an interrupt that did not land is sent again this soon


class Interrupter:
    """Interrupts the main thread once a cancel (after the grace a cooperative worker gets) or a stop signal asks,
    and keeps sending until the interrupt has landed.

    Sending once is not enough: a signal that arrives after the main thread let go of the GIL to sleep, but before
    its sleep's system call began, does not cut that sleep short (Python only sees it when the sleep returns, in
    60 s for a `time.sleep(60)`). The thread that sends is the one waiting for the GIL, so it gets it exactly then.
    """

    def __init__(self, main_ident: int, may_interrupt: Callable[[], bool]) -> None:
        self._main_ident = main_ident
        self._may_interrupt = may_interrupt  # True while a hook the interrupt may end runs; False once it landed
        self._lock = threading.Lock()
        self._scheduled = False
        self.reason = "interrupted by the cancel request"  # what the raised TaskCancelled says

    def request(self, cooperative: bool, grace_seconds: float) -> None:
        """Interrupt now, or after `grace_seconds` when the worker is `cooperative` (it polls the flag)."""
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        self._start(max(0.0, grace_seconds) if cooperative else 0.0)

    def interrupt_now(self, reason: str) -> None:
        """A stop signal's interrupt: now, whatever grace a cancel before it was given."""
        with self._lock:
            self._scheduled = True
            self.reason = reason
        self._start(0.0)

    def _start(self, delay: float) -> None:
        threading.Thread(target=self._send_until_landed, args=(delay,), name="skalds-cancel-interrupt",
                         daemon=True).start()

    def _send_until_landed(self, delay: float) -> None:
        time.sleep(delay)
        while self._may_interrupt():
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pthread_kill(self._main_ident, INTERRUPT_SIGNAL)
            time.sleep(RESEND_SECONDS)


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
