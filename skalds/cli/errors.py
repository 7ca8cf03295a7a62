"""Errors a person can act on: one line saying what is wrong and what to do, never a traceback.

The exit codes of every `skalds` command (the README's table lists the same):
0 done; 1 it could not be done (a controller unreachable or refusing, a busy port, a child that died);
2 the command line or its input is wrong, nothing was sent or started (an unknown flag, attachments that
are not a JSON object, a worker that cannot be loaded, an invalid setting); 3 a wait ended before what it
waited for (`task watch --timeout`, `services status` with a service down); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.text import Text

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_YET = 3
EXIT_INTERRUPTED = 130

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(Exception):
    """Raised anywhere in the CLI; `skalds` prints `error: <what>` (and the hint) and exits non-zero."""

    def __init__(self, message: str, hint: str = "", exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def line(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


def report(error: CliError) -> int:
    """Print the error as one line on stderr; returns the exit code to use."""
    _stderr.print(Text.assemble(("error: ", "bold red"), error.line()))
    sys.stderr.flush()
    return error.exit_code
