"""Child processes of `skalds dev`: started in their own session, stopped with SIGTERM then SIGKILL.

Each child leads its own process group, so a terminal's Ctrl-C reaches only `skalds dev`, which then
stops the children exactly once (a second SIGINT would make a node exit without its clean shutdown).
On Linux each child also gets SIGTERM if `skalds dev` itself dies, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from skalds.cli.relay import OutputRelay

PR_SET_PDEATHSIG = 1


def _detach_and_tie_to_parent() -> None:
    os.setsid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    output: OutputRelay

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


def start_child(name: str, command: list[str], env: dict[str, str], hold: bool) -> Child:
    """Its stdout and stderr go through an OutputRelay (held back until the system is up, if `hold`)."""
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               preexec_fn=_detach_and_tie_to_parent)  # setsid + prctl need a preexec hook
    assert process.stdout is not None
    return Child(name, process, OutputRelay(process.stdout, hold))


def stop_children(children: list[Child], grace: float) -> dict[str, int | None]:
    """SIGTERM to each child (not its workers: the node stops those itself), SIGKILL to whatever is
    left of its process group after `grace` seconds. Returns each child's exit code."""
    for child in children:
        if child.running():
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(max(0.0, deadline - time.monotonic()))
    codes: dict[str, int | None] = {}
    for child in children:
        if child.running():
            child.signal_group(signal.SIGKILL)
            child.process.wait(10)
        # workers and fork servers of a child that is gone must not outlive it
        child.signal_group(signal.SIGKILL)
        codes[child.name] = child.process.returncode
    return codes
