"""Route dependencies of the eligibility API besides the common ones (``rcm_shared.web``): where checks by MRN
read the patient's registration."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from eligibility.adapters.claims_api import ClaimsApiRegistrations, NoRegistrations, Registrations
from eligibility.config import EligibilitySettings


def claims_transport() -> httpx.AsyncBaseTransport | None:
    """How the claims API is reached: the network (None); tests put a transport of their own in its place."""
    return None


async def registrations(
    request: Request, transport: Annotated[httpx.AsyncBaseTransport | None, Depends(claims_transport)]
) -> Registrations:
    """The claims API, asked on behalf of this request's caller (its bearer token passed on)."""
    settings: EligibilitySettings = request.app.state.settings
    url = settings.claims_api_url()
    if not url:
        return NoRegistrations()
    return ClaimsApiRegistrations(
        url, request.headers.get("authorization"), timeout=settings.claims_timeout_s, transport=transport
    )


RegistrationsDep = Annotated[Registrations, Depends(registrations)]
