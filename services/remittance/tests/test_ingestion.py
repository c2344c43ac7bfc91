"""835 ingestion and posting against the real database (SQLite and PostgreSQL, real migrations)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from builders.x835 import claim, header, interchange, line, paid_claim, standard_file
from rcm_shared.db import create_engine
from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.sets.x835 import ProviderAdjustment
from remittance.models import (
    billed_claim,
    billed_line,
    bus,
    claim_payment,
    ledger_entry,
    provider_adjustment,
    remittance,
    review_item,
    service_payment,
)
from remittance.repository.deposits import DepositRepository
from remittance.repository.ledger import LedgerRepository
from remittance.repository.remittances import RemittanceRepository
from remittance.use_cases import service_units
from remittance.use_cases.billed_claims import on_claim_status_changed, on_claim_status_changes
from remittance.use_cases.deposits import record_deposit
from remittance.use_cases.ingestion import ingest_835
from sqlalchemy import func, select

SAMPLES = Path(__file__).resolve().parents[3] / "tests" / "x12" / "samples" / "835"
TENANT = "org-1"


@pytest.fixture
async def engine(db_factory: Any) -> Any:
    db = await db_factory("remittance")
    eng = create_engine(db.url, schema=db.schema)
    yield eng
    await eng.dispose()


async def ingest(engine: Any, data: bytes, tmp_path: Path, name: str = "in.835", tenant: str = TENANT) -> list[Any]:
    path = tmp_path / name
    path.write_bytes(data)
    return await ingest_835(service_units(engine), path, tenant=tenant, batch_size=2)


async def rows(engine: Any, table: Any, *where: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(table).where(*where)))


async def count(engine: Any, table: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def ledger_totals(engine: Any, claim_id: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for e in await rows(engine, ledger_entry, ledger_entry.c.claim_id == claim_id):
        totals[e.entry_type] = totals.get(e.entry_type, 0) + e.amount_cents
    return totals


async def test_standard_file_posts_to_the_cent(engine: Any, tmp_path: Path) -> None:
    (result,) = await ingest(engine, standard_file(), tmp_path)
    assert (result.status, result.claim_count, result.total_paid_cents) == ("posted", 2, 13500)
    assert await ledger_totals(engine, "PCN0001") == {
        "payment": 8000,
        "contractual": 2500,
        "deductible": 1000,
        "coinsurance": 1000,
    }
    assert await ledger_totals(engine, "PCN0002") == {"payment": 5500, "contractual": 2000, "copay": 1500}
    (cp,) = await rows(engine, claim_payment, claim_payment.c.claim_id == "PCN0001")
    assert cp.patient_responsibility_cents == 2000 and cp.matched is False  # claims never told us about it
    kinds = sorted(r.kind for r in await rows(engine, review_item))
    assert kinds == ["unmatched_claim", "unmatched_claim"]
    events = await rows(engine, bus.outbox)
    assert sorted(e.key for e in events) == ["PCN0001", "PCN0002"]
    assert {e.topic for e in events} == {"remittance.claim.adjudicated"}
    # the payment date of BPR16 goes to claims (its days to payment count to it)
    assert {json.loads(e.payload)["payment_date"] for e in events} == {"2026-11-20"}


async def test_same_file_twice_sequentially_and_concurrently_posts_once(engine: Any, tmp_path: Path) -> None:
    data = standard_file()
    first = await ingest(engine, data, tmp_path, "a.835")
    again = await ingest(engine, data, tmp_path, "b.835")
    assert first[0].status == "posted" and again[0].status == "duplicate"
    assert again[0].remittance_id == first[0].remittance_id
    # Another file from the same payer with the same TRN trace number is the same payment, too.
    other_isa = await ingest(engine, standard_file(isa=7), tmp_path, "c.835")
    assert other_isa[0].status == "duplicate"
    # Concurrently: two uploads of a new file race; one posts, the other is answered as a duplicate.
    data2 = standard_file(trace="EFT0002", isa=9)
    (tmp_path / "x.835").write_bytes(data2)
    (tmp_path / "y.835").write_bytes(data2)
    results = await asyncio.gather(
        ingest_835(service_units(engine), tmp_path / "x.835", tenant=TENANT),
        ingest_835(service_units(engine), tmp_path / "y.835", tenant=TENANT),
    )
    assert sorted(r[0].status for r in results) == ["duplicate", "posted"]
    assert await count(engine, remittance) == 2
    assert await count(engine, claim_payment) == 4
    assert sum((await ledger_totals(engine, "PCN0001")).values()) == 2 * 12500


async def test_unbalanced_remittance_is_held_whole_with_reasons(engine: Any, tmp_path: Path) -> None:
    bad_line = claim(
        "PCN0009", "1", "100.00", "70.00", "ICN9", lines=[line("99213", "100.00", "70.00", [("CO", "45", "20.00")])]
    )
    data = interchange((header("EFT0009", "95.00"), [paid_claim(), bad_line], []))
    (result,) = await ingest(engine, data, tmp_path)
    assert result.status == "held"
    assert result.hold_reasons[0] == (
        "BPR02 95.00 does not equal claim payments 150.00 minus provider adjustments 0.00 = 150.00"
    )
    assert "claim PCN0009: charge 100.00 - paid 70.00 = 30.00, but adjustments total 20.00" in result.hold_reasons
    assert any(r.startswith("claim PCN0009 line 1 (99213)") for r in result.hold_reasons)
    assert await count(engine, claim_payment) == 0 and await count(engine, ledger_entry) == 0
    assert await count(engine, bus.outbox) == 0
    (item,) = await rows(engine, review_item)
    assert item.kind == "unbalanced" and "BPR02 95.00" in item.detail


async def test_reversal_pairs_with_original_and_correction_posts_fresh(engine: Any, tmp_path: Path) -> None:
    await ingest(engine, standard_file(), tmp_path, "first.835")
    reversal = claim(
        "PCN0001",
        "22",
        "-125.00",
        "-80.00",
        "ICN1001",
        patient_resp="-20.00",
        lines=[
            line("99213", "-125.00", "-80.00", [("CO", "45", "-25.00"), ("PR", "1", "-10.00"), ("PR", "2", "-10.00")]),
        ],
    )
    corrected = claim(
        "PCN0001",
        "1",
        "125.00",
        "90.00",
        "ICN1001B",
        patient_resp="10.00",
        lines=[
            line("99213", "125.00", "90.00", [("CO", "45", "25.00"), ("PR", "2", "10.00")], lcn="PCN0001-1"),
        ],
    )
    (result,) = await ingest(
        engine, interchange((header("EFT0003", "10.00"), [reversal, corrected], []), isa=3), tmp_path, "second.835"
    )
    assert result.status == "posted"
    payments = await rows(engine, claim_payment, claim_payment.c.claim_id == "PCN0001")
    original = next(p for p in payments if p.payer_claim_control_number == "ICN1001" and p.status_code == "1")
    rev = next(p for p in payments if p.status_code == "22")
    fresh = next(p for p in payments if p.payer_claim_control_number == "ICN1001B")
    assert original.reversed_by == rev.id and rev.reversal_of == original.id and fresh.reversal_of is None
    assert rev.paid_cents == -8000
    # Net: the corrected adjudication only.
    assert await ledger_totals(engine, "PCN0001") == {
        "payment": 9000,
        "contractual": 2500,
        "deductible": 0,
        "coinsurance": 1000,
    }
    topics = [e.topic for e in await rows(engine, bus.outbox, bus.outbox.c.key == "PCN0001")]
    assert topics == [
        "remittance.claim.adjudicated",
        "remittance.claim.adjudicated",  # the reversal: same topic, so it stays before the correction
        "remittance.claim.adjudicated",
        "remittance.claim.adjudicated",
    ]


async def test_unpaired_reversal_goes_to_review(engine: Any, tmp_path: Path) -> None:
    reversal = claim("PCN0077", "22", "-50.00", "-50.00", "ICN77", lines=[line("99211", "-50.00", "-50.00", [])])
    await ingest(engine, interchange((header("EFT0077", "-50.00"), [reversal], [])), tmp_path)
    kinds = sorted(r.kind for r in await rows(engine, review_item))
    assert kinds == ["unmatched_claim", "unpaired_reversal"]
    assert (await ledger_totals(engine, "PCN0077")) == {"payment": -5000}


async def test_plb_takeback_posts_to_its_own_ledger_linked_to_the_claim(engine: Any, tmp_path: Path) -> None:
    await ingest(engine, standard_file(), tmp_path, "first.835")
    plb = [
        ProviderAdjustment("", "1234567893", date(2026, 12, 31), "WO", "ICN1001", D("30.00")),
        ProviderAdjustment("", "1234567893", date(2026, 12, 31), "L6", "", D("-2.50")),
    ]
    data = interchange((header("EFT0004", "52.50"), [paid_claim("PCN0003", "ICN1003")], plb), isa=4)
    (result,) = await ingest(engine, data, tmp_path, "plb.835")
    assert result.status == "posted"
    adjustments = await rows(engine, provider_adjustment)
    assert [(a.reason, a.amount_cents, a.claim_id) for a in adjustments] == [
        ("WO", 3000, "PCN0001"),
        ("L6", -250, None),
    ]
    (rem,) = await rows(engine, remittance, remittance.c.trace_number == "EFT0004")
    assert rem.plb_total_cents == 2750
    assert (await ledger_totals(engine, "PCN0001"))["provider_adjustment"] == -3000
    assert [e.topic for e in await rows(engine, bus.outbox, bus.outbox.c.topic == "remittance.provider.adjusted")] == [
        "remittance.provider.adjusted",
        "remittance.provider.adjusted",
    ]


def submitted(claim_id: str, lines: list[BilledLine]) -> ClaimStatusChangedV1:
    """The claim's event on submission, with its billed lines (the charge is theirs)."""
    return ClaimStatusChangedV1(
        claim_id=claim_id,
        old_state="ready",
        new_state="submitted",
        changed_at=datetime.now(UTC),
        payer_id="ACME01",
        charge_cents=sum(line.charge_cents for line in lines),
        lines=lines,
    )


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


