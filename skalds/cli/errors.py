"""Errors a person can act on: one line saying what is wrong and what to do, never a traceback."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.text import Text

EXIT_ERROR = 1
EXIT_USAGE = 2

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
