"""FastAPI app factory shared by the services: health, readiness, problem details, correlation ids."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rcm_shared.apidocs import serve_docs
from rcm_shared.audit import AuditEntry, AuditWriter, audit_router
from rcm_shared.auth import SCOPE_KEY, AuthError, Principal, Verifier, required_scope
from rcm_shared.bus.tables import BusTables
from rcm_shared.bus.worker import consumer_ready
from rcm_shared.config import BaseServiceSettings
from rcm_shared.db import create_engine, database_unreachable, read_connection, session_factory
from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.ids import new_id
from rcm_shared.logging import configure_logging, correlation_id
from rcm_shared.metrics import HTTP_LATENCY, DomainHook, refresh, render
from rcm_shared.runtime import tune_gc
from rcm_shared.tracing import configure_tracing, instrument_app, shutdown_tracing
from rcm_shared.unit import Actor, Units

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TENANT_HEADER = "X-Tenant-ID"
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def tenant_of(request: Request) -> str:
    """The caller's organization. Every repository query is scoped by it.

    With authentication on it is the token's organization (an X-Tenant-ID header naming another one is
    refused); with it off (development and tests only) the header, else the default tenant.
    """
    settings: BaseServiceSettings = request.app.state.settings
    principal: Principal | None = getattr(request.state, "principal", None)
    header = request.headers.get(TENANT_HEADER)
    if principal is not None:
        if header and header != principal.tenant:
            raise ProblemError(403, "Forbidden", f"the token belongs to another organization than {header!r}")
        return principal.tenant
    tenant = header or settings.default_tenant
    if not _TENANT.match(tenant):
        raise ProblemError(400, "Invalid tenant", f"{TENANT_HEADER} must be 1-64 letters, digits, '.', '_' or '-'")
    return tenant


async def _tenant(request: Request) -> str:
    return tenant_of(request)


async def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def actor_of(request: Request) -> Actor:
    """Who acts: the token's client; without authentication (development and tests only) the X-Actor header,
    else "api". A header never overrides a token: a second person's approval must be a second token."""
    principal: Principal | None = getattr(request.state, "principal", None)
    name = principal.client_id if principal is not None else request.headers.get("X-Actor", "api")
    return Actor(name=name, correlation_id=correlation_id.get())


async def _actor(request: Request) -> Actor:
    return actor_of(request)


async def _units(request: Request) -> Units:
    units: Units = request.app.state.units
    return units


# Route dependencies. Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a
# thread hop per dependency per request.
TenantDep = Annotated[str, Depends(_tenant)]
EngineDep = Annotated[AsyncEngine, Depends(_engine)]
ActorDep = Annotated[Actor, Depends(_actor)]
UnitsDep = Annotated[Units, Depends(_units)]


def _verifier(request: Request) -> Verifier:
    verifier: Verifier | None = getattr(request.app.state, "verifier", None)
    if verifier is None:
        verifier = request.app.state.verifier = Verifier(request.app.state.settings.auth)
    return verifier


class RateLimiter:
    """A token bucket per caller (the token's client; before authentication, the remote address)."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(10.0, per_minute / 4)
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, at = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self.buckets[key] = (tokens - 1, now)
        if len(self.buckets) > 100_000:  # forget idle callers rather than grow without bound
            self.buckets.clear()
        return 0.0


def _limit(request: Request, key: str) -> None:
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        limiter = request.app.state.rate_limiter = RateLimiter(request.app.state.settings.rate_limit_per_minute)
    wait = limiter.take(key)
    if wait:
        raise ProblemError(
            429, "Too Many Requests", "rate limit reached for this client", headers={"Retry-After": str(int(wait) + 1)}
        )


async def authorize(request: Request) -> None:
    """Every service route: a valid bearer token carrying the scope the route requires, within the
    caller's rate limit (callers without a valid token are limited by address)."""
    settings: BaseServiceSettings = request.app.state.settings
    if settings.auth.mode == "off":
        return
    address = f"addr:{request.client.host if request.client else '-'}"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="rcm"'}
    if scheme.lower() != "bearer" or not token.strip():
        _limit(request, address)
        raise ProblemError(
            401, "Unauthorized", "a bearer token is required (Authorization: Bearer ...)", headers=challenge
        )
    try:
        principal = await _verifier(request).averify(token.strip())
    except AuthError as exc:
        _limit(request, address)
        raise ProblemError(exc.status, "Unauthorized", exc.detail, headers=challenge) from None
    _limit(request, f"client:{principal.client_id}")
    route = request.scope.get("route")
    scope = required_scope(
        settings.service_name, settings.scope_for_writes(), request.method, getattr(route, "openapi_extra", None)
    )
    if scope not in principal.scopes:
        raise ProblemError(403, "Forbidden", f"this route requires the scope {scope!r}", required_scope=scope)
    request.state.principal = principal


