"""The practice master data: the organization profile read on a date and changed by a new version (which
announces itself as ``practice.changed``), and the providers, service facilities and payer enrollments
listed, read and given new versions. A new version may start on any date: on a date the newest version whose
window holds it applies (``domain.practice``), so nothing changes in place."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.payloads.claims import (
    ClearinghouseConnection,
    PracticeAddress,
    PracticeChangedV1,
    PracticeProvider,
)
from rcm_shared.unit import Unit

from claims.config import ClaimsSettings
from claims.domain.practice import Enrollment, Facility, Profile, Provider
from claims.domain.practice_checks import (
    FieldError,
    check_enrollment,
    check_facility,
    check_profile,
    check_provider,
)
from claims.repository import PracticeRepository


def _invalid(errors: Sequence[FieldError]) -> Invalid:
    return Invalid(
        "; ".join(f"{e.field}: {e.message}" for e in errors),
        errors=[{"field": e.field, "message": e.message} for e in errors],
    )


async def profile_on(unit: Unit, on: date) -> Profile:
    found = await PracticeRepository(unit).profile(on)
    if found is None:
        raise NotFound(f"no practice profile is in effect on {on.isoformat()} (PUT /v1/practice)")
    return found


async def profile_versions(unit: Unit) -> list[Profile]:
    return await PracticeRepository(unit).profiles()


def changed_event(tenant: str, p: Profile) -> PracticeChangedV1:
    """What the other services print or send in the practice's name, from this version."""
    s, bp = p.statement, p.billing_provider
    address = s.address
    return PracticeChangedV1(
        tenant_id=tenant,
        version=p.version,
        effective_from=p.effective_from,
        legal_name=p.legal_name,
        statement_name=s.name,
        statement_address=PracticeAddress(
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            state=address.state,
            postal_code=address.postal_code,
        ),
        statement_phone=s.phone_display,
        pay_online=s.pay_online,
        pay_by_mail=s.pay_by_mail,
        billing_provider=PracticeProvider(
            npi=bp.npi, name=bp.name, first_name=bp.first_name, is_person=bp.is_person, taxonomy=bp.taxonomy
        ),
        connections=[
            ClearinghouseConnection(name=c.name, submitter_id=c.submitter_id, receiver_id=c.receiver_id)
            for c in p.connections
        ],
    )


async def put_profile(unit: Unit, profile: Profile, settings: ClaimsSettings) -> Profile:
    """A new version of the tenant's profile, in effect from its ``effective_from`` (any date: from then on it
    is the newest version) until a newer one's: Invalid naming each field that is wrong; Conflict when a
    connection (submitter and receiver id) is another tenant's: inbound files are routed to their tenant by it.
    The deployment's own pair (the settings' submitter and receiver ids) is the default tenant's whether it
    registered it or not (``rcm_shared.x12.routing`` rule 2): another tenant naming it would make every file
    addressed to it several organizations' and set aside. Emits ``practice.changed`` in the same transaction."""
    checked = check_profile(profile)
    if isinstance(checked, list):
        raise _invalid(checked)
    repo = PracticeRepository(unit)
    owners = await repo.connection_owners([(c.submitter_id, c.receiver_id) for c in checked.connections])
    if unit.tenant != settings.default_tenant:
        owners[(settings.submitter_id, settings.receiver_id)] = settings.default_tenant
    taken = [
        FieldError(f"connections.{i}.submitter_id", f"{c.submitter_id} -> {c.receiver_id} is another organization's")
        for i, c in enumerate(checked.connections)
        if owners.get((c.submitter_id, c.receiver_id), unit.tenant) != unit.tenant
    ]
    if taken:
        raise Conflict(
            "a clearinghouse connection (submitter and receiver id) belongs to one organization only: inbound "
            "files are routed by it; " + "; ".join(f"{e.field}: {e.message}" for e in taken),
            title="Connection registered by another organization",
            errors=[{"field": e.field, "message": e.message} for e in taken],
        )
    saved = await repo.add_profile(checked)
    await repo.register_connections(saved.version, saved.connections)
    await unit.emit(changed_event(unit.tenant, saved), key=unit.tenant)
    return saved


async def list_providers(unit: Unit, npi: str | None, on: date | None, limit: int, offset: int) -> list[Provider]:
    return await PracticeRepository(unit).providers(npi, on, limit, offset)


async def provider_on(unit: Unit, npi: str, on: date) -> Provider:
    found = await PracticeRepository(unit).provider(npi, on)
    if found is None:
        raise NotFound(f"no provider with NPI {npi} is in effect on {on.isoformat()}")
    return found


async def add_provider(unit: Unit, provider: Provider) -> Provider:
    """A new version of a provider (by NPI), from any date. Invalid naming each wrong field."""
    checked = check_provider(provider)
    if isinstance(checked, list):
        raise _invalid(checked)
    return await PracticeRepository(unit).add_provider(checked)


async def list_facilities(
    unit: Unit, facility_id: str | None, on: date | None, limit: int, offset: int
) -> list[Facility]:
    return await PracticeRepository(unit).facilities(facility_id, on, limit, offset)


async def facility_on(unit: Unit, facility_id: str, on: date) -> Facility:
    found = await PracticeRepository(unit).facility(facility_id, on)
    if found is None:
        raise NotFound(f"no service facility {facility_id} is in effect on {on.isoformat()}")
    return found


def new_facility_id() -> str:
    return "F" + uuid.uuid4().hex[:10].upper()


async def add_facility(unit: Unit, facility: Facility) -> Facility:
    """A new version of a service facility (by ``facility_id``; a new facility gets one when it has none)."""
    checked = check_facility(facility if facility.facility_id else replace(facility, facility_id=new_facility_id()))
    if isinstance(checked, list):
        raise _invalid(checked)
    return await PracticeRepository(unit).add_facility(checked)


async def list_enrollments(
    unit: Unit, payer_id: str | None, on: date | None, limit: int, offset: int
) -> list[Enrollment]:
    return await PracticeRepository(unit).enrollments(payer_id, on, limit, offset)


async def add_enrollment(unit: Unit, enrollment: Enrollment) -> Enrollment:
    """A new version of a payer enrollment (by ``payer_id``); the payer ids per connection name connections of
    the practice's latest profile."""
    repo = PracticeRepository(unit)
    profile = await repo.latest_profile()
    checked = check_enrollment(enrollment, {c.name: c for c in profile.connections} if profile else {})
    if isinstance(checked, list):
        raise _invalid(checked)
    return await repo.add_enrollment(checked)
