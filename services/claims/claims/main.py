"""The claims API: `uvicorn --factory claims.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from rcm_shared.metrics import grouped
from rcm_shared.web import create_service_app

from claims.api.routes import router
from claims.config import get_settings
from claims.models import bus, claim
from claims.resources import load_resources


async def _startup(app: FastAPI) -> None:
    app.state.scrub = load_resources(app.state.settings)


def create_app() -> FastAPI:
    return create_service_app(
        get_settings(),
        bus,
        title="RCM claims service",
        routers=[router],
        on_startup=_startup,
        domain_metrics=grouped(
            ("claims_by_state", claim, claim.c.state, None),
            ("paid_cents_by_state", claim, claim.c.state, claim.c.paid_cents),
        ),
    )
