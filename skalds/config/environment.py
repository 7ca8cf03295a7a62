"""The one place that reads the process environment and `.env` files.

Values are read when a config object is built, never at import, and nothing is written
back into `os.environ` (0.3.8 mutated process-wide state from constructors).
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values


def read_environment(env_file: str | Path | None = None) -> dict[str, str]:
    """Environment variables layered over the `.env` file of the current directory."""
    path = Path(env_file) if env_file else Path.cwd() / ".env"
    values: dict[str, str] = {}
    if path.is_file():
        values.update({key: value for key, value in dotenv_values(path).items() if value is not None})
    values.update(os.environ)
    return values
