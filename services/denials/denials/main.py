"""The denials API: `uvicorn --factory denials.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from rcm_shared.web import create_service_app

from denials.api.routes import router
from denials.config import get_settings
from denials.models import bus


def create_app() -> FastAPI:
    return create_service_app(get_settings(), bus, title="RCM denials service", routers=[router])