async def test_crash_mid_file_then_retry_gives_the_uninterrupted_ledger(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from remittance.use_cases import posting

    claims = [paid_claim(f"PCN{i:04d}", f"ICN{i}") for i in range(1, 8)]  # batch_size=2: four batches
    data = interchange((header("EFT0100", "560.00"), claims, []))
    original = posting.Poster._post_claims
    calls = 0

    async def crash_on_third_batch(self: Any, batch: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ConnectionError("worker killed mid-file")
        await original(self, batch)

    monkeypatch.setattr(posting.Poster, "_post_claims", crash_on_third_batch)
    with pytest.raises(ConnectionError):
        await ingest(engine, data, tmp_path)
    for table in (remittance, claim_payment, ledger_entry, bus.outbox):
        assert await count(engine, table) == 0  # nothing half-written
    monkeypatch.setattr(posting.Poster, "_post_claims", original)
    (result,) = await ingest(engine, data, tmp_path)
    assert result.status == "posted" and await count(engine, claim_payment) == 7
    assert (
        sum(e.amount_cents for e in await rows(engine, ledger_entry, ledger_entry.c.entry_type == "payment")) == 56000
    )
    assert await count(engine, bus.outbox) == 7


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("lfh__demo-file__demo.835", ("posted", 2, 15000000)),
        ("pyx12__pyx12__835_mult_loops.txt", ("posted", 1, 0)),
        ("lfh__835_005010X221A1__managed-care.835", "segment 2 BPR, element 16: not a real date: '20002316'"),
        ("lfh__835_005010X221A1__cob-contractural-adjustment.835", "segment 19 SVC, element 01"),
        ("lfh__835_005010X221A1__secondary-payment.835", "segment 27 SVC, element 01"),
        ("lfh__835_005010X221A1__tertiary-payment.835", "segment 18 SVC, element 01"),
    ],
)
async def test_every_sample_835_posts_and_balances_or_is_refused(engine: Any, name: str, outcome: Any) -> None:
    if isinstance(outcome, str):
        with pytest.raises(X12Error, match=outcome.replace("(", r"\(").replace(")", r"\)")):
            await ingest_835(service_units(engine), SAMPLES / name, tenant=TENANT)
        assert await count(engine, remittance) == 0
        return
    (result,) = await ingest_835(service_units(engine), SAMPLES / name, tenant=TENANT)
    assert (result.status, result.claim_count, result.total_paid_cents) == outcome
    async with engine.connect() as conn:
        paid = await conn.scalar(
            select(func.sum(ledger_entry.c.amount_cents)).where(
                ledger_entry.c.entry_type.in_(("payment", "provider_adjustment"))
            )
        )
    assert (paid or 0) == outcome[2]  # BPR02 = sum of payments - PLB, in the ledger


