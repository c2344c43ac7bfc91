"""Payer reversals (CLP02 22): paired with the payment they take back, or sent to review, and taking
back only the patient share that payment posted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from builders import T
from builders.x835 import claim, header, interchange, line, standard_file
from builders.x835 import medicare_crossover as _forwarded
from builders.x835 import medigap_answer as _crossover_answer
from remittance.models import bus, claim_payment, patient_ledger, review_item
from remittance_steps import X12, account, billed, ingest, ledger_totals, postings, rows
from sqlalchemy import select


async def test_a_reversal_of_a_crossover_whose_late_share_was_taken_back_leaves_no_credit(
    stack: tuple[Any, Any],
) -> None:
    """Medicare's coinsurance (20.00) is billed late, the Medigap plan's answer pays it (taken back from the
    patient), then Medicare reverses its CLP02 19 payment: its share is off the patient's ledger already, so
    the reversal takes nothing more back (no 20.00 credit)."""
    client, engine = stack
    await billed(engine, "XO6", "A1", payer_id="MCRB1")
    today = datetime.now(UTC).date()
    paid_on = today - timedelta(days=40)
    medicare = interchange((header("EFTM8", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO6")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    r = await client.post("/v1/statements/runs", json={"as_of": today.isoformat()}, headers=T)
    assert r.status_code == 201, r.text
    assert (await account(client, "A1"))["balance_cents"] == 2000
    medigap = interchange((header("EFTG8", "20.00", payer_id="MGAP1"), [_crossover_answer("XO6")], []), isa=2)
    assert (await client.post("/v1/remittances", content=medigap, headers=X12)).status_code == 201
    assert (await account(client, "A1"))["balance_cents"] == 0
    back = interchange(
        (header("EFTM9", "-80.00", payer_id="MCRB1"), [_reversal_of("XO6", "80.00", "20.00")], []), isa=3
    )
    r = await client.post("/v1/remittances", content=back, headers=X12)
    assert r.status_code == 201 and [s["status"] for s in r.json()["remittances"]] == ["posted"], r.text
    assert (await account(client, "A1"))["balance_cents"] == 0


def _reversal_of(claim_id: str, paid: str, patient: str, pccn: str = "MCR1") -> Any:
    """The payer takes a payment back (CLP02 22): every amount negated."""
    return claim(
        claim_id,
        "22",
        "-125.00",
        f"-{paid}",
        pccn,
        patient_resp=f"-{patient}",
        lines=[
            line(
                "99213",
                "-125.00",
                f"-{paid}",
                [("CO", "45", "-25.00"), ("PR", "2", f"-{patient}")],
                lcn=f"{claim_id}-1",
            )
        ],
    )


async def test_a_reversal_takes_back_only_the_patient_share_its_payment_posted(stack: tuple[Any, Any]) -> None:
    """A reversed crossover payment (CLP02 19, its coinsurance still waiting for the Medigap plan) leaves the
    patient owing nothing and holding no credit; a reversed ordinary payment takes its coinsurance back."""
    client, engine = stack
    await billed(engine, "XO5", "A5", payer_id="MCRB1")
    medicare = interchange((header("EFTM5", "80.00", payer_id="MCRB1"), [_forwarded("XO5")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    await billed(engine, "XO5", "A5", state="paid", payer_id="MCRB1")
    taken = interchange(
        (header("EFTM6", "-80.00", payer_id="MCRB1"), [_reversal_of("XO5", "80.00", "20.00")], []), isa=2
    )
    r = await client.post("/v1/remittances", content=taken, headers=X12)
    assert r.status_code == 201 and [s["status"] for s in r.json()["remittances"]] == ["posted"], r.text
    # nothing on the ledger, nothing waiting for a payer: the account has nothing to show
    after = await client.get("/v1/patient-accounts/A5", headers=T)
    assert after.status_code == 404, after.text
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(patient_ledger.c.amount_cents).where(patient_ledger.c.account_id == "A5"))
        ).all()
    assert rows == []

    await billed(engine, "PC6", "A4")
    paid = claim(
        "PC6",
        "1",
        "125.00",
        "80.00",
        "ACME6",
        patient_resp="20.00",
        lines=[line("99213", "125.00", "80.00", [("CO", "45", "25.00"), ("PR", "2", "20.00")], lcn="PC6-1")],
    )
    assert (
        await client.post(
            "/v1/remittances", content=interchange((header("EFTA6", "80.00"), [paid], []), isa=3), headers=X12
        )
    ).status_code == 201
    assert (await account(client, "A4"))["balance_cents"] == 2000
    back = interchange((header("EFTA7", "-80.00"), [_reversal_of("PC6", "80.00", "20.00", "ACME6")], []), isa=4)
    assert (await client.post("/v1/remittances", content=back, headers=X12)).status_code == 201
    assert (await account(client, "A4"))["balance_cents"] == 0


def _paid(claim_id: str, pccn: str, paid: str, patient: str, sign: str = "") -> Any:
    """A 125.00 claim: paid, coinsurance left to the patient, the rest contractual; sign '-' reverses it."""
    status = "22" if sign else "1"
    contractual = str(Decimal("125.00") - Decimal(paid) - Decimal(patient))
    return claim(
        claim_id,
        status,
        f"{sign}125.00",
        f"{sign}{paid}",
        pccn,
        patient_resp=f"{sign}{patient}",
        lines=[
            line(
                "99213",
                f"{sign}125.00",
                f"{sign}{paid}",
                [("CO", "45", f"{sign}{contractual}"), ("PR", "2", f"{sign}{patient}")],
                lcn=f"{claim_id}-1",
            )
        ],
    )


async def test_a_reversal_pairs_with_the_payment_it_negates_not_the_correction_after_it(
    stack: tuple[Any, Any],
) -> None:
    """A payer that keeps its claim number sends the reversal and the corrected payment in one 835: the
    reversal takes back the first payment (and its coinsurance), not the correction posted with it."""
    client, engine = stack
    await billed(engine, "PC8", "A3")
    first = interchange((header("EFTP8", "80.00"), [_paid("PC8", "ACME8", "80.00", "20.00")], []))
    assert (await client.post("/v1/remittances", content=first, headers=X12)).status_code == 201
    again = [_paid("PC8", "ACME8", "80.00", "20.00", "-"), _paid("PC8", "ACME8", "90.00", "10.00")]
    assert (
        await client.post(
            "/v1/remittances", content=interchange((header("EFTP9", "10.00"), again, []), isa=2), headers=X12
        )
    ).status_code == 201
    payments = {(p["status_code"], p["paid_cents"]): p for p in (await postings(client, "PC8"))["payments"]}
    assert payments[("22", -8000)]["reversal_of"] == payments[("1", 8000)]["id"]
    assert payments[("1", 9000)]["reversed_by"] is None
    assert (await account(client, "A3"))["balance_cents"] == 1000
    last = interchange((header("EFTP10", "-90.00"), [_paid("PC8", "ACME8", "90.00", "10.00", "-")], []), isa=3)
    assert (await client.post("/v1/remittances", content=last, headers=X12)).status_code == 201
    assert (await account(client, "A3"))["balance_cents"] == 0


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