CORRELATION_HEADER = "X-Correlation-ID"


class ProblemError(Exception):
    """An error the caller can act on, rendered as an RFC 9457 problem detail."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.headers = headers or {}
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.extra = extra


def _where(scope: Scope) -> dict[str, Any]:
    """The request's method and route template for a log line: the template, not the path, so that what a
    caller put in the path or the query never reaches the log."""
    route = scope.get("route")
    return {"method": scope.get("method"), "route": getattr(route, "path", None) or "unmatched"}


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    cid = correlation_id.get()
    if cid:
        body["correlation_id"] = cid
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_req: Request, exc: ProblemError) -> JSONResponse:
        response = problem(exc.status, exc.title, exc.detail, exc.type, **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(NotFound)
    async def _not_found(_req: Request, exc: NotFound) -> JSONResponse:
        return problem(404, exc.title, str(exc), **exc.extra)

    @app.exception_handler(Conflict)
    async def _conflict(_req: Request, exc: Conflict) -> JSONResponse:
        return problem(409, exc.title, str(exc), **exc.extra)

    @app.exception_handler(Invalid)
    async def _invalid(_req: Request, exc: Invalid) -> JSONResponse:
        return problem(422, exc.title, str(exc), **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return problem(422, "Invalid request", "the request did not validate; see errors", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, _reason(exc.status_code), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unhandled(req: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback of places (rcm_shared.logging: no message, no values); the caller gets no internals.
        if database_unreachable(exc):  # a restart, a failover, a cut connection: the caller may retry
            log.warning("database unreachable", extra=_where(req.scope), exc_info=exc)
            response = problem(503, "Service Unavailable", DATABASE_UNREACHABLE)
            response.headers["Retry-After"] = "2"
            return response
        log.error("unhandled error", extra=_where(req.scope), exc_info=exc)
        return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")


DATABASE_UNREACHABLE = (
    "the service could not reach its database, or lost its connection to it, while answering; retry shortly. "
    "A write whose connection was lost as it committed may have been applied: look it up before sending it "
    "again, or send it again with the same Idempotency-Key where the route takes one"
)


class BodyLimit:
    """Request bodies above the service's limit get 413, whether they declare their length or stream."""

    def __init__(self, app: ASGIApp, limit_mb: int) -> None:
        self.app = app
        self.limit_mb = limit_mb
        self.limit = limit_mb * 1024 * 1024

    def _too_large(self) -> ProblemError:
        return ProblemError(413, "Content Too Large", f"request bodies are limited to {self.limit_mb} MB")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            exc = self._too_large()
            await problem(exc.status, exc.title, exc.detail)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise self._too_large()  # rendered by the ProblemError handler
            return message

        await self.app(scope, counted, send)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


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
    _install_problem_handlers(app)
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

    audit = tables.outbox.metadata.tables.get("audit_event")
    if audit is not None:
        routers = [*routers, audit_router(audit)]
        _install_audit(app)
    for router in routers:
        app.include_router(router, dependencies=[Depends(authorize)])
    _document_security(app, settings)
    return app


def _install_audit(app: FastAPI) -> None:
    """Every request a service route answers leaves an audit row; no row, no answer (503)."""
    own = {route.path for route in app.routes if isinstance(route, APIRoute)}
    app.add_middleware(AuditTrail, own_routes=own)


class RequestContext:
    """Correlation id (taken from the request or made, and returned), request timeout (504), latency metric.

    Plain ASGI (so are the other middlewares here): Starlette's ``BaseHTTPMiddleware`` runs each request
    through a task group and memory streams, and two of them left reference cycles of ~80 objects per
    request for the garbage collector, whose pauses were the p99 of a cached eligibility answer.
    """

    def __init__(self, app: ASGIApp, settings: BaseServiceSettings) -> None:
        self.app = app
        self.settings = settings
        self._header = CORRELATION_HEADER.lower().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == self._header), b"").decode("latin-1")
        cid = (given or new_id())[:100]
        token = correlation_id.set(cid)
        started = time.perf_counter()
        status = 500
        sent_start = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (self._header, cid.encode("latin-1"))]
                await send(message)
                # only once handed on: the audit trail outside holds the start until the request's row is
                # written, and a timeout meanwhile must still answer (504), not leave the client with nothing
                sent_start = True
                return
            await send(message)

        timeout = self.settings.request_timeout_s
        try:
            async with asyncio.timeout(timeout):
                await self.app(scope, receive, send_with_id)
        except TimeoutError:
            log.warning("request timed out", extra={"timeout_s": timeout, **_where(scope)})
            if not sent_start:
                await problem(504, "Gateway Timeout", f"the request took longer than {timeout} s")(
                    scope, receive, send_with_id
                )
        finally:
            correlation_id.reset(token)
            route = scope.get("route")
            HTTP_LATENCY.labels(
                self.settings.service_name, scope["method"], getattr(route, "path", "unmatched"), str(status)
            ).observe(time.perf_counter() - started)


