"""Authentication and rate limits of the service routes, and the OpenAPI document's security scheme."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from rcm_shared.auth import SCOPE_KEY, AuthError, Verifier, required_scope
from rcm_shared.config import BaseServiceSettings
from rcm_shared.web.problems import ProblemError


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


def document_security(app: FastAPI, settings: BaseServiceSettings) -> None:
    """OpenAPI: the OAuth 2.0 client-credentials scheme, and on every service route the scope it requires."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        scopes: dict[str, str] = {}
        # The app's own routes (health, readiness) are open; every route of the service routers is
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
