"""What claims billed, from its status events: the billed claims and lines payments are matched to."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from builders.events import submitted
from builders.x835 import claim, header, interchange, line
from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1
from remittance.models import billed_claim, billed_line, service_payment
from remittance.use_cases.billed_claims import on_claim_status_changed, on_claim_status_changes
from remittance_steps import TENANT, ingest, rows


async def test_a_claim_billed_again_keeps_the_billed_lines_its_payments_are_matched_to(
    engine: Any, tmp_path: Path
) -> None:
    # billed with four lines; the payer pays three of them (a payer paying what its clearinghouse then
    # rejected); the claim is edited and billed again: line 2's charge changed, lines 3 and 4 gone, line 5 new
    def billed(*lines: tuple[int, str, int]) -> ClaimStatusChangedV1:
        return submitted(
            "AGAIN1",
            [
                BilledLine(
                    line_number=n,
                    line_control_number=f"AGAIN1-{n}",
                    procedure_code=code,
                    service_date=date(2026, 10, 1),
                    units="1",
                    charge_cents=cents,
                )
                for n, code, cents in lines
            ],
        )

    async with engine.begin() as conn:
        await on_claim_status_changes(
            conn, [(TENANT, billed((1, "99213", 12500), (2, "97110", 5000), (3, "97112", 4000), (4, "97140", 3000)))]
        )
    paid = claim(
        "AGAIN1",
        "1",
        "215.00",
        "170.00",
        "ICN9",
        lines=[
            line("99213", "125.00", "100.00", [("CO", "45", "25.00")], lcn="AGAIN1-1"),
            line("97110", "50.00", "40.00", [("CO", "45", "10.00")], lcn="AGAIN1-2"),
            line("97112", "40.00", "30.00", [("CO", "45", "10.00")], lcn="AGAIN1-3"),
        ],
    )
    await ingest(engine, interchange((header("EFT0009", "170.00"), [paid], [])), tmp_path)
    first = {b.line_control_number: b.id for b in await rows(engine, billed_line)}
    matched = {p.line_number: p.billed_line_id for p in await rows(engine, service_payment)}
    assert matched == {1: first["AGAIN1-1"], 2: first["AGAIN1-2"], 3: first["AGAIN1-3"]}

    async with engine.begin() as conn:
        await on_claim_status_changes(
            conn, [(TENANT, billed((1, "99213", 12500), (2, "97110", 6000), (5, "97530", 2000)))]
        )
    now = {b.id: (b.line_control_number, b.charge_cents) for b in await rows(engine, billed_line)}
    # every payment still names a billed line, line 1 and 2 the same rows (line 2 as billed now), line 3 as
    # billed then (paid, so kept though no longer billed); the unpaid line 4 is gone, line 5 is new
    assert {n: now[row_id] for n, row_id in matched.items()} == {
        1: ("AGAIN1-1", 12500),
        2: ("AGAIN1-2", 6000),
        3: ("AGAIN1-3", 4000),
    }
    assert sorted(now.values()) == [("AGAIN1-1", 12500), ("AGAIN1-2", 6000), ("AGAIN1-3", 4000), ("AGAIN1-5", 2000)]
    assert {p.line_number: p.billed_line_id for p in await rows(engine, service_payment)} == matched


async def test_status_events_applied_together_store_what_one_at_a_time_stores(engine: Any) -> None:
    def event(claim_id: str, state: str, lines: int = 0, **kw: Any) -> ClaimStatusChangedV1:
        return ClaimStatusChangedV1(
            claim_id=claim_id,
            old_state=None,
            new_state=state,
            changed_at=datetime.now(UTC),
            lines=[
                BilledLine(
                    line_number=n,
                    line_control_number=f"{claim_id}-{state}-{n}",
                    procedure_code="99213",
                    service_date=date(2026, 10, n),
                    units="1",
                    charge_cents=1000 * n,
                )
                for n in range(1, lines + 1)
            ],
            **kw,
        )

    known = event("B", "submitted", 1, payer_id="ACME01", charge_cents=1000, patient_account="PA-B")
    later = [
        event("A", "ready", payer_id="ACME01"),
        event("B", "accepted"),
        event("A", "submitted", 2, payer_id="ACME01", charge_cents=3000, patient_account="PA-A"),
        event("A", "accepted", patient_account="PA-A", next_payer_id="MCRB1"),
        event("B", "submitted", 3, charge_cents=6000, patient_account="PA-B2", original_claim_id="B0"),
        event("A", "paid"),
    ]
    async with engine.begin() as conn:
        for tenant in ("one-by-one", "together"):
            await on_claim_status_changed(conn, tenant, known)
        for e in later:
            await on_claim_status_changed(conn, "one-by-one", e)
    async with engine.begin() as conn:
        await on_claim_status_changes(conn, [("together", e) for e in later])

    async def stored(tenant: str) -> list[tuple[Any, ...]]:
        claims = await rows(engine, billed_claim, billed_claim.c.tenant_id == tenant)
        out = []
        for c in sorted(claims, key=lambda c: c.claim_id):
            billed = await rows(engine, billed_line, billed_line.c.billed_claim_id == c.id)
            out.append(
                (
                    *(getattr(c, k) for k in ("claim_id", "payer_id", "charge_cents", "state", "patient_account")),
                    *(getattr(c, k) for k in ("next_payer_id", "original_claim_id", "service_from")),
                    sorted((b.line_control_number, b.service_date, b.charge_cents) for b in billed),
                )
            )
        return out

    expected = await stored("one-by-one")
    assert expected[0][:8] == ("A", "ACME01", 3000, "paid", "PA-A", "MCRB1", None, date(2026, 10, 1))
    assert [n for n, _d, _c in expected[1][8]] == ["B-submitted-1", "B-submitted-2", "B-submitted-3"]
    assert await stored("together") == expected
