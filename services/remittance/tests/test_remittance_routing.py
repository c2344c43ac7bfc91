"""Inbound 835s find their tenant by the clearinghouse connection they were sent on (ISA08/ISA06, else each
group's GS03/GS02; ``rcm_shared.x12.routing``); one no connection claims is quarantined with a review item,
never posted; the deployment's own ids are the default tenant's, whatever connections others have; a pair stays
its tenant's after a later version drops it; an upload of another tenant's 835 is refused."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from builders import T
from builders.practice_events import practice_changed
from builders.x835 import header, paid_claim, standard_file
from builders.x835_routes import sent
from rcm_shared.x12.routing import Pair
from remittance.adapters.inbound import Seen
from remittance.background import scan_once
from remittance.models import claim_payment, practice_connection, remittance, review_item
from remittance.use_cases import service_units
from remittance_steps import TENANT, X12, announce, billed, rows

VALLEY = ("VALLEY01", "CLEARINGHOUSE")  # (submitter_id, receiver_id): we send as VALLEY01 to CLEARINGHOUSE
HILL = ("HILL01", "CLEARINGHOUSE")
OWN = ("RCMCLINIC", "CLEARINGHOUSE")  # the deployment's own ids (the settings'): the default tenant's


def payment(trace: str = "EFT0001") -> tuple[Any, list[Any], list[Any]]:
    return (header(trace, "80.00"), [paid_claim()], [])


async def two_practices(engine: Any) -> None:
    await announce(engine, practice_changed("valley", 1, connections=(VALLEY,)))
    await announce(engine, practice_changed("hill", 1, name="Hill Pediatrics", connections=(HILL,)))


async def scan(engine: Any, folder: Path, *files: tuple[str, bytes], home: Pair = OWN) -> int:
    folder.mkdir(exist_ok=True)
    for name, data in files:
        (folder / name).write_bytes(data)
    seen, units = Seen(), service_units(engine)
    assert await scan_once(units, folder, TENANT, 500, seen, home) == 0  # the first look notes the files' sizes
    return await scan_once(units, folder, TENANT, 500, seen, home)


async def test_an_835_sent_to_a_tenants_submitter_id_posts_to_that_tenants_claims(engine: Any, tmp_path: Path) -> None:
    await two_practices(engine)
    await billed(engine, "PCN0001", "A1", tenant="valley")
    await billed(engine, "PCN0001", "H1", tenant="hill")  # the same claim number in both: never crossed
    folder = tmp_path / "inbound"
    assert await scan(engine, folder, ("hill.835", sent("CLEARINGHOUSE", "HILL01", payment()))) == 1
    assert (folder / "processed" / "hill.835").exists()
    posted = await rows(engine, claim_payment)
    assert [(p.tenant_id, p.claim_id, p.matched) for p in posted] == [("hill", "PCN0001", True)]
    # by the groups' ids when the ISA ids are the clearinghouse's own for every customer
    by_gs = sent("BIGCH", "BIGCHHUB", payment("EFT0002"), isa=2, gs=("CLEARINGHOUSE", "VALLEY01"))
    assert await scan(engine, folder, ("valley.835", by_gs)) == 1
    assert sorted((r.tenant_id, r.trace_number) for r in await rows(engine, remittance)) == [
        ("hill", "EFT0001"),
        ("valley", "EFT0002"),
    ]
    assert await rows(engine, review_item) == []


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        (sent("CLEARINGHOUSE", "STRANGER01", payment()), "no_connection"),
        (sent("OTHERCH", "HILL01", payment()), "no_connection"),  # our id, from another clearinghouse
        (  # two interchanges, one for each tenant
            sent("CLEARINGHOUSE", "HILL01", payment()) + sent("CLEARINGHOUSE", "VALLEY01", payment("EFT9"), isa=2),
            "several_organizations",
        ),
    ],
)
async def test_an_835_no_connection_claims_is_quarantined_with_a_review_item_and_never_posted(
    engine: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, data: bytes, cause: str
) -> None:
    await two_practices(engine)
    await billed(engine, "PCN0001", "H1", tenant="hill")
    folder = tmp_path / "inbound"
    with caplog.at_level(logging.WARNING, logger="remittance.background"):
        assert await scan(engine, folder, ("odd.835", data)) == 0
    assert (folder / "quarantine" / "odd.835").read_bytes() == data and not (folder / "odd.835").exists()
    why = (folder / "quarantine" / "odd.835.error.txt").read_text()
    assert "ISA06" in why and "ISA08" in why
    assert await rows(engine, remittance) == [] and await rows(engine, claim_payment) == []
    (item,) = await rows(engine, review_item)
    assert (item.tenant_id, item.kind, item.status, item.claim_id) == (TENANT, "quarantined_file", "open", None)
    assert "odd.835" in item.detail and "quarantine/odd.835" in item.detail
    (record,) = [r for r in caplog.records if r.getMessage() == "inbound file quarantined"]
    assert record.levelno == logging.WARNING and getattr(record, "cause", None) == cause
    assert "DOE" not in str(record.__dict__) and "JANE" not in str(record.__dict__)  # the patient: never logged


@pytest.mark.parametrize("others", [False, True], ids=["no connection anywhere", "other tenants have some"])
async def test_an_835_sent_to_the_deployments_own_ids_is_the_default_tenants(
    engine: Any, tmp_path: Path, others: bool
) -> None:
    """The settings' ids are the default tenant's connection, also once other tenants registered theirs; ids no
    one registered are quarantined even with no connection at all."""
    if others:
        await two_practices(engine)
    await announce(engine, practice_changed("nobody", 1))  # a profile without a connection changes nothing
    folder = tmp_path / "inbound"
    own = sent("CLEARINGHOUSE", "RCMCLINIC", payment())
    assert await scan(engine, folder, ("own.835", own), ("odd.835", standard_file("EFT0002"))) == 1
    assert [(r.tenant_id, r.trace_number) for r in await rows(engine, remittance)] == [(TENANT, "EFT0001")]
    assert (folder / "quarantine" / "odd.835").exists()
    (item,) = await rows(engine, review_item, review_item.c.kind == "quarantined_file")
    assert "ISA08 'CLINIC1'" in item.detail and "'RCMCLINIC'" in item.detail  # the ids, and the deployment's own


async def test_a_connection_a_later_version_drops_stays_its_tenants(engine: Any, tmp_path: Path) -> None:
    """Version 2 (from next month) replaces VALLEY01 by VALLEY02; claims sends as VALLEY01 until then, and 835s
    for those claims come for months: they are still valley's. Another tenant never gets the pair."""
    await announce(engine, practice_changed("valley", 1, connections=(VALLEY,)))
    await announce(engine, practice_changed("valley", 2, connections=(("VALLEY02", "CLEARINGHOUSE"),)))
    await announce(engine, practice_changed("hill", 1, connections=(VALLEY, HILL)))  # a fault claims prevents
    await billed(engine, "PCN0001", "A1", tenant="valley")
    folder = tmp_path / "inbound"
    old = sent("CLEARINGHOUSE", "VALLEY01", payment())
    new = sent("CLEARINGHOUSE", "VALLEY02", payment("EFT0002"), isa=2)
    assert await scan(engine, folder, ("old.835", old), ("new.835", new)) == 2
    assert sorted((r.tenant_id, r.trace_number) for r in await rows(engine, remittance)) == [
        ("valley", "EFT0001"),
        ("valley", "EFT0002"),
    ]
    assert sorted((c.tenant_id, c.submitter_id) for c in await rows(engine, practice_connection)) == [
        ("hill", "HILL01"),
        ("valley", "VALLEY01"),
        ("valley", "VALLEY02"),
    ]


