"""The eligibility API: `uvicorn --factory eligibility.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from rcm_shared.fhir.surfaces import ELIGIBILITY
from rcm_shared.metrics import grouped
from rcm_shared.web import create_service_app

from eligibility.adapters.clearinghouses import Failover, HttpAdapter
from eligibility.api.compat import router as compat_router
from eligibility.api.fhir import router as fhir_router
from eligibility.api.routes import router
from eligibility.config import get_settings
from eligibility.models import bus, eligibility_check


async def _startup(app: FastAPI) -> None:
    s = app.state.settings
    app.state.batch_tasks = set()
    app.state.failover = Failover(
        [HttpAdapter(name, url, s.adapter_timeout_s, s.adapter_retries) for name, url in s.adapters.items()]
    )


async def _shutdown(app: FastAPI) -> None:
    await app.state.failover.aclose()


def create_app() -> FastAPI:
    return create_service_app(
        get_settings(),
        bus,
        title="RCM eligibility service",
        routers=[router, compat_router, fhir_router],
        on_startup=_startup,
        on_shutdown=_shutdown,
        domain_metrics=grouped(("checks_by_status", eligibility_check, eligibility_check.c.status, None)),
        fhir=ELIGIBILITY,
    )
