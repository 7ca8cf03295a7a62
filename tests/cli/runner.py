"""Run the real `skalds` console script (the one installed in this virtual environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SKALDS = Path(sys.executable).parent / "skalds"


def run_skalds(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
               cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`skalds ARGS...` without the caller's SKALDS_URL/SKALDS_TOKEN unless given; output as text."""
    base = {key: value for key, value in os.environ.items() if key not in ("SKALDS_URL", "SKALDS_TOKEN")}
    return subprocess.run([str(SKALDS), *args], env={**base, "COLUMNS": "200", **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The CLI's contract for errors: non-zero exit, exactly one `error:` line, no traceback."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]