AUDITED = "audited_status"
_TENANT_KEY = TENANT_HEADER.lower().encode()


def _audit_entry(scope: Scope, route: APIRoute, status: int, request_id: str | None) -> AuditEntry:
    principal: Principal | None = (scope.get("state") or {}).get("principal")
    settings: BaseServiceSettings = scope["app"].state.settings
    header = next((v for k, v in scope["headers"] if k == _TENANT_KEY), b"").decode("latin-1")
    tenant = principal.tenant if principal else header if _TENANT.match(header) else settings.default_tenant
    params = scope.get("path_params") or {}
    return AuditEntry(
        tenant_id=tenant,
        actor=principal.client_id if principal else "anonymous",
        method=scope["method"],
        resource=route.path,
        resource_id="/".join(str(v) for v in params.values()) or None,
        status=status,
        request_id=request_id,
    )


def audit_entry(request: Request, status: int) -> AuditEntry:
    """This request's audit row as the audit trail writes it when an answer with ``status`` starts, for a
    route that commits it in the transaction of its own rows (one commit instead of two, each waiting for
    the disk). Once that has committed the route calls ``audited(request, status)``: the trail then writes
    no second row for an answer with that status (one with another status, a 500 say, still gets its own)."""
    route = request.scope.get("route")
    assert isinstance(route, APIRoute), "audit_entry is for the routes of a service"
    return _audit_entry(request.scope, route, status, correlation_id.get())


def audited(request: Request, status: int) -> None:
    """The row ``audit_entry(request, status)`` made is committed."""
    setattr(request.state, AUDITED, status)


class AuditTrail:
    """Writes the request's audit row when its answer starts, before anything of the answer is sent; if
    the row cannot be written the caller gets 503 instead of the answer."""

    def __init__(self, app: ASGIApp, own_routes: set[str]) -> None:
        self.app = app
        self.own = own_routes
        self._correlation = CORRELATION_HEADER.lower().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = False

        async def audited_send(message: Message) -> None:
            nonlocal refused
            if refused:  # the answer the audit trail could not record is dropped
                return
            if message["type"] == "http.response.start" and not await self._record(scope, message):
                refused = True
                await problem(503, "Service Unavailable", "the audit trail could not record this request; retry later")(
                    scope, receive, send
                )
                return
            await send(message)

        await self.app(scope, receive, audited_send)

    async def _record(self, scope: Scope, start: Message) -> bool:
        route = scope.get("route")
        if not isinstance(route, APIRoute) or route.path in self.own:
            return True
        if (scope.get("state") or {}).get(AUDITED) == start["status"]:
            return True  # the route committed this answer's row with its own rows (``audit_entry``)
        app = scope["app"]
        request_id = next((v for k, v in start.get("headers", ()) if k == self._correlation), None)
        entry = _audit_entry(scope, route, start["status"], request_id.decode("latin-1") if request_id else None)
        try:
            await app.state.audit_writer.append(entry)
        except Exception:
            log.error("audit trail write failed", extra=_where(scope), exc_info=True)
            return False
        return True


def _document_security(app: FastAPI, settings: BaseServiceSettings) -> None:
    """OpenAPI: the OAuth 2.0 client-credentials scheme, and on every service route the scope it requires."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        scopes: dict[str, str] = {}
        # The app's own routes (health, readiness) are open; every route of the service routers was
        # included behind `authorize`, so every other operation requires its scope.
        own = {route.path for route in app.routes if isinstance(route, APIRoute)}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if path in own:
                    continue
                scope = required_scope(settings.service_name, settings.scope_for_writes(), method, operation)
                operation["security"] = [{"oauth2": [scope]}]
                operation[SCOPE_KEY] = scope
                scopes[scope] = scope
        schema.setdefault("components", {})["securitySchemes"] = {
            "oauth2": {
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": settings.auth.token_url, "scopes": scopes}},
            }
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
