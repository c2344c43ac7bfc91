"""835 ingestion against the real database (SQLite and PostgreSQL, real migrations): each file once, all
or nothing, per tenant; every sample 835 posted or refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from builders.x835 import header, interchange, paid_claim, standard_file
from rcm_shared.x12.errors import X12Error
from remittance.models import bus, claim_payment, ledger_entry, remittance
from remittance.repository.ledger import LedgerRepository
from remittance.repository.remittances import RemittanceRepository
from remittance.use_cases import service_units
from remittance.use_cases.ingestion import ingest_835
from remittance_steps import TENANT, count, ingest, ledger_totals, rows
from sqlalchemy import func, select

SAMPLES = Path(__file__).resolve().parents[3] / "tests" / "x12" / "samples" / "835"


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


async def test_tenants_never_see_each_other(engine: Any, tmp_path: Path) -> None:
    (mine,) = await ingest(engine, standard_file(), tmp_path, tenant="org-a")
    (theirs,) = await ingest(engine, standard_file(), tmp_path, "b.835", tenant="org-b")
    assert theirs.status == "posted"  # the same file for another organization is not a duplicate
    async with engine.connect() as conn:
        assert await RemittanceRepository(conn, "org-b").get_remittance(mine.remittance_id) is None
        assert len(await LedgerRepository(conn, "org-a").claim_payments(claim_id="PCN0001")) == 1
