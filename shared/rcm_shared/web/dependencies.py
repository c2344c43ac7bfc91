"""Route dependencies: the caller's tenant and actor, the service's engine and unit-of-work factory."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from rcm_shared.auth import Principal
from rcm_shared.config import BaseServiceSettings
from rcm_shared.logging import correlation_id
from rcm_shared.unit import Actor, Units
from rcm_shared.web.problems import ProblemError

TENANT_HEADER = "X-Tenant-ID"


TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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
    if not TENANT_PATTERN.match(tenant):
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
