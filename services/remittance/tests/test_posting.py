"""Posting an 835 set: its ledger entries to the cent, PLBs on their own ledger, held whole when it does
not balance (real database, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from builders.x835 import claim, header, interchange, line, paid_claim, standard_file
from rcm_shared.x12.sets.x835 import ProviderAdjustment
from remittance.models import bus, claim_payment, ledger_entry, provider_adjustment, remittance, review_item
from remittance_steps import count, ingest, ledger_totals, rows


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
