"""The FastAPI application: routers, authentication, CORS, errors and Prometheus metrics."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

import skalds
from skalds.system_controller.api import checkpoints, classes, events, logs, node_actions, system, task_metrics, tasks
from skalds.system_controller.api import skalds as skalds_routes
from skalds.system_controller.api.body_limit import BodyLimit
from skalds.system_controller.api.context import ApiContext
from skalds.system_controller.api.dashboard import install_dashboard
from skalds.system_controller.api.openapi import install_openapi
from skalds.system_controller.api.security import require_read
from skalds.tasks.problems import PROBLEMS
from skalds.transport.errors import ServiceUnavailableError, service_of
from skalds.utils.logging import logger


def create_app(context: ApiContext) -> FastAPI:
    app = FastAPI(title="Skalds System Controller", version=skalds.__version__, docs_url="/api/docs",
                  redoc_url="/api/redoc", openapi_url="/api/openapi.json",
                  description="Create, watch and control long-running tasks on Skald nodes.")
    app.state.context = context
    origins = context.config.cors_origins()
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID"], allow_credentials=True)
    for router in (tasks.router, logs.router, checkpoints.router, classes.router, skalds_routes.router,
                   node_actions.router, system.router, events.router, task_metrics.router):
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=context.config.api_max_body_bytes)  # outermost: before anything
    _install_timing(app, context)
    _install_errors(app)

    @app.get("/", include_in_schema=False)
    def root() -> Any:
        if context.config.system_controller_mode == "CONTROLLER":
            return {"name": "Skalds SystemController", "version": skalds.__version__,
                    "mode": context.config.system_controller_mode, "status": "running",
                    "endpoints": {"api": "/api", "docs": "/api/docs", "dashboard": "/dashboard/"}}
        return RedirectResponse("/dashboard", status_code=302)

    @app.get("/api", tags=["system"])
    def api_index() -> dict[str, Any]:
        return {"name": "SystemController API", "version": "1.0.0",
                "endpoints": {"tasks": "/api/tasks", "skalds": "/api/skalds", "events": "/api/events",
                              "system": "/api/system"}}

    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        require_read(request, context)
        context.metrics.observe_problems(PROBLEMS)
        return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    install_dashboard(app, context)
    install_openapi(app, tokens_required=bool(context.config.admin_tokens() or context.config.read_tokens()))
    return app


def _install_timing(app: FastAPI, context: ApiContext) -> None:
    @app.middleware("http")
    async def timing(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        response.headers["X-Process-Time"] = f"{elapsed:.6f}"
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        context.metrics.request_duration.labels(request.method, path, str(response.status_code)).observe(elapsed)
        return response


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        body: dict[str, Any] = {"error": error.detail, "status_code": error.status_code, "path": request.url.path}
        if error.status_code == 404:  # 0.3.8 answered every 404 (route or resource) with these two
            body.update(message=f"The requested resource '{request.url.path}' was not found",
                        suggestion="Check the API documentation at /api/docs")
        return JSONResponse(status_code=error.status_code, content=body, headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(item.get("loc", ())), "msg": item.get("msg"), "type": item.get("type")}
                   for item in error.errors()]
        return JSONResponse(status_code=422, content={"detail": details})

    @app.exception_handler(ServiceUnavailableError)
    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        logger.warning(f"{request.method} {request.url.path}: {type(error).__name__}: {error}")
        return JSONResponse(status_code=503, headers={"Retry-After": "2"},
                            content={"error": "Service Unavailable",
                                     "message": f"{service_of(error)} did not answer in time; try again"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception(f"{request.method} {request.url.path} failed: {error}")
        return JSONResponse(status_code=500, content={"error": "Internal Server Error",
                                                      "message": "An unexpected error occurred", "detail": None})


__all__ = ["HTTPException", "create_app"]
