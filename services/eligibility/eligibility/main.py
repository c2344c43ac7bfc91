"""The eligibility API: `uvicorn --factory eligibility.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from rcm_shared.web import create_service_app

from eligibility.api.routes import router
from eligibility.config import get_settings
from eligibility.models import bus


def create_app() -> FastAPI:
    return create_service_app(get_settings(), bus, title="RCM eligibility service", routers=[router])
