"""Each tenant's practice as the claims service announces it (``practice.changed``), and the provider a check's
270 names: the request's, else the billing provider of the tenant's practice in effect on the date of service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from rcm_shared.errors import Invalid
from rcm_shared.payloads.claims import PracticeChangedV1
from rcm_shared.unit import Unit

from eligibility.domain.inquiry import CheckCreate, Provider, practice_provider
from eligibility.repository import EligibilityRepository

log = logging.getLogger(__name__)

NO_PROVIDER = (
    "the request names no provider and the organization has no practice profile yet: send `provider` (npi, name), "
    "or set the organization's billing provider in its practice profile (claims service) first"
)


async def record_practice(unit: Unit, event: PracticeChangedV1, event_id: str) -> bool:
    """Stores a version of the unit's tenant's practice newer than every one stored; an older version arriving
    late, or one stored already, changes nothing. True when stored. Raises ``Invalid`` for a profile of another
    tenant than the event's, or a billing provider no 270 can name."""
    if event.tenant_id != unit.tenant:
        # The envelope's tenant scopes everything this service stores: a profile naming another is never applied.
        raise Invalid(f"practice.changed of tenant {unit.tenant} carries the profile of tenant {event.tenant_id}")
    repo = EligibilityRepository(unit)
    newest = await repo.newest_practice_version()
    if newest is not None and event.version <= newest:
        log.info("practice profile not newer than the one stored: ignored", extra={"tenant_id": unit.tenant})
        return False
    p = event.billing_provider
    try:
        provider = practice_provider(p.npi, p.name, p.first_name, is_person=p.is_person)
    except ValueError as exc:
        raise Invalid(f"practice version {event.version} of tenant {unit.tenant}: {exc}") from None
    await repo.add_practice_profile(
        {
            "version": event.version,
            "effective_from": event.effective_from,
            "provider_npi": provider.npi,
            "provider_name": provider.name,
            "provider_first_name": provider.first_name,
            "provider_is_person": provider.is_person,
            "event_id": event_id,
            "received_at": datetime.now(UTC),
        }
    )
    return True


async def provider_for(unit: Unit, body: CheckCreate) -> Provider:
    """The information receiver (2100B) of the check's 270: the provider the request names, else the billing
    provider of the tenant's practice in effect on the date of service. Raises ``Invalid`` when neither exists."""
    if body.provider is not None:
        return body.provider.as_provider()
    row = await EligibilityRepository(unit).practice_profile_on(body.service_date)
    if row is None:
        raise Invalid(NO_PROVIDER, title="No provider for the 270")
    return Provider(row.provider_npi, row.provider_name, row.provider_first_name, is_person=row.provider_is_person)
