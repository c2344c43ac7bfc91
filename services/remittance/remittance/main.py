"""The remittance API: `uvicorn --factory remittance.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from rcm_shared.fhir.surfaces import REMITTANCE
from rcm_shared.metrics import grouped
from rcm_shared.web import create_service_app

from remittance.api import fhir, patients, routes
from remittance.config import get_settings
from remittance.models import bus, ledger_entry


def create_app() -> FastAPI:
    return create_service_app(
        get_settings(),
        bus,
        title="RCM remittance service",
        routers=[routes.router, patients.router, fhir.router],
        domain_metrics=grouped(("ledger_cents", ledger_entry, ledger_entry.c.entry_type, ledger_entry.c.amount_cents)),
        fhir=REMITTANCE,
    )
