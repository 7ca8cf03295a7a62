"""The error answers of the API, as the OpenAPI document declares them: which codes, with which bodies.

Every error body but 422's is `ErrorBody` (`error` always, the rest depending on where the error
came from); 422 is a request that does not validate (`ValidationErrorBody`) or content the task
store refuses (`ErrorBody`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    error: str
    status_code: int | None = None
    path: str | None = None
    message: str | None = None
    suggestion: str | None = None


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[ValidationIssue]


DESCRIPTIONS = {
    400: "Bad request: the body is not JSON, or a parameter is not one of its allowed values",
    401: "No token, or an unknown one (only when the controller has tokens: API_ADMIN_TOKENS, API_READ_TOKENS)",
    403: "The token is read-only; changing things needs an admin token",
    404: "No such resource",
    409: "The action does not fit the task's current state, or its stored document cannot be used",
    413: "The request body, or the task's attachments, are larger than the limit",
    422: "The request does not validate, or its content cannot be stored",
    503: "The task store or the live state did not answer in time; try again (Retry-After)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer these error codes."""
    return {code: {"model": ValidationErrorBody | ErrorBody if code == 422 else ErrorBody,
                   "description": DESCRIPTIONS[code]} for code in codes}


READ = errors(401, 503)  # a protected read
ADMIN = errors(401, 403, 503)  # a protected change
BODY = errors(400, 413, 422)  # a route that reads a JSON body
