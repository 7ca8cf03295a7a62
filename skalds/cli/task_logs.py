"""`skalds task logs ID [-f]`: a task's log lines from the controller, and a live follow over its SSE stream."""

from __future__ import annotations

import datetime
import json
import time
from typing import Annotated, Any
from urllib.parse import quote

import typer

from skalds.cli.client import DEFAULT_URL, ControllerClient
from skalds.cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, CliError
from skalds.cli.options import AsJson, Token, Url
from skalds.model.log_levels import known_level
from skalds.utils.logging import printable

FOLLOW_READ_SECONDS = 45.0  # the server sends a keep-alive every 15 s: silence this long is a dead link


def format_line(line: dict[str, Any]) -> str:
    """`12:03:04.567 WARNING  #2 text`: time (local), level, attempt, text."""
    when = datetime.datetime.fromtimestamp(line.get("ts", 0) / 1000).strftime("%H:%M:%S.%f")[:-3]
    return f"{when} {line.get('level', ''):<8} #{line.get('attempt', '?')} {printable(str(line.get('text', '')))}"


def _emit(line: dict[str, Any], as_json: bool) -> None:
    typer.echo(json.dumps(line, ensure_ascii=False) if as_json else format_line(line))


def _follow(client: ControllerClient, task_id: str, params: dict[str, Any], as_json: bool) -> None:
    """Print the stream's lines as they come; reconnect after the last id if the connection drops."""
    import httpx

    last_id: str | None = None
    while True:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            with client.http.stream("GET", f"/api/tasks/{quote(task_id, safe='')}/logs/stream", params=params,
                                    headers=headers, timeout=httpx.Timeout(30, read=FOLLOW_READ_SECONDS)) as response:
                if response.status_code >= 400:
                    response.read()
                    client._raise(response, ("task", task_id))
                for row in response.iter_lines():
                    if row.startswith("data: "):
                        line = json.loads(row[6:])
                        last_id = line.get("id") or last_id
                        _emit(line, as_json)
        except httpx.TransportError as error:
            if last_id is None:
                raise CliError(f"cannot follow the logs at {client.url} ({error})",
                               "check that the controller runs (--url / SKALDS_URL)") from error
            time.sleep(1.0)  # dropped after some lines: resume after the last one


def logs(
    task_id: Annotated[str, typer.Argument(help="The task's id.", show_default=False)],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines (Ctrl-C stops).")] = False,
    attempt: Annotated[int | None, typer.Option("--attempt", min=0, help="Only this attempt.", show_default=False)]
    = None,
    level: Annotated[str | None, typer.Option("--level", help="This level and above (debug, info, warning, "
                                              "error...).", show_default=False)] = None,
    grep: Annotated[str | None, typer.Option("--grep", help="Only lines containing this text (any case).",
                                             show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=5000, help="The last this many lines.")] = 500,
    url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False,
) -> None:
    """A task's log: its workers' logger lines and output, every attempt, oldest first."""
    if level is not None and known_level(level) is None:
        raise CliError(f"unknown level {level!r}", "use trace, debug, info, success, warning, error or critical",
                       exit_code=EXIT_USAGE)
    wanted = known_level(level) if level is not None else None  # the server's name for it ("Warning" -> WARNING)
    params = {key: value for key, value in (("attempt", attempt), ("level", wanted), ("q", grep), ("limit", limit))
              if value is not None}
    with ControllerClient(url, token) as client:
        if follow:
            try:
                _follow(client, task_id, params, as_json)
            except KeyboardInterrupt:
                raise typer.Exit(EXIT_INTERRUPTED) from None
            return
        page = client.one("task", task_id, "/logs", params=params)
        for line in page["lines"]:
            _emit(line, as_json)
