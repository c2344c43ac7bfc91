"""A check of a registered patient's coverage: the registration read from the claims API (claims keeps the EHR's
ADT), the inquiry made from it (``domain.registration``), and the check run as any other (``run_check``)."""

from __future__ import annotations

import logging

from rcm_shared.audit import AuditEntry
from rcm_shared.errors import NotFound
from rcm_shared.unit import Actor, Units

from eligibility.adapters.claims_api import ClaimsApiRefused, ClaimsApiUnavailable, Registrations
from eligibility.adapters.clearinghouses import Failover
from eligibility.config import EligibilitySettings
from eligibility.domain.registration import Registration, RegistrationCheckCreate, inquiry_from_registration
from eligibility.use_cases.checks import CheckResult, run_check

log = logging.getLogger(__name__)

MERGE_HOPS = 10  # how far a chain of A40 merges is followed (as claims follows them)


async def registration_of(registrations: Registrations, tenant: str, mrn: str) -> Registration:
    """The patient's registration; when an A40 merged it into another record, the surviving one's (its
    coverages are the ones the EHR keeps up to date). ``NotFound`` when the MRN is not registered."""
    seen = [mrn]
    try:
        found = await registrations.registration(tenant, mrn)
        while found is not None and found.merged_into and found.merged_into not in seen and len(seen) <= MERGE_HOPS:
            seen.append(found.merged_into)
            found = await registrations.registration(tenant, found.merged_into)
    except ClaimsApiRefused as exc:
        log.warning("claims API refused a registration", extra={"tenant_id": tenant, "status": exc.status})
        raise
    except ClaimsApiUnavailable as exc:
        log.warning("claims API unavailable for a registration", extra={"tenant_id": tenant, "cause": exc.cause})
        raise
    if found is None:
        merged = f" (MRN {mrn} was merged into MRN {seen[-1]})" if len(seen) > 1 else ""
        raise NotFound(
            f"no registration for MRN {seen[-1]}{merged}: the EHR's ADT has not been received",
            title="Not registered",
        )
    return found


async def check_registration(
    units: Units,
    tenant: str,
    actor: Actor,
    settings: EligibilitySettings,
    failover: Failover,
    registrations: Registrations,
    mrn: str,
    ask: RegistrationCheckCreate,
    audit: AuditEntry | None = None,
) -> CheckResult:
    """The check of the registered patient's coverage at ``ask.coverage``, made and answered as
    ``POST /v1/eligibility/checks`` makes and answers one (a recent answer reused, else a 270 out)."""
    registration = await registration_of(registrations, tenant, mrn)
    inquiry = inquiry_from_registration(registration, ask)
    return await run_check(units, tenant, actor, settings, failover, inquiry, audit)
