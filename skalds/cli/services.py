"""`skalds services up|down|reset|status`: the repository's real Kafka, FerretDB and Redis (scripts/services)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer

import skalds
from skalds.cli.errors import CliError

app = typer.Typer(help="Real Kafka, MongoDB-wire server (FerretDB) and Redis on this machine (a source checkout).",
                  no_args_is_help=True)

Names = Annotated[list[str] | None, typer.Argument(help="Only these: kafka, ferretdb, redis.", show_default=False)]


def services_script() -> Path:
    """scripts/services of the checkout this package was installed from (editable install)."""
    script = Path(skalds.__file__).resolve().parent.parent / "scripts" / "services"
    if not script.is_file():
        raise CliError(f"`skalds services` needs a source checkout of Skalds; {script} does not exist "
                       "(this is an installed package)",
                       "clone the repository and run `pip install -e .` there, or run your own Kafka, "
                       "MongoDB and Redis and set KAFKA_HOST, MONGO_HOST and REDIS_HOST")
    return script


def _run(action: str, names: list[str] | None) -> None:
    script = services_script()
    result = subprocess.run([str(script), action, *(names or [])], check=False)
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
    """Which services run, where, and their versions (exit 1 if one is down)."""
    _run("status", names)
