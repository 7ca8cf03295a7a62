"""`skalds nodes [list|show ID]`: the nodes a controller sees, through its REST API (/api/skalds)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from skalds.cli.client import DEFAULT_URL, ControllerClient
from skalds.cli.errors import EXIT_USAGE, CliError
from skalds.cli.options import AsJson, Token, Url
from skalds.cli.render_nodes import node_detail, nodes_table

app = typer.Typer(help="The nodes a controller sees: status, classes, running tasks, last heartbeat.",
                  invoke_without_command=True)
console = Console(highlight=False)

StatusOption = Annotated[str | None, typer.Option("--status", show_default=False,
                                                  help="Only online or offline nodes (any case).")]


def _status(text: str | None) -> Literal["online", "offline"] | None:
    if text is None:
        return None
    value = text.strip().lower()
    if value not in ("online", "offline"):
        raise CliError(f"--status {text!r} is not a node status", "use online or offline", exit_code=EXIT_USAGE)
    return value  # type: ignore[return-value]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _list(status: str | None, url: str, token: str | None, as_json: bool) -> None:
    with ControllerClient(url, token) as client:
        result = client.listing("node", status=_status(status))
    if as_json:
        _print_json(result)
        return
    items = result["items"]
    title = f"Nodes ({len(items)})" if items else "No nodes (start one with `skalds node` or `skalds dev`)"
    console.print(nodes_table(items, title=title, width=console.width))


@app.callback()
def nodes(ctx: typer.Context, status: StatusOption = None, url: Url = DEFAULT_URL, token: Token = None,
          as_json: AsJson = False) -> None:
    """The nodes a controller sees (`skalds nodes` lists them; `skalds nodes show ID` shows one)."""
    if ctx.invoked_subcommand is None:
        _list(status, url, token, as_json)


@app.command("list")
def list_nodes(status: StatusOption = None, url: Url = DEFAULT_URL, token: Token = None,
               as_json: AsJson = False) -> None:
    """List the nodes: type, online or offline, last heartbeat, classes and running tasks."""
    _list(status, url, token, as_json)


@app.command()
def show(node_id: Annotated[str, typer.Argument(help="The node's id.", show_default=False)],
         url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """One node in detail, with the tasks it runs."""
    with ControllerClient(url, token) as client:
        node = client.one("node", node_id)
        tasks = client.one("node", node_id, "/tasks").get("tasks", [])
    if as_json:
        _print_json({**node, "tasks": tasks})
    else:
        console.print(node_detail(node, tasks))
