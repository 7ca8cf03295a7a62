"""`skalds task ...`: create, inspect and control tasks through a controller's REST API."""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from skalds.cli.client import DEFAULT_URL, ControllerClient
from skalds.cli.errors import EXIT_INTERRUPTED, EXIT_NOT_YET, EXIT_USAGE, CliError
from skalds.cli.options import AsJson, Token, Url
from skalds.cli.render import TERMINAL, task_detail, tasks_table
from skalds.cli.task_logs import logs
from skalds.model.task import TaskLifecycleStatus

app = typer.Typer(help="Create, list, watch and control tasks on a controller (--url / SKALDS_URL).",
                  no_args_is_help=True)
console = Console(highlight=False)

app.command()(logs)
TaskId = Annotated[str, typer.Argument(help="The task's id.", show_default=False)]


def parse_attachments(text: str) -> dict[str, Any]:
    """Validate before sending: the API takes a JSON object. `@file.json` reads a file."""
    source = "attachments"
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CliError(f"cannot read attachments file {str(path)!r}: {error.strerror}",
                           "check the path after @") from error
        source = f"attachments file {str(path)!r}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{source} are not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
                       """write a JSON object in single quotes, e.g. '{"steps": 5}'""", exit_code=EXIT_USAGE) from error
    if not isinstance(value, dict):
        raise CliError(f"{source} must be a JSON object, not {type(value).__name__}",
                       """wrap the values in an object, e.g. '{"steps": 5}'""", exit_code=EXIT_USAGE)
    return value


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _client(url: str, token: str | None) -> ControllerClient:
    return ControllerClient(url, token)


@app.command()
def create(
    class_name: Annotated[str, typer.Argument(help="The TaskWorker class name, e.g. DemoWorker.", show_default=False)],
    attachments: Annotated[str, typer.Option("--attachments", "-a", help="JSON object (or @file.json).")] = "{}",
    task_id: Annotated[str | None, typer.Option("--id", help="Task id (default: generated).", show_default=False)]
    = None,
    priority: Annotated[int, typer.Option(help="0..10, higher first.")] = 0,
    name: Annotated[str | None, typer.Option(show_default=False)] = None,
    description: Annotated[str | None, typer.Option(show_default=False)] = None,
    max_retries: Annotated[int, typer.Option("--max-retries", help="Automatic retries after a failure.")] = 0,
    wait_for_class: Annotated[bool, typer.Option("--wait-for-class", help="Accept it although no node runs its "
                                                 "class yet: it waits for one.")] = False,
    memory_limit_mb: Annotated[int | None, typer.Option("--memory-limit-mb", help="RSS cap of its worker in MiB "
                                                        "(over it: killed, Failed).", show_default=False)] = None,
    url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False,
) -> None:
    """Create a task; the controller assigns it to a node that runs its class (and refuses attachments that do
    not fit the schema the class's nodes published, listing each field)."""
    body: dict[str, Any] = {"className": class_name, "attachments": parse_attachments(attachments),
                            "priority": priority, "maxRetries": max_retries, "waitForClass": wait_for_class}
    for key, value in (("id", task_id), ("name", name), ("description", description),
                       ("memoryLimitMb", memory_limit_mb)):
        if value is not None:
            body[key] = value
    with _client(url, token) as client:
        task = client.create_task(body)
    if as_json:
        _print_json(task)
    else:
        console.print(f"created task [bold]{task['id']}[/] ({task['className']}): {task['lifecycleStatus']}")


SORTS = {"created": "createDateTime", "updated": "updateDateTime", "priority": "priority", "status": "lifecycleStatus",
         "class": "className", "node": "executor", "id": "id"}
NEWEST_FIRST = {"created", "updated", "priority"}  # the others read A to Z


def status_filter(text: str | None) -> str | None:
    """`running`, `RUNNING` and `Running` all mean Running; anything else is refused before sending."""
    if text is None:
        return None
    by_lower = {status.value.lower(): status.value for status in TaskLifecycleStatus}
    if text.strip().lower() not in by_lower:
        raise CliError(f"--status {text!r} is not a task status",
                       "use one of " + ", ".join(by_lower.values()) + " (any case)", exit_code=EXIT_USAGE)
    return by_lower[text.strip().lower()]


Status = Annotated[str | None, typer.Option("--status", show_default=False,
                                            help="Only this lifecycle status (any case, e.g. running).")]
ClassName = Annotated[str | None, typer.Option("--class", help="Only this class.", show_default=False)]
SortKey = Enum("SortKey", {key: key for key in SORTS}, type=str)  # type: ignore[misc]
Sort = Annotated[SortKey, typer.Option("--sort", case_sensitive=False, help=(
    "Order by created, updated or priority (newest, highest first) or by status, class, node or id (A to Z)."))]


