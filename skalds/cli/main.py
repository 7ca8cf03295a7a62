"""The `skalds` command (console script and `python -m skalds`)."""

from __future__ import annotations

import sys

import typer

import skalds
from skalds.cli import dev as dev_command
from skalds.cli import modes, nodes, services, tasks
from skalds.cli.errors import EXIT_INTERRUPTED, CliError, report

app = typer.Typer(name="skalds", no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Skalds: long-running task workers on one machine or a cluster.")
app.command("dev")(dev_command.dev)
app.command("node", rich_help_panel="Run one process")(modes.node)
app.command("edge", rich_help_panel="Run one process")(modes.edge)
app.command("single", rich_help_panel="Run one process")(modes.single)
app.command("controller", rich_help_panel="Run one process")(modes.controller)
app.add_typer(tasks.app, name="task")
app.add_typer(nodes.app, name="nodes")
app.add_typer(services.app, name="services")


@app.command("version")
def version() -> None:
    """Print the version."""
    typer.echo(skalds.__version__)


NODE_ACTIONS = ("cordon", "drain", "uncordon")


def _node_action_alias(argv: list[str]) -> list[str]:
    """`skalds node cordon|drain|uncordon ID` is `skalds nodes cordon|drain|uncordon ID` (`skalds node` itself
    runs a node and takes no argument, so the two never collide)."""
    if len(argv) > 2 and argv[1] == "node" and argv[2] in NODE_ACTIONS:
        return [argv[0], "nodes", *argv[2:]]
    return argv


def main() -> None:
    """Run the app; a CliError becomes one line on stderr and a non-zero exit code."""
    sys.argv = _node_action_alias(sys.argv)
    try:
        app()
    except CliError as error:
        raise SystemExit(report(error)) from None
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None


if __name__ == "__main__":
    main()
