"""The denials API: `uvicorn --factory denials.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from rcm_shared.metrics import grouped
from rcm_shared.web import create_service_app

from denials.api.routes import router
from denials.config import get_settings
from denials.models import bus, denial


def create_app() -> FastAPI:
    return create_service_app(
        get_settings(),
        bus,
        title="RCM denials service",
        routers=[router],
        domain_metrics=grouped(
            ("denials_by_status", denial, denial.c.status, None),
            ("denied_cents_by_status", denial, denial.c.status, denial.c.amount_cents),
        ),
    )