async def test_an_upload_of_another_tenants_835_is_refused_and_nothing_of_it_posted(stack: Any) -> None:
    client, engine = stack
    await announce(engine, practice_changed("hill", 1, connections=(HILL,)))
    await billed(engine, "PCN0001", "H1", tenant="hill")
    theirs = sent("CLEARINGHOUSE", "HILL01", payment())
    r = await client.post("/v1/remittances", content=theirs, headers=X12)  # org-1 uploads hill's 835
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
    problem = r.json()
    assert "HILL01" in problem["detail"] and "CLEARINGHOUSE" in problem["detail"]
    assert problem["interchanges"] == [
        {
            "control_number": "000000001",
            "sender_id": "CLEARINGHOUSE",
            "receiver_id": "HILL01",
            "groups": [{"sender_id": "CLEARINGHOUSE", "receiver_id": "HILL01"}],
        }
    ]
    assert await rows(engine, remittance) == []
    # its own tenant may upload it; a file no connection claims is the uploader's own
    mine = await client.post("/v1/remittances", content=theirs, headers={**X12, "X-Tenant-ID": "hill"})
    assert mine.status_code == 201, mine.text
    unclaimed = await client.post("/v1/remittances", content=standard_file("EFT0002", isa=3), headers=X12)
    assert unclaimed.status_code == 201, unclaimed.text
    assert sorted((r.tenant_id, r.trace_number) for r in await rows(engine, remittance)) == [
        ("hill", "EFT0001"),
        ("org-1", "EFT0002"),
    ]
    assert T["X-Tenant-ID"] == TENANT
