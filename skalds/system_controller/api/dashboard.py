"""Serves the dashboard (`/dashboard`, `/dashboard/assets/*`) and the two endpoints only it needs.

`/api/dashboard/session` tells the page whether a token is needed and what the presented one may do,
without a 401 (a failed request is a console error in the browser); `/api/dashboard/timeline` gives
the overview chart its history. The assets are static files shipped in the package (no build step,
see `skalds.system_controller.dashboard`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

import skalds
from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.responses import READ, errors
from skalds.system_controller.api.security import require_read, role_of
from skalds.system_controller.dashboard import ASSETS_DIR, INDEX_HTML

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])
Context = Annotated[ApiContext, Depends(get_context)]

# Everything the page loads comes from this origin; no inline script or style attribute is needed.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
PAGE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class RevalidatedStaticFiles(StaticFiles):
    """Assets have no content hash in their names, so browsers must revalidate them (ETag, 304)."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@router.get("/session")
def session(request: Request, context: Context) -> dict[str, Any]:
    """Open on purpose: says only whether a token is required and what the presented token may do."""
    required = bool(context.config.admin_tokens() or context.config.read_tokens())
    try:
        role, problem = role_of(request, context), None
    except HTTPException as error:
        role, problem = None, str(error.detail)
    return {"authRequired": required, "role": role, "error": problem,
            "mode": context.config.system_controller_mode, "version": skalds.__version__,
            "monitoring": context.monitor is not None}


@router.get("/timeline", dependencies=[Depends(require_read)], responses={**READ, **errors(422)})
def timeline(request: Request, since: Annotated[int, Query(ge=0, description="only samples after this ms")] = 0
             ) -> dict[str, Any]:
    """Task counts by status every few seconds (the last hour), and assignment/finish/failure rates."""
    return request.app.state.dashboard_timeline.snapshot(since)


def install_dashboard(app: FastAPI, context: ApiContext) -> None:
    """Routes, static assets, and the timeline sampler tied to the application's lifespan."""
    app.include_router(router)
    app.state.dashboard_timeline = context.timeline
    app.mount("/dashboard/assets", RevalidatedStaticFiles(directory=ASSETS_DIR), name="dashboard-assets")

    @app.get("/dashboard/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(INDEX_HTML, media_type="text/html", headers=PAGE_HEADERS)

    @app.get("/dashboard", include_in_schema=False)
    def index_without_slash() -> RedirectResponse:
        return RedirectResponse("/dashboard/", status_code=307)

    @app.get("/dashboard/{path:path}", include_in_schema=False)
    def deep_link(path: str) -> RedirectResponse:
        """0.3.8's page paths (`/dashboard/tasks`) open the same view; the page routes by `#/...`."""
        return RedirectResponse(f"/dashboard/#/{path.strip('/')}", status_code=307)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        application.state.dashboard_timeline.start()
        try:
            async with inner(application) as state:
                yield state
        finally:
            application.state.dashboard_timeline.stop()

    app.router.lifespan_context = lifespan
