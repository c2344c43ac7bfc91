"""The audit trail: a row for every answer of a service route, written before the answer is sent."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rcm_shared.audit import AuditEntry
from rcm_shared.auth import Principal
from rcm_shared.config import BaseServiceSettings
from rcm_shared.logging import correlation_id
from rcm_shared.web.dependencies import TENANT_HEADER, TENANT_PATTERN
from rcm_shared.web.middleware import CORRELATION_HEADER
from rcm_shared.web.problems import answer, where

log = logging.getLogger(__package__)  # the web package's one logger

AUDITED = "audited_status"


_TENANT_KEY = TENANT_HEADER.lower().encode()


def _audit_entry(scope: Scope, route: APIRoute, status: int, request_id: str | None) -> AuditEntry:
    principal: Principal | None = (scope.get("state") or {}).get("principal")
    settings: BaseServiceSettings = scope["app"].state.settings
    header = next((v for k, v in scope["headers"] if k == _TENANT_KEY), b"").decode("latin-1")
    tenant = principal.tenant if principal else header if TENANT_PATTERN.match(header) else settings.default_tenant
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
                unrecorded = "the audit trail could not record this request; retry later"
                await answer(scope["path"], 503, "Service Unavailable", unrecorded)(scope, receive, send)
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
            log.error("audit trail write failed", extra=where(scope), exc_info=True)
            return False
        return True


def install_audit_trail(app: FastAPI) -> None:
    """Every request a service route answers leaves an audit row; no row, no answer (503)."""
    own = {route.path for route in app.routes if isinstance(route, APIRoute)}
    app.add_middleware(AuditTrail, own_routes=own)
