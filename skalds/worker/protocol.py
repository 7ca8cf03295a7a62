"""Messages on the pipe between a node's supervisor and one worker process, and exit codes.

Supervisor -> worker: update (versioned attachments), cancel.
Worker -> supervisor: started, running (main hook entered), update_ack / update_rejected, outcome.
Every message is a small dict with an `op` key; attachments travel as JSON-ready dicts.
"""

from __future__ import annotations

from enum import IntEnum


class Op:
    UPDATE = "update"
    CANCEL = "cancel"
    STARTED = "started"
    RUNNING = "running"
    UPDATE_ACK = "update_ack"
    UPDATE_REJECTED = "update_rejected"
    OUTCOME = "outcome"


class Outcome:
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ExitCode(IntEnum):
    """Process exit status of a worker: a Kubernetes Job sees anything but 0 as failure."""

    FINISHED = 0
    FAILED = 1
    CANCELLED = 143  # 128 + SIGTERM, the shell convention for "terminated"


def outcome_for_exit_code(code: int | None) -> str:
    if code == ExitCode.FINISHED:
        return Outcome.FINISHED
    if code == ExitCode.CANCELLED:
        return Outcome.CANCELLED
    return Outcome.FAILED


def describe_exit(code: int | None) -> str:
    """`exit code 3` or `killed by signal 9 (SIGKILL)`."""
    import signal

    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"
