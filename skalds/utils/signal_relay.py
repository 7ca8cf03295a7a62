"""Stop signals handled beside the code they interrupt, not inside it.

Python runs a signal handler in the main thread, between two steps of whatever that thread was doing. A handler
that sets a `threading.Event` needs the Event's lock, which the interrupted code may be holding (a loop in
`stop.wait(0.2)` holds it for a moment after each wake-up, and a process thawed from SIGSTOP with a signal
pending can wake up right there): the lock is not re-entrant, so the handler waits for ever and the shutdown the
signal asked for never starts. A handler that logs meets loguru's lock the same way (loguru then drops the line).
So the handler here only writes the signal's number to a pipe (a system call, no Python lock) and a thread of
its own reads the pipe and reacts. A second signal still exits at once, from the handler itself (unless the
owner asks for every signal to be relayed, as a worker process does: its supervisor escalates to SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterable

EXIT_ON_REPEAT = 130  # the shell's code for "stopped by a signal", as a second Ctrl-C gives it


class SignalRelay:
    """Relays SIGTERM/SIGINT to `react(signum)` on its own thread; the second signal ends the process."""

    def __init__(self, react: Callable[[int], None],
                 signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
                 last_words: Callable[[], None] | None = None, exit_on_repeat: bool = True) -> None:
        """`last_words` runs in the handler before the exit on a second signal: system calls only, no locks."""
        self._react = react
        self._last_words = last_words
        self._exit_on_repeat = exit_on_repeat
        self._signals = tuple(signals)
        self._received = 0
        self._pipe: tuple[int, int] | None = None

    def install(self) -> bool:
        """Take over the signals; False (and nothing changed) outside the main thread, where Python forbids it."""
        if threading.current_thread() is not threading.main_thread() or self._pipe is not None:
            return False
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)  # a full pipe drops a signal rather than blocking the handler
        self._pipe = (read_end, write_end)
        threading.Thread(target=self._relay, args=(read_end,), name="signal-relay", daemon=True).start()
        for signum in self._signals:
            signal.signal(signum, self._handle)
        return True

    def _handle(self, signum: int, _frame: object) -> None:
        self._received += 1
        if self._received > 1 and self._exit_on_repeat:
            os.write(2, b"second signal: exiting now\n")
            if self._last_words is not None:
                self._last_words()
            os._exit(EXIT_ON_REPEAT)
        if self._pipe is not None:
            with contextlib.suppress(OSError):  # pipe full: a signal is already waiting to be relayed
                os.write(self._pipe[1], bytes([signum]))

    def _relay(self, read_end: int) -> None:
        while True:
            try:
                received = os.read(read_end, 16)
            except OSError:
                return
            if not received:
                return
            for signum in received:
                self._react(signum)
