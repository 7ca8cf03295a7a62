"""`skalds services up|down|reset|status`: real Kafka, FerretDB and Redis on this machine (skalds.devservices).

The first `up` fetches Kafka from Maven Central (needs Java 17+), builds FerretDB with Go and installs Redis
with apt-get (as root), all cached under ~/.cache/skalds; a checkout keeps their state in `.state/services`,
an installed package in ~/.cache/skalds/state (SKALDS_STATE_DIR overrides both).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer

app = typer.Typer(help="Real Kafka, MongoDB-wire server (FerretDB) and Redis on this machine "
                       "(the first `up` needs Java 17 and Go).", no_args_is_help=True)

Names = Annotated[list[str] | None, typer.Argument(help="Only these: kafka, ferretdb, redis.", show_default=False)]


def _run(action: str, names: list[str] | None) -> None:
    """`python -m skalds.devservices` of this very installation: a checkout or an installed package (the
    Go sources of the FerretDB build ship in the package). Its exit code is this command's."""
    result = subprocess.run([sys.executable, "-m", "skalds.devservices", action, *(names or [])], check=False)
    raise typer.Exit(result.returncode)


@app.command()
def up(names: Names = None) -> None:
    """Install (first time, cached), start and wait for the services."""
    _run("up", names)


@app.command()
def down(names: Names = None) -> None:
    """Stop the services (their data stays in the state folder)."""
    _run("down", names)


@app.command()
def reset(names: Names = None) -> None:
    """Stop the services and delete their data (the next `up` starts empty)."""
    _run("reset", names)


@app.command()
def status(names: Names = None) -> None:
    """Which services run, where, and their versions (exit 3 if one is not running)."""
    _run("status", names)