@app.command("list")
def list_tasks(
    status: Status = None, class_name: ClassName = None,
    node: Annotated[str | None, typer.Option("--node", help="Only tasks on this node.", show_default=False)] = None,
    id_contains: Annotated[str | None, typer.Option("--id", help="Ids containing this text.", show_default=False)]
    = None,
    sort: Sort = SortKey.created,  # type: ignore[attr-defined]
    reverse: Annotated[bool, typer.Option("--reverse", help="The other way round.")] = False,
    page: Annotated[int, typer.Option(min=1, help="Page by number (up to 10,000 tasks deep; see --cursor).")] = 1,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=100)] = 20,
    cursor: Annotated[str | None, typer.Option("--cursor", show_default=False, help=(
        "Continue after the page that printed this cursor (same filters and sort)."))] = None,
    url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False,
) -> None:
    """List tasks, newest first (see --sort). Each page prints the --cursor of the next one."""
    descending = (sort.value in NEWEST_FIRST) != reverse
    with _client(url, token) as client:
        result = client.list_tasks(page=page, pageSize=page_size, lifecycleStatus=status_filter(status),
                                   className=class_name, executor=node, id=id_contains, sortBy=SORTS[sort.value],
                                   sortOrder="desc" if descending else "asc", cursor=cursor)
    if as_json:
        _print_json(result)
        return
    items = result["items"]
    total = f"{result['total']}{'+' if result.get('totalIsLowerBound') else ''}"
    shown = f"{len(items)} of {total}" + (f", page {page}" if page > 1 and not cursor else "")
    console.print(tasks_table(items, title=f"Tasks ({shown})", width=console.width))
    if result.get("nextCursor"):
        console.print(f"next page: --cursor {result['nextCursor']}", soft_wrap=True)


@app.command()
def show(task_id: TaskId, history: Annotated[bool, typer.Option("--history", help="Also the task's history.")]
         = False, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """One task in detail (with --history: creation, assignments, status changes, updates)."""
    with _client(url, token) as client:
        task = client.get_task(task_id)
        events = client.history(task_id)["events"] if history else None
    if as_json:
        _print_json({**task, "history": events} if history else task)
    else:
        console.print(task_detail(task, events))


def _act(action: str, task_id: str, url: str, token: str | None, as_json: bool) -> None:
    with _client(url, token) as client:
        result = client.action(task_id, action)
    if as_json:
        _print_json(result)
    else:
        data = result.get("data", {})
        pending = f", {data.get('desiredStatus')} pending" if data.get("pending") else ""
        console.print(f"task [bold]{task_id}[/]: {result.get('message', action)} "
                      f"(status {data.get('status', '?')}{pending})")


@app.command()
def cancel(task_id: TaskId, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Cancel a task: the worker is asked to stop, then terminated, then killed."""
    _act("cancel", task_id, url, token, as_json)


@app.command()
def pause(task_id: TaskId, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Pause a running task (its process is suspended, keeping its memory and place)."""
    _act("pause", task_id, url, token, as_json)


@app.command()
def resume(task_id: TaskId, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Resume a paused task exactly where it stopped."""
    _act("resume", task_id, url, token, as_json)


@app.command()
def retry(task_id: TaskId, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Run a failed or cancelled task again (a new attempt)."""
    _act("retry", task_id, url, token, as_json)


@app.command()
def delete(task_id: TaskId, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Delete a finished, failed or cancelled task with its history (a live one is cancelled, as in 0.3.8)."""
    with _client(url, token) as client:
        result = client.delete_task(task_id)
    if as_json:
        _print_json(result)
    elif result.get("data", {}).get("deleted"):
        console.print(f"task [bold]{task_id}[/]: deleted with its history")
    else:
        data = result.get("data", {})
        console.print(f"task [bold]{task_id}[/] was {data.get('status', '?')}: cancelled, not deleted "
                      "(delete it again once it is Cancelled)")


@app.command()
def update(task_id: TaskId,
           attachments: Annotated[str, typer.Argument(help="New attachments: a JSON object (or @file.json).",
                                                      show_default=False)],
           url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Replace a task's attachments; a running worker gets them live in its update handler."""
    values = parse_attachments(attachments)
    with _client(url, token) as client:
        result = client.update_attachments(task_id, values)
    if as_json:
        _print_json(result)
    else:
        console.print(f"task [bold]{task_id}[/]: attachments version {result['data'].get('attachmentsVersion')} "
                      "stored and sent to its worker")


def _watched(client: ControllerClient, task_ids: list[str], query: dict[str, Any]) -> list[dict[str, Any]]:
    if task_ids:
        return [client.get_task(task_id) for task_id in task_ids]
    return client.list_tasks(**query)["items"]


@app.command()
def watch(
    task_ids: Annotated[list[str] | None, typer.Argument(help="Tasks to follow until they end (default: the list).",
                                                         show_default=False)] = None,
    status: Status = None, class_name: ClassName = None,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=100)] = 20,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between refreshes.")] = 1.0,
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds.", show_default=False)] = None,
    url: Url = DEFAULT_URL, token: Token = None,
) -> None:
    """A live table of tasks. Given task ids, it ends once they all ended (Finished, Failed or Cancelled)."""
    ids = list(task_ids or [])
    query = {"pageSize": page_size, "lifecycleStatus": status_filter(status), "className": class_name}
    deadline = time.monotonic() + timeout if timeout else None
    title = f"Watching {', '.join(ids) if ids else 'tasks'} on {url} (Ctrl-C to stop)"
    with _client(url, token) as client:
        tasks = _watched(client, ids, query)
        try:
            table = tasks_table(tasks, title=title, width=console.width)
            with Live(table, console=console, auto_refresh=False) as live:
                while not (ids and all(task["lifecycleStatus"] in TERMINAL for task in tasks)):
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    time.sleep(interval)
                    tasks = _watched(client, ids, query)
                    live.update(tasks_table(tasks, title=title, width=console.width), refresh=True)
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None
    if ids and not all(task["lifecycleStatus"] in TERMINAL for task in tasks):
        raise CliError(f"stopped watching after {timeout}s; not ended yet: "
                       + ", ".join(t["id"] for t in tasks if t["lifecycleStatus"] not in TERMINAL),
                       "watch again, or raise --timeout", exit_code=EXIT_NOT_YET)
