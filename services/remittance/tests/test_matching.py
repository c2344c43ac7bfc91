"""Matching payments to what was billed: an 835's lines to the billed lines, and the payments posted
before their claim was known, once it is."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from builders import T
from builders.events import submitted
from builders.x835 import claim, header, interchange, line
from rcm_shared.payloads.claims import BilledLine
from remittance.models import billed_line, claim_payment, patient_ledger, review_item, service_payment
from remittance.use_cases.billed_claims import on_claim_status_changed, on_claim_status_changes
from remittance_steps import TENANT, X12, account, billed, ingest, rows
from sqlalchemy import func, select


async def test_a_payment_that_came_before_its_claim_is_matched_and_bills_the_patient_once_the_claim_is_known(
    stack: tuple[Any, Any],
) -> None:
    from remittance.models import claim_payment, patient_account, service_payment

    client, engine = stack
    late = claim(
        "LATE1",
        "1",
        "125.00",
        "98.00",
        "ICNL1",
        patient_resp="27.00",
        lines=[line("99213", "125.00", "98.00", [("PR", "3", "27.00")], lcn="LATE1-1")],
    )
    late.patient = {"last": "ROE", "first": "RICHARD", "id_qualifier": "MI", "id": "W555"}
    era = interchange((header("EFTL", "98.00"), [late], []), isa=7)
    assert (await client.post("/v1/remittances", content=era, headers=X12)).status_code == 201
    review = (await client.get("/v1/review-items", params={"kind": "unmatched_claim"}, headers=T)).json()
    assert [i["claim_id"] for i in review] == ["LATE1"]
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(patient_ledger)) == 0  # no account known yet

    await billed(engine, "LATE1", "A9")  # the claim's own event, late: its lines and patient account
    await billed(engine, "LATE1", "A9", state="accepted")  # and a later one: nothing is posted twice
    a9 = await account(client, "A9")
    assert a9["balance_cents"] == 2700 and a9["claims"] == [{"claim_id": "LATE1", "balance_cents": 2700}]
    assert (await client.get("/v1/review-items", headers=T)).json() == []
    resolved = (await client.get("/v1/review-items", params={"status": "resolved"}, headers=T)).json()
    assert [(i["kind"], i["note"]) for i in resolved] == [
        ("unmatched_claim", "matched when the claim's billed lines arrived")
    ]
    async with engine.connect() as conn:
        payment = (await conn.execute(select(claim_payment))).one()
        assert payment.matched and payment.held_patient_last_name is None  # the name is kept only while needed
        lines = (await conn.execute(select(service_payment.c.billed_line_id, service_payment.c.match_method))).all()
        assert [m for _id, m in lines] == ["line_control_number"] and lines[0][0] is not None
        names = (await conn.execute(select(patient_account.c.last_name, patient_account.c.first_name))).all()
        assert names == [("ROE", "RICHARD")]  # for the statement


async def test_billed_lines_match_by_control_number_then_code_date_units(engine: Any, tmp_path: Path) -> None:
    billed = submitted(
        "PCN0001",
        [
            BilledLine(
                line_number=1,
                line_control_number="PCN0001-1",
                procedure_code="99213",
                service_date=date(2026, 10, 1),
                units="1",
                charge_cents=12500,
            ),
            BilledLine(
                line_number=2, procedure_code="97110", service_date=date(2026, 10, 1), units="1", charge_cents=12500
            ),
        ],
    )
    async with engine.begin() as conn:
        await on_claim_status_changed(conn, TENANT, billed)
    restated = line("97112", "125.00", "100.00", [("CO", "45", "25.00")], original="97110")  # SVC06: billed code
    two_lines = claim(
        "PCN0001",
        "1",
        "250.00",
        "180.00",
        "ICN1",
        lines=[
            line("99213", "125.00", "80.00", [("CO", "45", "25.00"), ("PR", "1", "20.00")], lcn="PCN0001-1"),
            restated,
        ],
    )
    await ingest(engine, interchange((header("EFT0005", "180.00"), [two_lines], [])), tmp_path)
    lines = sorted(await rows(engine, service_payment), key=lambda r: r.line_number)
    assert [(ln.match_method, ln.original_procedure_code) for ln in lines] == [
        ("line_control_number", None),
        ("code_date_units", "97110"),
    ]
    assert all(ln.billed_line_id is not None for ln in lines)
    assert await rows(engine, review_item) == []
    (cp,) = await rows(engine, claim_payment)
    assert cp.matched is True


async def test_a_payment_posted_before_its_claim_matches_the_billed_line_by_the_units_billed(
    engine: Any, tmp_path: Path
) -> None:
    # the 835 comes first: two 97110 lines billed (1 unit and 2 units); the payer paid the 2-unit line for one
    # unit (SVC05 1, SVC07 2). When the claim's lines arrive, that payment belongs to the 2-unit line.
    fewer = replace(line("97110", "100.00", "40.00", [("CO", "151", "60.00")]), original_units=D(2))
    one = line("97110", "50.00", "40.00", [("CO", "45", "10.00")])
    era = claim("LATE7", "1", "150.00", "80.00", "ICN7", lines=[fewer, one])
    await ingest(engine, interchange((header("EFT0077", "80.00"), [era], [])), tmp_path)
    assert [ln.billed_line_id for ln in await rows(engine, service_payment)] == [None, None]
    billed = submitted(
        "LATE7",
        [
            BilledLine(line_number=n, procedure_code="97110", service_date=date(2026, 10, 1), units=u, charge_cents=c)
            for n, u, c in ((1, "1", 5000), (2, "2", 10000))
        ],
    )
    async with engine.begin() as conn:
        await on_claim_status_changes(conn, [(TENANT, billed)])
    units_of = {b.id: b.units for b in await rows(engine, billed_line)}
    paid = sorted(await rows(engine, service_payment), key=lambda r: r.line_number)
    assert [(p.units, p.original_units) for p in paid] == [("1", "2"), ("1", None)]
    assert [units_of[p.billed_line_id] for p in paid] == ["2", "1"]
    assert [p.match_method for p in paid] == ["code_date_units", "code_date_units"]
