"""Steps that give a tenant of the claims service its practice master data in tests (written through the
practice repository, as the practice routes do), and the dates they are in effect from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from builders.encounters import TODAY
from builders.practice import ORG_NPI, OTHER_NPI, PERSON_NPI
from claims.domain.practice import (
    Address,
    BillingProvider,
    Connection,
    Facility,
    Profile,
    Provider,
    StatementHeader,
)
from claims.models import bus
from claims.repository.practice import PracticeRepository
from rcm_shared.unit import Actor, Units

SINCE = TODAY - timedelta(days=400)  # before every date of service the tests bill
CLINIC_STREET = Address("100 Main St", "Springfield", "IL", "627011234")  # builders.encounters' billing address
NORTH_STREET = Address("200 North Ave", "Springfield", "IL", "627021111")
SOUTH_STREET = Address("300 South St", "Springfield", "IL", "627031111")
SECOND_NPI = "1992999999"  # the practice's second billing provider

CLINIC = BillingProvider(ORG_NPI, "Valley Family Clinic", "123456789", CLINIC_STREET, taxonomy="207Q00000X")
SECOND = BillingProvider(SECOND_NPI, "Valley Surgery Group", "987654321", SOUTH_STREET, taxonomy="208600000X")
SMITH = Provider(PERSON_NPI, "Smith", SINCE, first_name="John", taxonomy="207R00000X")
NORTH = Facility("NORTH", "Valley North Clinic", NORTH_STREET, "22", SINCE, npi=OTHER_NPI)
MAIN = Facility("MAIN", "Valley Family Clinic", CLINIC_STREET, "11", SINCE)  # at the billing address


def connection(submitter_id: str, receiver_id: str = "CLEARINGHOUSE", name: str = "sandbox") -> Connection:
    return Connection(name, submitter_id, receiver_id, f"{submitter_id} BILLING", "8005550100", "Billing Office")


def profile(
    legal_name: str = "Valley Family Clinic LLC",
    billing: Sequence[BillingProvider] = (CLINIC, SECOND),
    connections: Sequence[Connection] = (),
    since: date = SINCE,
) -> Profile:
    return Profile(
        version=0,
        effective_from=since,
        legal_name=legal_name,
        billing_providers=tuple(billing),
        statement=StatementHeader(legal_name, CLINIC_STREET, "8005550100"),
        connections=tuple(connections),
    )


async def enter_practice(
    client: Any,
    tenant: str = "org-1",
    *,
    practice: Profile | None = None,
    providers: Sequence[Provider] = (),
    facilities: Sequence[Facility] = (),
) -> None:
    """The tenant's profile (its connections registered to it), providers and facilities, each one version."""
    units = Units(bus, source="/claims", engine=client.app.state.engine)
    async with units.write(tenant, Actor("tester")) as unit:
        repo = PracticeRepository(unit)
        if practice is not None:
            saved = await repo.add_profile(practice)
            await repo.register_connections(saved.version, saved.connections)
        for p in providers:
            await repo.add_provider(p)
        for f in facilities:
            await repo.add_facility(f)
