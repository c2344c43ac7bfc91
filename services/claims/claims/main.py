"""The claims API: `uvicorn --factory claims.main:create_app`."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from rcm_shared.fhir.surfaces import CLAIMS
from rcm_shared.metrics import grouped
from rcm_shared.web import create_service_app

from claims.adapters.scrub_resources import load_resources
from claims.api import charge_master, encounters, exchange, fhir, inbound, practice, reports
from claims.api import claims as claims_api
from claims.config import get_settings
from claims.domain import codesets
from claims.models import bus, claim


async def _startup(app: FastAPI) -> None:
    app.state.scrub = load_resources(app.state.settings)
    # the ICD-10-CM tables start loading now, off the loop, instead of in the first request that scrubs a
    # claim (a request arriving meanwhile waits for the load)
    app.state.icd_loading = asyncio.get_running_loop().run_in_executor(None, codesets.load_icd)


def create_app() -> FastAPI:
    return create_service_app(
        get_settings(),
        bus,
        title="RCM claims service",
        routers=[
            claims_api.router,
            charge_master.router,
            practice.router,
            exchange.router,
            reports.router,
            inbound.router,
            encounters.router,
            fhir.router,
        ],
        fhir=CLAIMS,
        on_startup=_startup,
        domain_metrics=grouped(
            ("claims_by_state", claim, claim.c.state, None),
            ("paid_cents_by_state", claim, claim.c.state, claim.c.paid_cents),
        ),
    )
