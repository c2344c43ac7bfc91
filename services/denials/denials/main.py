"""The denials API: `uvicorn --factory denials.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from rcm_shared.metrics import grouped
from rcm_shared.web import create_service_app

from denials.api import contracts, underpayments
from denials.api.routes import router
from denials.config import get_settings
from denials.models import bus, denial
from denials.use_cases.pricing import medicare_schedule


def create_app() -> FastAPI:
    settings = get_settings()
    app = create_service_app(
        settings,
        bus,
        title="RCM denials service",
        routers=[router, contracts.router, underpayments.router],
        domain_metrics=grouped(
            ("denials_by_status", denial, denial.c.status, None),
            ("denied_cents_by_status", denial, denial.c.status, denial.c.amount_cents),
        ),
    )
    # read at start: a contract paying a percent of Medicare is checked against it when entered
    app.state.medicare = medicare_schedule(settings)
    return app
