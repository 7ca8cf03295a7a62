"""The options every client command shares: which controller, which token, JSON or a table."""

from __future__ import annotations

from typing import Annotated

import typer

Url = Annotated[str, typer.Option("--url", envvar="SKALDS_URL", help="Controller URL (env SKALDS_URL).")]
Token = Annotated[str | None, typer.Option("--token", envvar="SKALDS_TOKEN", show_default=False,
                                           help="Bearer token (env SKALDS_TOKEN), if the API needs one.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")]
