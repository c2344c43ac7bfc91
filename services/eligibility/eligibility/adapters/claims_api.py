"""The claims service's API, asked for a patient's registration: claims keeps what the EHR's ADT registered
(demographics, coverages in IN1 order), and its events carry none of it (by policy), so a check by MRN asks
for it when it is made (``GET /v1/patients/{mrn}``, scope ``claims:read``).

The request goes on behalf of the caller of the check: its bearer token is passed on (a token names one
organization, so the caller's own is the one that may read this tenant's registrations), with the tenant in
``X-Tenant-ID`` (claims checks it against the token, or takes it with authentication off in development).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from eligibility.domain.registration import RegisteredCoverage, RegisteredPerson, Registration

SCOPE = "claims:read"
RETRY_AFTER_S = 5  # what a caller is told to wait when the claims API is down or slow
# An MRN is a segment of the request's path: these characters only, and not dots alone ("." and ".." are
# segments a URL resolves away, so the request would go to another path of the claims API). Claims keeps an
# MRN (PID-3) of up to 80 characters.
MRN_PATTERN = r"^[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*$"
MRN_MAX_LENGTH = 80
_MRN = re.compile(MRN_PATTERN)
_SECONDS = re.compile(r"^[0-9]{1,6}$")


def mrn_in_path(mrn: str) -> bool:
    """Whether the MRN can be asked for (``GET /v1/patients/{mrn}``) as it is."""
    return len(mrn) <= MRN_MAX_LENGTH and _MRN.fullmatch(mrn) is not None


class ClaimsApiRefused(Exception):
    """The claims API will not answer this caller (403): its token lacks ``claims:read``. (401, the token not
    accepted at all: ``ClaimsApiUntrusted``.)"""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(
            message
            or f"the claims API refused to give the patient's registration ({status}): the caller's token is "
            f"passed on, and it needs the scope {SCOPE}"
        )
        self.status = status


class ClaimsApiUntrusted(ClaimsApiRefused):
    """The claims API did not accept the token passed on (401): it does not trust this deployment's tokens (its
    audience or issuer configuration), or the request carried none. A fault between the two services'
    configurations, not the caller's: no scope would help."""

    def __init__(self, forwarded: bool) -> None:
        super().__init__(
            401,
            "the claims API did not accept the forwarded token (401): its authentication (audience, issuer) does "
            "not trust the tokens this service's callers present"
            if forwarded
            else "the claims API requires a token (401), and this request carried none to pass on",
        )


class ClaimsApiUnavailable(Exception):
    """The claims API could not answer now (unreachable, timed out, 5xx, 429): ask again later.
    ``retry_after``: seconds to wait; None when asking again will not help (no claims API configured)."""

    def __init__(self, reason: str, cause: str, retry_after: int | None = RETRY_AFTER_S) -> None:
        super().__init__(reason)
        self.cause = cause  # a code for the log line: timeout, connect, status, unconfigured
        self.retry_after = retry_after


class ClaimsApiError(Exception):
    """The claims API answered what this service cannot read (another 4xx, a body that is not a registration):
    a fault between the two services, not the caller's."""


class Registrations(Protocol):
    async def registration(self, tenant: str, mrn: str) -> Registration | None:
        """The patient's registration, None when the MRN is not registered. Raises ``ClaimsApiRefused``,
        ``ClaimsApiUntrusted``, ``ClaimsApiUnavailable``, ``ClaimsApiError``."""
        ...


@dataclass
class NoRegistrations:
    """No claims API configured (ELIGIBILITY_CLAIMS_URL empty): no registration can be read."""

    async def registration(self, tenant: str, mrn: str) -> Registration | None:
        raise ClaimsApiUnavailable(
            "no claims API is configured to read registrations from (ELIGIBILITY_CLAIMS_URL)",
            "unconfigured",
            retry_after=None,
        )


@dataclass
class ClaimsApiRegistrations:
    base_url: str
    authorization: str | None = None  # the caller's "Bearer ..." header, passed on
    timeout: float = 5.0
    transport: httpx.AsyncBaseTransport | None = None  # tests plug a transport in; production uses the network

    async def registration(self, tenant: str, mrn: str) -> Registration | None:
        if not mrn_in_path(mrn):  # the route refuses a caller's such MRN; this one is claims' (an A40's merge)
            raise ClaimsApiError("the claims API merged the record into an MRN that cannot be put in a URL path")
        headers = {"X-Tenant-ID": tenant, "Accept": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        async with httpx.AsyncClient(
            base_url=self.base_url.rstrip("/"), headers=headers, timeout=self.timeout, transport=self.transport
        ) as http:
            try:
                response = await http.get(f"/v1/patients/{quote(mrn, safe='')}")
            except httpx.TimeoutException:
                raise ClaimsApiUnavailable(
                    f"the claims API did not answer within {self.timeout:g} s", "timeout"
                ) from None
            except httpx.HTTPError as exc:
                raise ClaimsApiUnavailable(
                    f"the claims API could not be reached ({type(exc).__name__})", "connect"
                ) from None
        status = response.status_code
        if status == 401:
            raise ClaimsApiUntrusted(forwarded=bool(self.authorization))
        if status == 403:
            raise ClaimsApiRefused(status)
        if status == 404:
            return None
        if status == 429 or status >= 500:
            raise ClaimsApiUnavailable(f"the claims API answered {status}", "status", _retry_after(response))
        if status != 200:
            raise ClaimsApiError(f"the claims API answered {status} to the request for a registration")
        try:
            return registration_of(response.json())
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ClaimsApiError("the claims API answered something that is not a registration") from None


def _retry_after(response: httpx.Response) -> int:
    given = response.headers.get("retry-after", "").strip()
    # seconds only (an HTTP date is possible too): isdigit() would take "²", which int() refuses
    return int(given) if _SECONDS.fullmatch(given) else RETRY_AFTER_S


def _person(values: dict[str, Any]) -> RegisteredPerson:
    birth = values.get("birth_date")
    return RegisteredPerson(
        last_name=str(values["last_name"]),
        first_name=values.get("first_name"),
        middle_name=values.get("middle_name"),
        birth_date=date.fromisoformat(birth) if birth else None,
        sex=values.get("sex"),
    )


def registration_of(doc: dict[str, Any]) -> Registration:
    """The claims API's ``PatientRead`` as this service reads it. Raises ``ValueError``, ``KeyError`` or
    ``TypeError`` on a document of another shape."""
    coverages = tuple(
        RegisteredCoverage(
            position=int(c["position"]),
            payer_id=str(c["payer_id"]),
            payer_name=c.get("payer_name"),
            member_id=str(c["member_id"]),
            group_number=c.get("group_number"),
            relationship=str(c.get("relationship") or "18"),
            insured=_person(c["insured"]) if c.get("insured") else None,
        )
        for c in doc.get("coverages") or ()
    )
    return Registration(
        mrn=str(doc["mrn"]),
        patient=_person(doc["patient"]),
        coverages=coverages,
        merged_into=doc.get("merged_into"),
    )
