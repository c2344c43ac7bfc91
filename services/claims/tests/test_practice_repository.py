"""The practice repository's reads (claims.repository.practice): each version found by the date it is in
effect on, per tenant, and the one lookup across tenants (a connection's tenant). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from builders.encounters import TODAY
from builders.practice import ORG_NPI, PERSON_NPI
from claims.domain.practice import (
    Address,
    BillingProvider,
    Connection,
    Enrollment,
    Facility,
    Profile,
    Provider,
    StatementHeader,
)
from claims.models import bus
from claims.repository import PracticeRepository
from rcm_shared.db import create_engine
from rcm_shared.unit import Actor, Units

STREET = Address("100 Main St", "Springfield", "IL", "627011234")
EARLY = TODAY - timedelta(days=60)
LATER = TODAY + timedelta(days=30)


def profile(name: str, *connections: Connection) -> Profile:
    return Profile(
        version=0,
        effective_from=EARLY,
        legal_name=name,
        billing_providers=(BillingProvider(ORG_NPI, name, "123456789", STREET),),
        statement=StatementHeader(name, STREET, "8005550100"),
        connections=connections,
    )


def connection(submitter: str) -> Connection:
    return Connection("sandbox", submitter, "CLEARINGHOUSE", "Submitter", "8005550100")


@pytest.fixture
async def units(db_factory: Any) -> AsyncIterator[Units]:
    db = await db_factory("claims")
    engine = create_engine(db.url, schema=db.schema)
    yield Units(bus, source="/claims", engine=engine)
    await engine.dispose()


async def test_each_read_finds_the_version_in_effect_on_the_date(units: Units) -> None:
    async with units.write("org-1", Actor("tester")) as unit:
        repo = PracticeRepository(unit)
        first = await repo.add_profile(profile("Valley", connection("VALLEY01")))
        await repo.add_profile(replace(first, version=0, effective_from=LATER, legal_name="Valley 2"))
        await repo.add_provider(Provider(PERSON_NPI, "Smith", EARLY, first_name="John"))
        await repo.add_facility(Facility("NORTH", "North", STREET, "11", EARLY, effective_to=TODAY))
        await repo.add_enrollment(Enrollment("MCRB1", "Medicare B", "MB", EARLY, {"sandbox": "00952"}))
    async with units.read("org-1") as unit:
        repo = PracticeRepository(unit)
        assert repo_profile_name(await repo.profile(TODAY)) == ("Valley", 1, None)  # nothing closed in place
        assert repo_profile_name(await repo.profile(LATER)) == ("Valley 2", 2, None)
        assert await repo.profile(EARLY - timedelta(days=1)) is None
        current = await repo.profile(TODAY)
        assert current is not None and current.billing_provider.address == STREET
        assert current.connections == (connection("VALLEY01"),)
        provider = await repo.provider(PERSON_NPI, TODAY)
        assert provider is not None and (provider.name, provider.first_name) == ("Smith", "John")
        assert await repo.provider(ORG_NPI, TODAY) is None
        facility = await repo.facility("NORTH", TODAY)
        assert facility is not None and facility.address == STREET and facility.place_of_service == "11"
        assert await repo.facility("NORTH", TODAY + timedelta(days=1)) is None  # ended today
        enrollment = await repo.enrollment("MCRB1", TODAY)
        assert enrollment is not None and enrollment.payer_id_at("sandbox") == "00952"
        assert enrollment.payer_id_at("other") == "MCRB1"
    async with units.read("org-2") as unit:
        other = PracticeRepository(unit)
        assert await other.profile(TODAY) is None and await other.provider(PERSON_NPI, TODAY) is None
        assert await other.facility("NORTH", TODAY) is None and await other.enrollment("MCRB1", TODAY) is None


def repo_profile_name(p: Profile | None) -> tuple[str, int, Any] | None:
    return (p.legal_name, p.version, p.effective_to) if p else None


async def test_a_connection_finds_its_tenant_across_tenants_and_only_one_may_hold_it(units: Units) -> None:
    async with units.engine.connect() as conn:
        assert not await PracticeRepository(conn).any_connection()
    async with units.write("org-1", Actor("tester")) as unit:
        repo = PracticeRepository(unit)
        saved = await repo.add_profile(profile("Valley", connection("VALLEY01")))
        await repo.register_connections(saved.version, saved.connections)
        await repo.register_connections(saved.version, saved.connections)  # held already: unchanged
    async with units.engine.connect() as conn:
        lookup = PracticeRepository(conn)
        assert await lookup.any_connection()
        assert await lookup.tenant_of_connection("VALLEY01", "CLEARINGHOUSE") == "org-1"
        assert await lookup.tenant_of_connection("VALLEY01       ", "CLEARINGHOUSE  ") == "org-1"  # ISA padding
        assert await lookup.tenant_of_connection("CLEARINGHOUSE", "VALLEY01") is None
        with pytest.raises(RuntimeError):
            await lookup.profile(TODAY)  # no tenant: only the lookups across tenants
    async with units.read("org-2") as unit:
        owners = await PracticeRepository(unit).connection_owners([("VALLEY01", "CLEARINGHOUSE")])
        assert owners == {("VALLEY01", "CLEARINGHOUSE"): "org-1"}


async def test_the_newest_version_whose_window_holds_the_date_is_read_and_listed(units: Units) -> None:
    """Backdated and same-day versions: each read and each list on a date answers the highest version number
    whose window holds it; the versions before stay as they were."""
    middle = EARLY + timedelta(days=10)
    async with units.write("org-1", Actor("tester")) as unit:
        repo = PracticeRepository(unit)
        v1 = await repo.add_provider(Provider(PERSON_NPI, "Smith", TODAY, first_name="John"))
        v2 = await repo.add_provider(Provider(PERSON_NPI, "Smyth", TODAY, first_name="John"))  # same day: a fix
        v3 = await repo.add_provider(  # backdated, for ten days only
            Provider(PERSON_NPI, "Smith", EARLY, first_name="John", effective_to=middle)
        )
        other = await repo.add_provider(Provider(ORG_NPI, "Doe", EARLY, first_name="Jane"))
        p1 = await repo.add_profile(profile("Valley"))
        p2 = await repo.add_profile(replace(profile("Valley Fixed"), effective_from=EARLY))  # the same start
    assert [v.version for v in (v1, v2, v3, other, p1, p2)] == [1, 2, 3, 1, 1, 2]
    async with units.read("org-1") as unit:
        repo = PracticeRepository(unit)

        async def name(on: Any) -> str | None:
            found = await repo.provider(PERSON_NPI, on)
            return found.name if found else None

        assert [await name(d) for d in (EARLY, middle, middle + timedelta(days=1), TODAY, LATER)] == [
            "Smith",
            "Smith",
            None,  # between the backdated window and the first version's start
            "Smyth",
            "Smyth",
        ]
        assert (await repo.provider(PERSON_NPI, EARLY)).id == v3.id  # type: ignore[union-attr]
        listed = await repo.providers(None, TODAY, 100, 0)
        assert [(p.npi, p.version) for p in listed] == [(ORG_NPI, 1), (PERSON_NPI, 2)]
        assert [(p.npi, p.version) for p in await repo.providers(PERSON_NPI, EARLY, 100, 0)] == [(PERSON_NPI, 3)]
        assert [p.version for p in await repo.providers(PERSON_NPI, None, 100, 0)] == [1, 2, 3]
        assert repo_profile_name(await repo.profile(TODAY)) == ("Valley Fixed", 2, None)
