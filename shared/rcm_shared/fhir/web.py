"""A service's FHIR base: `[base]/metadata` and SMART discovery (open: FHIR clients read them before they
hold a token), the public base URL entries and links are made of, and the JSON-only rule of its routes."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request

from rcm_shared.auth import smart_configuration
from rcm_shared.fhir.capability import Surface, capability_statement
from rcm_shared.fhir.resources import FhirResponse, check_format
from rcm_shared.fhir.surfaces import PLATFORM

BASE_PATH = "/fhir/R4"
# Behind the one base (deploy/base/gateway) this service answers the base's open routes, for every type.
FRONT = "claims"


def fhir_base(request: Request) -> str:
    """The base URL clients reach this service's FHIR API at: `FHIR_BASE_URL`-style setting when the
    service sits behind the one Ingress base, else the URL the request came to."""
    configured: str = request.app.state.settings.fhir_base_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/") + BASE_PATH


def is_fhir_path(path: str) -> bool:
    return path == BASE_PATH or path.startswith(BASE_PATH + "/")


def install_fhir(app: FastAPI, surface: Surface) -> None:
    """The open routes of the service's FHIR base."""

    @app.get(
        f"{BASE_PATH}/metadata",
        tags=["fhir"],
        summary=f"CapabilityStatement of the {surface.service} FHIR API",
        response_class=FhirResponse,
        dependencies=[Depends(check_format)],
    )
    async def metadata(request: Request) -> FhirResponse:
        settings = request.app.state.settings
        # Behind the one base (FHIR_BASE_URL set) this statement is the base's: it lists every service's types.
        served = PLATFORM if settings.fhir_base_url else surface
        return FhirResponse(capability_statement(served, fhir_base(request), settings.auth.token_url, app.version))

    @app.get(
        f"{BASE_PATH}/.well-known/smart-configuration",
        tags=["fhir"],
        summary="SMART discovery: the token endpoint and how clients authenticate to it (Backend Services)",
    )
    async def smart(request: Request) -> dict[str, Any]:
        return smart_configuration(request.app.state.settings.auth)
