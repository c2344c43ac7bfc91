"""Each tenant's practice as claims announces it (``practice.changed``): every version is kept (a redelivery
changes nothing), and every connection any version named; a statement prints the version in effect on its
date, and a tenant without a profile the settings' header."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from builders import T
from builders.practice_events import practice_changed
from builders.x835 import standard_file
from rcm_shared.errors import Invalid
from rcm_shared.payloads.claims import PracticeChangedV1
from remittance.domain.practice import Practice
from remittance.models import practice_connection, practice_profile
from remittance.use_cases import service_units
from remittance.use_cases.practice import practice_of
from remittance_steps import TENANT, X12, announce, billed, rows

SETTINGS_HEADER = Practice("Deployment Default Clinic", ("1 Default Way", "Nowhere, IL 60000"), "(800) 555-0000")
ANY_DAY = date(2026, 3, 1)  # for headers that do not change with the date


async def header(engine: Any, tenant: str, on: date = ANY_DAY) -> Practice:
    async with service_units(engine).read(tenant) as unit:
        return await practice_of(unit, SETTINGS_HEADER, on)


def since(event: PracticeChangedV1, day: date) -> PracticeChangedV1:
    return event.model_copy(update={"effective_from": day})


async def test_every_version_and_every_connection_is_kept_and_a_redelivery_changes_nothing(engine: Any) -> None:
    v2 = practice_changed("valley", 2, phone="(217) 555-0102", connections=(("VALLEY01", "CLEARINGHOUSE"),))
    await announce(engine, v2)
    await announce(engine, v2)  # delivered again (another message id: the inbox does not drop it)
    stored = await rows(engine, practice_profile)
    assert [(r.tenant_id, r.version, r.statement_phone) for r in stored] == [("valley", 2, "(217) 555-0102")]
    older = practice_changed("valley", 1, phone="(217) 555-0101", connections=(("OLD01", "OLDCH"),))
    await announce(engine, older)  # arrives late: kept, for statements dated in its time
    assert sorted((r.version, r.statement_phone) for r in await rows(engine, practice_profile)) == [
        (1, "(217) 555-0101"),
        (2, "(217) 555-0102"),
    ]
    v3 = practice_changed(
        "valley", 3, name="Valley Health", connections=(("VALLEY02", "CLEARINGHOUSE"), ("VALLEY01", "OTHERCH"))
    )
    await announce(engine, v3)
    assert sorted((c.tenant_id, c.submitter_id, c.receiver_id) for c in await rows(engine, practice_connection)) == [
        ("valley", "OLD01", "OLDCH"),  # dropped by later versions, still the tenant's
        ("valley", "VALLEY01", "CLEARINGHOUSE"),
        ("valley", "VALLEY01", "OTHERCH"),
        ("valley", "VALLEY02", "CLEARINGHOUSE"),
    ]


async def test_a_statement_prints_the_version_in_effect_on_its_date(engine: Any) -> None:
    """A version entered ahead of its date does not head statements dated before it: each statement prints the
    version in effect on its date."""
    await announce(engine, since(practice_changed("valley", 1, phone="(217) 555-0101"), date(2026, 1, 1)))
    await announce(engine, since(practice_changed("valley", 2, name="Valley Health"), date(2026, 7, 1)))
    assert (await header(engine, "valley", date(2026, 6, 30))).phone == "(217) 555-0101"
    assert (await header(engine, "valley", date(2026, 7, 1))).name == "Valley Health"
    # before the first version known: the earliest (the tenant's own practice, never the settings')
    assert (await header(engine, "valley", date(2025, 12, 31))).phone == "(217) 555-0101"
    # a correction entered later but backdated: the newest version started on the date wins
    await announce(engine, since(practice_changed("valley", 3, phone="(217) 555-0103"), date(2026, 5, 1)))
    assert (await header(engine, "valley", date(2026, 4, 30))).phone == "(217) 555-0101"
    assert (await header(engine, "valley", date(2026, 6, 30))).phone == "(217) 555-0103"
    assert (await header(engine, "valley", date(2026, 7, 1))).name == "Valley Family Clinic"  # v3 is newer than v2


async def test_a_statement_run_today_prints_the_header_in_effect_today(stack: tuple[Any, Any]) -> None:
    client, engine = stack
    today = datetime.now(UTC).date()
    await announce(engine, since(practice_changed(TENANT, 1, name="Valley Family Clinic"), today - timedelta(days=90)))
    await announce(engine, since(practice_changed(TENANT, 2, name="Valley Health"), today + timedelta(days=30)))
    await billed(engine, "PCN0001", "A2")
    await billed(engine, "PCN0002", "A2", code="99212", charge_cents=9000)
    assert (await client.post("/v1/remittances", content=standard_file(), headers=X12)).status_code == 201
    run = await client.post("/v1/statements/runs", json={"as_of": today.isoformat()}, headers=T)
    (statement,) = run.json()["statements"]
    doc = (await client.get(f"/v1/statements/{statement['id']}", headers=T)).json()
    assert doc["practice"]["name"] == "Valley Family Clinic"


async def test_each_tenant_gets_its_own_header_and_one_without_a_profile_the_settings_one(engine: Any) -> None:
    await announce(engine, practice_changed("valley", 1))
    await announce(
        engine,
        practice_changed(
            "hill",
            1,
            name="Hill Pediatrics",
            line1="9 Oak Ave",
            city="Peoria",
            postal_code="61602",
            phone="(309) 555-0199",
            pay_online=None,
            pay_by_mail="PO Box 77, Peoria, IL 61601",
        ),
    )
    valley, hill, other = await header(engine, "valley"), await header(engine, "hill"), await header(engine, "other")
    assert (valley.name, valley.address, valley.phone) == (
        "Valley Family Clinic",
        ("100 Main St", "Springfield, IL 62701"),
        "(217) 555-0100",
    )
    assert valley.remit_to == ("Valley Family Clinic", "PO Box 100", "Springfield, IL 62701")
    assert (hill.name, hill.address, hill.phone, hill.pay_online) == (
        "Hill Pediatrics",
        ("9 Oak Ave", "Peoria, IL 61602"),
        "(309) 555-0199",
        None,
    )
    assert hill.remit_to == ("Hill Pediatrics", "PO Box 77", "Peoria, IL 61601")  # the payee's name above the box
    assert other == SETTINGS_HEADER


async def test_a_profile_sent_under_another_tenant_is_refused(engine: Any) -> None:
    with pytest.raises(Invalid):
        await announce(engine, practice_changed("valley", 1), tenant="hill")
    assert await rows(engine, practice_profile) == []