async def test_deposits_match_and_reconcile(engine: Any, tmp_path: Path) -> None:
    early = await record_deposit(
        service_units(engine),
        tenant=TENANT,
        trace_number="EFT0001",
        amount_cents=13500,
        deposit_date=date(2026, 11, 21),
    )
    assert early.remittance_id is None  # the 835 has not arrived yet
    (posted,) = await ingest(engine, standard_file(), tmp_path)
    stray = await record_deposit(
        service_units(engine), tenant=TENANT, trace_number="EFT9999", amount_cents=100, deposit_date=date(2026, 11, 21)
    )
    (unmatched_835,) = await ingest(engine, standard_file(trace="EFT0002", isa=2), tmp_path, "b.835")
    async with engine.connect() as conn:
        deposits, remits = await DepositRepository(conn, TENANT).reconciliation()
    assert [d.trace_number for d in deposits] == [stray.trace_number]
    assert [r.id for r in remits] == [unmatched_835.remittance_id]
    assert posted.remittance_id not in [r.id for r in remits]


async def test_tenants_never_see_each_other(engine: Any, tmp_path: Path) -> None:
    (mine,) = await ingest(engine, standard_file(), tmp_path, tenant="org-a")
    (theirs,) = await ingest(engine, standard_file(), tmp_path, "b.835", tenant="org-b")
    assert theirs.status == "posted"  # the same file for another organization is not a duplicate
    async with engine.connect() as conn:
        assert await RemittanceRepository(conn, "org-b").get_remittance(mine.remittance_id) is None
        assert len(await LedgerRepository(conn, "org-a").claim_payments(claim_id="PCN0001")) == 1


