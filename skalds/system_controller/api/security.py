"""Bearer-token authentication: admin tokens may change things, read tokens may only look.

Tokens may also come as `?token=` because browsers' EventSource cannot set headers.
With no token configured the API is open (the controller refuses to start that way on
a non-loopback address unless told explicitly to run open).
"""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from skalds.system_controller.api.context import ApiContext, get_context

READ, ADMIN = "read", "admin"
# Declares the scheme in the OpenAPI document (and on every route that depends on it); the token is
# read by `role_of`, which also takes `?token=`.
BEARER = HTTPBearer(scheme_name="bearerAuth", auto_error=False,
                    description="An admin or read token (API_ADMIN_TOKENS, API_READ_TOKENS); `?token=` works too")
Credentials = HTTPAuthorizationCredentials | None


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token")


def _matches(token: str, allowed: set[str]) -> bool:
    return any(hmac.compare_digest(token, candidate) for candidate in allowed)


def role_of(request: Request, context: ApiContext) -> str:
    admin, read = context.config.admin_tokens(), context.config.read_tokens()
    if not admin and not read:
        return ADMIN
    token = _presented_token(request)
    if not token:
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    if _matches(token, admin):
        return ADMIN
    if _matches(token, read):
        return READ
    raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})


def require_read(request: Request, context: ApiContext = Depends(get_context),
                 _: Credentials = Depends(BEARER)) -> str:
    return role_of(request, context)


def require_admin(request: Request, context: ApiContext = Depends(get_context),
                  _: Credentials = Depends(BEARER)) -> str:
    role = role_of(request, context)
    if role != ADMIN:
        raise HTTPException(403, "this token is read-only; an admin token is needed to change tasks")
    return role
