"""A stop signal lands whatever the main thread was doing when it arrived (each case in a process of its own)."""

from __future__ import annotations

import subprocess
import sys

STOP_WHILE_HOLDING_THE_STOP_LOCK = """
import os, signal, sys, time
from skalds.config.skald_config import SkaldConfig
from skalds.skald import Skald
skald = Skald(SkaldConfig(skald_id="signal-relay-test"))
skald._install_signal_handlers()
with skald._stop._cond:  # as inside `_stop.wait(0.2)` in the node's main loop, just woken by its timeout
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)  # the handler runs here, in this thread, with the lock held
sys.exit(0 if skald._stop.wait(2.0) else 1)
"""

SECOND_SIGNAL = """
import os, signal, time
from skalds.utils.signal_relay import SignalRelay
SignalRelay(lambda signum: None, last_words=lambda: os.write(1, b"last words")).install()
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(0.2)
os.kill(os.getpid(), signal.SIGINT)
time.sleep(5)
"""


def _python(script: str, timeout: float) -> subprocess.CompletedProcess[bytes] | None:
    """The finished process, or None if it had to be killed at `timeout`."""
    try:
        return subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def test_sigterm_arriving_while_the_main_loop_holds_the_stop_lock_still_stops_the_node() -> None:
    """The handler used to call `_stop.set()` itself: when the signal came while the main thread held that
    Event's (non-reentrant) lock, as a node thawed from a freeze does first, the handler waited for ever."""
    result = _python(STOP_WHILE_HOLDING_THE_STOP_LOCK, timeout=20)
    assert result is not None, "the process hung in its signal handler"
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]


def test_a_second_signal_exits_at_once_with_130_after_the_last_words() -> None:
    result = _python(SECOND_SIGNAL, timeout=20)
    assert result is not None
    assert result.returncode == 130
    assert result.stdout == b"last words"
    assert b"second signal: exiting now" in result.stderr