async def test_inbound_folder_ingests_then_moves_files(engine: Any, tmp_path: Path) -> None:
    from remittance.adapters.inbound import Seen
    from remittance.background import scan_once

    folder = tmp_path / "inbound"
    folder.mkdir()
    (folder / "good.835").write_bytes(standard_file())
    (folder / "bad.835").write_bytes(b"not an 835 at all")
    seen = Seen()
    assert (
        await scan_once(service_units(engine), folder, TENANT, 500, seen) == 0
    )  # first look: sizes noted, files may be growing
    assert await scan_once(service_units(engine), folder, TENANT, 500, seen) == 1
    assert (folder / "processed" / "good.835").exists() and not (folder / "good.835").exists()
    error = (folder / "failed" / "bad.835.error.txt").read_text()
    assert "does not start with an ISA segment" in error
    assert await count(engine, remittance) == 1


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


def test_an_inbound_file_is_taken_once_unchanged_for_the_settle_time() -> None:
    from remittance.adapters.inbound import Seen

    seen, path, settle = Seen(), Path("a.835"), 1.0
    assert not seen.settled(path, (100, 1), now=10.0, settle=settle)  # first look
    assert seen.next_due(settle, now=10.0) == 1.0
    assert not seen.settled(path, (100, 1), now=10.5, settle=settle)  # unchanged, not long enough
    assert not seen.settled(path, (250, 2), now=10.9, settle=settle)  # still growing: from now on
    assert seen.next_due(settle, now=10.9) == 1.0
    assert not seen.settled(path, (250, 2), now=11.8, settle=settle)
    assert seen.settled(path, (250, 2), now=11.9, settle=settle)
    assert not seen.settled(Path("b.835"), (9, 9), now=12.0, settle=0.0)  # settle 0: the next look takes it
    assert seen.settled(Path("b.835"), (9, 9), now=12.0, settle=0.0)
