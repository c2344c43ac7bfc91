"""The app a service serves: its routers behind authentication, health and readiness probes, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from rcm_shared.apidocs import serve_docs
from rcm_shared.audit import AuditWriter, audit_router
from rcm_shared.bus.tables import BusTables
from rcm_shared.bus.worker import consumer_ready
from rcm_shared.config import BaseServiceSettings
from rcm_shared.db import create_engine, read_connection, session_factory
from rcm_shared.fhir.capability import Surface
from rcm_shared.fhir.web import install_fhir
from rcm_shared.logging import configure_logging
from rcm_shared.metrics import DomainHook, refresh, render
from rcm_shared.runtime import tune_gc
from rcm_shared.tracing import configure_tracing, instrument_app, shutdown_tracing
from rcm_shared.unit import Units
from rcm_shared.web.audit_trail import install_audit_trail
from rcm_shared.web.middleware import BodyLimit, RequestContext
from rcm_shared.web.problems import document_problems, install_problem_handlers
from rcm_shared.web.security import authorize, document_security


def create_service_app(
    settings: BaseServiceSettings,
    tables: BusTables,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    description: str = "",
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
    domain_metrics: DomainHook | None = None,
    fhir: Surface | None = None,
) -> FastAPI:
    """The app a service serves: its routers plus /healthz and /readyz, problem details, JSON logs."""
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    configure_tracing(settings.service_name, "api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, schema=settings.db_schema, pool_size=settings.db_pool_size)
        app.state.engine = engine
        app.state.units = Units.of_service(settings, tables, engine)
        app.state.sessions = session_factory(engine)
        app.state.settings = settings
        audit = tables.outbox.metadata.tables.get("audit_event")
        app.state.audit_writer = AuditWriter(engine, audit) if audit is not None else None
        if on_startup is not None:
            await on_startup(app)
        tune_gc(settings.gc_gen0_threshold)
        try:
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown(app)
            if app.state.audit_writer is not None:
                await app.state.audit_writer.close()
            await engine.dispose()
            shutdown_tracing()

    # The interactive docs and the OpenAPI document are served in development and test; elsewhere only
    # the probes and /metrics are open, so they are off (publish the OpenAPI from `rcm contracts`/CI).
    docs = settings.environment.value in ("development", "test")
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by serve_docs, with their assets: FastAPI's own pages load them from a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    if docs:
        serve_docs(app)
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, limit_mb=settings.max_body_mb)
    instrument_app(app)

    app.add_middleware(RequestContext, settings=settings)

    @app.get(
        "/metrics", tags=["health"], summary="Prometheus metrics of this API process", response_class=PlainTextResponse
    )
    async def metrics(request: Request) -> Response:
        await refresh(request.app.state.engine, tables, settings.service_name, domain_metrics)
        body, content_type = render()
        return Response(body, media_type=content_type)

    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get("/readyz", tags=["health"], summary="Readiness: database, broker and consumer")
    async def readyz(request: Request) -> JSONResponse:
        engine: AsyncEngine = request.app.state.engine
        checks: dict[str, str] = {}
        ok = True
        try:
            async with read_connection(engine) as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            ok = False
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if checks["database"] == "ok":
            try:
                ready, why = await consumer_ready(engine, tables)
            except Exception as exc:  # noqa: BLE001 - e.g. migrations not run yet
                ready, why = False, f"cannot read worker heartbeats: {type(exc).__name__}"
            ok = ok and ready
            checks["worker"] = why
        body = {"status": "ready" if ok else "not ready", "service": settings.service_name, "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    if fhir is not None:
        install_fhir(app, fhir)
    audit = tables.outbox.metadata.tables.get("audit_event")
    if audit is not None:
        routers = [*routers, audit_router(audit)]
        install_audit_trail(app)
    for router in routers:
        app.include_router(router, dependencies=[Depends(authorize)])
    document_security(app, settings)
    document_problems(app)
    return app
