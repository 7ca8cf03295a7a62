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


NodeId = Annotated[str, typer.Argument(help="The node's id.", show_default=False)]
DeadlineOption = Annotated[float, typer.Option("--deadline", min=0.001, max=7 * 86400,
                                               help="Seconds to move every task; then what is left is stopped.")]
ParallelismOption = Annotated[int | None, typer.Option("--parallelism", min=1, max=1000, show_default=False,
                                                       help="Tasks moved at once (default: the controller's).")]


def _act(node_id: str, action: str, url: str, token: str | None, as_json: bool, body: Any = None) -> None:
    with ControllerClient(url, token) as client:
        result = client.one("node", node_id, f"/{action}", method="POST", json=body)
    if as_json:
        _print_json(result)
        return
    state = result.get("drainState") or "schedulable (takes new tasks)"
    typer.echo(f"node {node_id}: {state}, {result.get('taskCount', 0)} task(s) running")


@app.command()
def cordon(node_id: NodeId, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Give the node no new tasks (what it runs goes on)."""
    _act(node_id, "cordon", url, token, as_json)


@app.command()
def drain(node_id: NodeId, deadline: DeadlineOption = 300.0, parallelism: ParallelismOption = None,
          url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Cordon the node and move every task it runs to other nodes, a few at a time."""
    body: dict[str, Any] = {"deadlineSeconds": deadline}
    if parallelism is not None:
        body["parallelism"] = parallelism
    _act(node_id, "drain", url, token, as_json, body)


@app.command()
def uncordon(node_id: NodeId, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """The node takes new tasks again (a drain under way stops moving tasks)."""
    _act(node_id, "uncordon", url, token, as_json)
