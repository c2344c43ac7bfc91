"""Each tenant's practice as claims announces it (``practice.changed``): the latest version is kept, an older
one or a redelivery changes nothing, and statements print the tenant's own header."""

from __future__ import annotations

from typing import Any

import pytest
from builders.practice_events import practice_changed
from rcm_shared.errors import Invalid
from remittance.domain.practice import Practice
from remittance.models import practice_connection, practice_profile
from remittance.use_cases import service_units
from remittance.use_cases.practice import practice_of
from remittance_steps import announce, rows

SETTINGS_HEADER = Practice("Deployment Default Clinic", ("1 Default Way", "Nowhere, IL 60000"), "(800) 555-0000")


async def header(engine: Any, tenant: str) -> Practice:
    async with service_units(engine).read(tenant) as unit:
        return await practice_of(unit, SETTINGS_HEADER)


async def test_the_latest_version_is_kept_and_an_older_one_or_a_redelivery_changes_nothing(engine: Any) -> None:
    v2 = practice_changed("valley", 2, phone="(217) 555-0102", connections=(("VALLEY01", "CLEARINGHOUSE"),))
    await announce(engine, v2)
    await announce(engine, v2)  # delivered again (another message id: the inbox does not drop it)
    stored = await rows(engine, practice_profile)
    assert [(r.tenant_id, r.version, r.statement_phone) for r in stored] == [("valley", 2, "(217) 555-0102")]
    older = practice_changed("valley", 1, phone="(217) 555-0101", connections=(("OLD01", "OLDCH"),))
    await announce(engine, older)  # arrives late: ignored
    assert [(r.version, r.statement_phone) for r in await rows(engine, practice_profile)] == [(2, "(217) 555-0102")]
    assert [(c.submitter_id, c.receiver_id) for c in await rows(engine, practice_connection)] == [
        ("VALLEY01", "CLEARINGHOUSE")
    ]
    v3 = practice_changed(
        "valley", 3, name="Valley Health", connections=(("VALLEY02", "CLEARINGHOUSE"), ("VALLEY01", "OTHERCH"))
    )
    await announce(engine, v3)
    assert [(r.version, r.statement_name) for r in await rows(engine, practice_profile)] == [(3, "Valley Health")]
    assert sorted((c.tenant_id, c.submitter_id, c.receiver_id) for c in await rows(engine, practice_connection)) == [
        ("valley", "VALLEY01", "OTHERCH"),  # the connections are replaced as a whole
        ("valley", "VALLEY02", "CLEARINGHOUSE"),
    ]


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
