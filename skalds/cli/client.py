"""A small client of the controller's REST API that turns every failure into an actionable CliError."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from skalds.cli.errors import CliError

if TYPE_CHECKING:  # httpx is imported on first use: it alone doubles the start-up time of `skalds`
    import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
BASES = {"task": "/api/tasks", "node": "/api/skalds"}
LISTS = {"task": "skalds task list", "node": "skalds nodes"}  # where a person finds the ids of each kind


def default_url() -> str:
    return os.environ.get("SKALDS_URL") or DEFAULT_URL


def _detail(response: httpx.Response) -> str:
    """The API's own explanation (`error`, `message` or pydantic's `detail` list), else the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, list):
            return "; ".join(f"{'.'.join(str(p) for p in item.get('loc', []) if p != 'body')}: {item.get('msg')}"
                             for item in detail if isinstance(item, dict))
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return json.dumps(body)[:300]


class ControllerClient:
    def __init__(self, url: str, token: str | None = None, timeout: float = 15.0) -> None:
        self.url = url.rstrip("/")
        self.has_token = bool(token)
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ControllerClient:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def request(self, method: str, path: str, *, subject: tuple[str, str] | None = None, **kwargs: Any) -> Any:
        """`subject` ("task", id) names what a 404 means: that task (or node) does not exist."""
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.ConnectError as error:
            raise CliError(f"cannot reach the controller at {self.url} ({error})",
                           "start it with `skalds dev` or `skalds controller`, or point --url / SKALDS_URL at it"
                           ) from error
        except httpx.TimeoutException as error:
            raise CliError(f"the controller at {self.url} did not answer in time",
                           "check that it is running and that its services are up") from error
        except httpx.HTTPError as error:
            raise CliError(f"request to {self.url}{path} failed: {error}",
                           "check --url / SKALDS_URL") from error
        if response.status_code < 400:
            return response.json() if response.content else None
        self._raise(response, subject)

    def _raise(self, response: httpx.Response, subject: tuple[str, str] | None) -> None:
        status, detail = response.status_code, _detail(response)
        if status == 401 and not self.has_token:
            raise CliError(f"the controller at {self.url} needs a token ({detail})",
                           "pass it with --token or SKALDS_TOKEN (one of its API_ADMIN_TOKENS or API_READ_TOKENS)")
        if status == 401:
            raise CliError(f"the controller refused the token ({detail})",
                           "check --token / SKALDS_TOKEN against its API_ADMIN_TOKENS or API_READ_TOKENS")
        if status == 403:
            raise CliError(f"not allowed: {detail}", "use an admin token (API_ADMIN_TOKENS) to change tasks")
        if status == 404 and subject is not None:
            kind, name = subject
            raise CliError(f"{kind} {name!r} not found on {self.url}", f"list the {kind}s with `{LISTS[kind]}`")
        if status == 404:
            raise CliError(f"{self.url} has no {response.request.url.path} ({detail})",
                           "is --url / SKALDS_URL a Skalds controller?")
        if status == 409:
            raise CliError(f"conflict: {detail}", "check the task's status with `skalds task show`")
        if status in (400, 413, 422):
            raise CliError(f"the controller rejected the request: {detail}", "fix the arguments and try again")
        if status == 503:
            raise CliError(f"the controller's services are unavailable: {detail}", "try again once they are back")
        raise CliError(f"the controller answered {status}: {detail}", "see the controller's log")

    def listing(self, kind: str, **query: Any) -> dict[str, Any]:
        """A page of tasks or the nodes; None values are left out of the query."""
        return self.request("GET", BASES[kind], params={k: v for k, v in query.items() if v is not None})

    def one(self, kind: str, item_id: str, suffix: str = "", method: str = "GET", **kwargs: Any) -> Any:
        """A request about one task or node (`/api/tasks/ID...`, `/api/skalds/ID...`): a 404 names it."""
        return self.request(method, f"{BASES[kind]}/{quote(item_id, safe='')}{suffix}", subject=(kind, item_id),
                            **kwargs)

    # --- the task endpoints ------------------------------------------------------------------------
    def list_tasks(self, **query: Any) -> dict[str, Any]:
        return self.listing("task", **query)

    def get_task(self, task_id: str) -> dict[str, Any]:
        return self.one("task", task_id)

    def history(self, task_id: str) -> dict[str, Any]:
        return self.one("task", task_id, "/events")

    def create_task(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/tasks", json=body)

    def action(self, task_id: str, action: str) -> dict[str, Any]:
        return self.one("task", task_id, f"/{action}", "POST")

    def delete_task(self, task_id: str) -> dict[str, Any]:
        return self.one("task", task_id, method="DELETE")

    def update_attachments(self, task_id: str, attachments: dict[str, Any]) -> dict[str, Any]:
        return self.one("task", task_id, "/attachments", "PUT", json={"attachments": attachments})
