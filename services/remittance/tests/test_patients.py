"""The patient side: balances only once every payer is done, payments and refunds, statements (PDF read back)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from builders.x835 import claim, header, interchange, line, paid_claim, standard_file
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine
from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1
from rcm_shared.testing import app_client
from remittance.models import bus, claim_payment, patient_ledger
from remittance.use_cases.billed_claims import on_claim_status_changed
from sqlalchemy import func, select, update

T = {"X-Tenant-ID": "org-1"}
X12 = {"content-type": "application/edi-x12", "X-Tenant-ID": "org-1"}


@pytest.fixture
async def stack(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka: KafkaSettings
) -> AsyncIterator[tuple[Any, Any]]:
    db = await db_factory("remittance")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("REMITTANCE_DATABASE_URL", db.url)
    monkeypatch.setenv("REMITTANCE_DB_SCHEMA", db.schema)
    monkeypatch.setenv("REMITTANCE_SPOOL_DIR", str(tmp_path / "spool"))
    from remittance.config import get_settings
    from remittance.main import create_app

    engine = create_engine(db.url, schema=db.schema)
    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c, engine
    await engine.dispose()


async def billed(engine: Any, claim_id: str, account: str, state: str = "submitted", **kw: Any) -> None:
    event = ClaimStatusChangedV1(
        claim_id=claim_id,
        old_state=None,
        new_state=state,
        changed_at=datetime.now(UTC),
        payer_id=kw.pop("payer_id", "ACME01"),
        charge_cents=kw.pop("charge_cents", 12500),
        patient_account=account,
        lines=[
            BilledLine(
                line_number=1,
                line_control_number=f"{claim_id}-1",
                procedure_code=kw.pop("code", "99213"),
                service_date=date(2026, 10, 1),
                units="1",
                charge_cents=12500,
            )
        ],
        **kw,
    )
    async with engine.begin() as conn:
        await on_claim_status_changed(conn, "org-1", event)


async def account(client: Any, account_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/patient-accounts/{account_id}", headers=T)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_no_patient_balance_until_the_secondary_payer_has_paid(stack: tuple[Any, Any]) -> None:
    client, engine = stack
    await billed(engine, "X1", "A1", next_payer_id="MCRB1")
    first = interchange((header("EFTP1", "80.00"), [paid_claim("X1", "ICNP1")], []))
    assert (await client.post("/v1/remittances", content=first, headers=X12)).status_code == 201
    r = await client.get("/v1/patient-accounts/A1", headers=T)
    assert r.status_code == 200 and r.json()["balance_cents"] == 0 and r.json()["claims"] == []
    assert r.json()["pending_with_insurance"] == ["X1"]  # the 20.00 PR of the primary is not due

    # claims bills the secondary (linked to the primary); the primary is paid
    await billed(engine, "X1", "A1", state="paid", next_payer_id="MCRB1")
    await billed(engine, "Y1", "A1", payer_id="MCRB1", original_claim_id="X1")
    assert (await account(client, "A1"))["pending_with_insurance"] == ["X1", "Y1"]
    secondary = claim(
        "Y1",
        "2",
        "125.00",
        "12.00",
        "ICNS1",
        patient_resp="8.00",
        lines=[line("99213", "125.00", "12.00", [("OA", "23", "105.00"), ("PR", "2", "8.00")], lcn="Y1-1")],
    )
    second = interchange((header("EFTS1", "12.00", payer_id="MCRB1"), [secondary], []), isa=2)
    assert (await client.post("/v1/remittances", content=second, headers=X12)).status_code == 201
    await billed(engine, "Y1", "A1", state="paid", payer_id="MCRB1", original_claim_id="X1")
    after = await account(client, "A1")
    assert after["balance_cents"] == 800 and after["claims"] == [{"claim_id": "Y1", "balance_cents": 800}]
    assert after["pending_with_insurance"] == []


async def test_deductible_coinsurance_copay_to_the_balance_the_statement_and_its_pdf(stack: tuple[Any, Any]) -> None:
    import pypdfium2 as pdfium

    client, engine = stack
    await billed(engine, "PCN0001", "A2")
    await billed(engine, "PCN0002", "A2", code="99212", charge_cents=9000)
    await billed(engine, "OTHER1", "A3")  # another patient, same run
    assert (await client.post("/v1/remittances", content=standard_file(), headers=X12)).status_code == 201
    other = claim(
        "OTHER1",
        "1",
        "125.00",
        "98.00",
        "ICNO1",
        patient_resp="27.00",
        lines=[line("99213", "125.00", "98.00", [("PR", "3", "27.00")], lcn="OTHER1-1")],
    )
    other.patient = {"last": "ROE", "first": "RICHARD", "id_qualifier": "MI", "id": "W555"}
    assert (
        await client.post(
            "/v1/remittances", content=interchange((header("EFTO", "98.00"), [other], []), isa=5), headers=X12
        )
    ).status_code == 201
    a2 = await account(client, "A2")
    assert a2["balance_cents"] == 3500  # deductible 10 + coinsurance 10 (PCN0001), copay 15 (PCN0002)
    assert {c["claim_id"]: c["balance_cents"] for c in a2["claims"]} == {"PCN0001": 2000, "PCN0002": 1500}

    from remittance.domain.patients import cycle_day

    today = datetime.now(UTC).date()  # the balances were posted today: a statement as of today has them all
    cycle = await client.post(
        "/v1/statements/runs", json={"as_of": today.isoformat(), "cycle_day": cycle_day("A3")}, headers=T
    )
    assert cycle_day("A2") != cycle_day("A3") and [s["account_id"] for s in cycle.json()["statements"]] == ["A3"]
    run = await client.post("/v1/statements/runs", json={"as_of": today.isoformat()}, headers=T)
    assert run.status_code == 201, run.text
    issued = {s["account_id"]: s for s in run.json()["statements"]}
    assert {k: v["amount_due_cents"] for k, v in issued.items()} == {"A2": 3500, "A3": 2700}
    # a statement is named by ``id``, in the run's answer and in the list, as every other resource is
    listed = (await client.get("/v1/statements", params={"run_id": run.json()["run_id"]}, headers=T)).json()
    assert {s["account_id"]: s for s in listed} == issued
    assert all(sorted(s) == ["account_id", "amount_due_cents", "id"] for s in listed), listed
    doc = (await client.get(f"/v1/statements/{issued['A2']['id']}", headers=T)).json()
    visits = {v["claim_id"]: v for v in doc["visits"]}
    v1 = visits["PCN0001"]
    assert v1["charge_cents"] == 12500 and v1["insurance_paid_cents"] == 8000
    assert v1["contractual_adjustment_cents"] == 2500 and v1["other_adjustment_cents"] == 0
    assert v1["patient_responsibility_cents"] == {
        "coinsurance": 1000,
        "copay": 0,
        "deductible": 1000,
        "patient_other": 0,
    }
    assert visits["PCN0002"]["patient_responsibility_cents"]["copay"] == 1500
    for v in visits.values():  # every visit line adds up to its charge
        owed = sum(v["patient_responsibility_cents"].values())
        assert (
            v["charge_cents"]
            == v["insurance_paid_cents"] + v["contractual_adjustment_cents"] + v["other_adjustment_cents"] + owed
        )
    assert doc["amount_due_cents"] == 3500 and doc["aging_cents"]["0-30"] == 3500
    assert doc["patient"] == {"last_name": "DOE", "first_name": "JANE"} and doc["how_to_pay"]

    # the PDF, rendered to an image and read back
    pdf = await client.get(f"/v1/statements/{issued['A2']['id']}/pdf", headers=T)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(pdf.content)
    page = document[0]
    image = page.render(scale=1).to_pil()
    assert image.size[0] > 500 and image.getextrema() != ((255, 255), (255, 255), (255, 255))  # not blank
    text = page.get_textpage().get_text_range()
    for expected in ("AMOUNT DUE: $35.00", "A2", "JANE DOE", "PCN0001", "$125.00", "$80.00", "$20.00", "$15.00"):
        assert expected in text, (expected, text)
    for foreign in ("A3", "OTHER1", "ROE", "RICHARD", "$27.00", "$98.00"):  # never another patient's data
        assert foreign not in text, foreign
    document.close()


async def test_a_statement_as_of_an_earlier_date_counts_only_what_was_posted_by_then(
    stack: tuple[Any, Any],
) -> None:
    client, engine = stack
    await billed(engine, "PCN0001", "A2")
    await billed(engine, "PCN0002", "A2", code="99212", charge_cents=9000)
    assert (await client.post("/v1/remittances", content=standard_file(), headers=X12)).status_code == 201
    # PCN0001's 835 and its patient share were posted 45 days ago, PCN0002's today
    long_ago = datetime.now(UTC) - timedelta(days=45)
    async with engine.begin() as conn:
        await conn.execute(
            update(patient_ledger).where(patient_ledger.c.claim_id == "PCN0001").values(created_at=long_ago)
        )
        await conn.execute(
            update(claim_payment).where(claim_payment.c.claim_id == "PCN0001").values(posted_at=long_ago)
        )
    paid = await client.post(
        "/v1/patient-payments",
        json={"account_id": "A2", "amount_cents": 500, "method": "card", "claim_ids": ["PCN0001"]},
        headers={**T, "Idempotency-Key": "today"},
    )
    assert paid.status_code == 201, paid.text
    today = datetime.now(UTC).date()  # after the last posting: a statement as of today has it all

    async def run(as_of: date) -> dict[str, Any]:
        r = await client.post("/v1/statements/runs", json={"as_of": as_of.isoformat()}, headers=T)
        assert r.status_code == 201, r.text
        return dict(r.json())

    before_all = await run(today - timedelta(days=60))  # nothing was posted yet: no statement, no error
    assert before_all["statements"] == [] and before_all["as_of"] == (today - timedelta(days=60)).isoformat()

    then = (await run(today - timedelta(days=10)))["statements"]  # PCN0001 only, not yet paid by the patient
    assert [(s["account_id"], s["amount_due_cents"]) for s in then] == [("A2", 2000)]
    doc = (await client.get(f"/v1/statements/{then[0]['id']}", headers=T)).json()
    assert [v["claim_id"] for v in doc["visits"]] == ["PCN0001"]
    visit = doc["visits"][0]
    assert (visit["insurance_paid_cents"], visit["contractual_adjustment_cents"], visit["patient_paid_cents"]) == (
        8000,
        2500,
        0,
    )
    assert doc["aging_cents"] == {"0-30": 0, "31-60": 2000, "61-90": 0, "90+": 0}  # 35 days old on that date

    now = (await run(today))["statements"]
    assert [(s["account_id"], s["amount_due_cents"]) for s in now] == [("A2", 3000)]
    doc = (await client.get(f"/v1/statements/{now[0]['id']}", headers=T)).json()
    assert doc["aging_cents"] == {"0-30": 1500, "31-60": 1500, "61-90": 0, "90+": 0}


async def test_payments_once_per_key_allocation_credit_and_refund(stack: tuple[Any, Any]) -> None:
    client, engine = stack
    await billed(engine, "PCN0001", "A2")
    await billed(engine, "PCN0002", "A2", code="99212", charge_cents=9000)
    assert (await client.post("/v1/remittances", content=standard_file(), headers=X12)).status_code == 201

    def pay(amount: int, key: str | None, path: str = "/v1/patient-payments", **kw: Any) -> Any:
        headers = {**T, **({"Idempotency-Key": key} if key else {})}
        body = {"account_id": "A2", "amount_cents": amount, "method": "card", "reference": "AUTH77", **kw}
        return client.post(path, json=body, headers=headers)

    assert (await pay(2000, None)).status_code == 400  # no idempotency key, nothing posted
    first = await pay(2000, "k1", claim_ids=["PCN0002"])
    assert first.status_code == 201 and first.json()["balance_cents"] == 1500 and not first.json()["replayed"]
    again = await pay(2000, "k1", claim_ids=["PCN0002"])
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["balance_cents"] == 1500
    assert again.json()["payment_id"] == first.json()["payment_id"]
    assert (await pay(2500, "k1")).status_code == 409  # the same key for another request
    a2 = await account(client, "A2")
    assert {c["claim_id"]: c["balance_cents"] for c in a2["claims"]} == {"PCN0001": 1500, "PCN0002": 0}

    over = await pay(2500, "k2")  # 15.00 settles PCN0001, 10.00 stays as a credit
    assert over.json()["balance_cents"] == -1000
    assert (await account(client, "A2"))["on_account_cents"] == -1000
    too_much = await pay(1200, "r1", path="/v1/patient-refunds")
    assert too_much.status_code == 422 and "credit" in too_much.json()["detail"]
    refund = await pay(1000, "r2", path="/v1/patient-refunds")
    assert refund.status_code == 201 and refund.json()["balance_cents"] == 0
    assert (await pay(1000, "r2", path="/v1/patient-refunds")).json()["replayed"]
    assert (await pay(100, "k3", account_id="NOPE")).status_code == 422

    async with engine.connect() as conn:
        p = patient_ledger.c
        totals = dict(
            (t, int(v))
            for t, v in await conn.execute(select(p.entry_type, func.sum(p.amount_cents)).group_by(p.entry_type))
        )
        events = (
            await conn.execute(
                select(func.count()).where(bus.outbox.c.event_type == "remittance.patient_balance_changed")
            )
        ).scalar()
    # charges 35.00 = payments 45.00 - refund 10.00: the ledger balances to zero
    assert totals == {"deductible": 1000, "coinsurance": 1000, "copay": 1500, "payment": -4500, "refund": 1000}
    assert sum(totals.values()) == 0
    assert events == 4  # the 835's charges, two payments, the refund (replays emit nothing)


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


def _forwarded(claim_id: str) -> Any:
    """Medicare's crossover: billed 125.00, allowed 100.00, paid 80.00, coinsurance 20.00 left to the
    patient, and the claim forwarded to the Medigap plan MGAP1 (CLP02 19, NM1*TT)."""
    c = claim(
        claim_id,
        "19",
        "125.00",
        "80.00",
        "MCR1",
        patient_resp="20.00",
        lines=[line("99213", "125.00", "80.00", [("CO", "45", "25.00"), ("PR", "2", "20.00")], lcn=f"{claim_id}-1")],
    )
    c.crossover_carrier = {"name": "MEDIGAP MUTUAL", "id_qualifier": "PI", "id": "MGAP1"}
    return c


def _crossover_answer(claim_id: str, paid: str = "20.00", left: str | None = None) -> Any:
    """The Medigap plan's own 835 for the same claim: it pays the coinsurance (CLP02 2); Medicare's part is
    CARC 23 (prior payer's adjudication)."""
    adjustments = [("OA", "23", "105.00")] + ([("PR", "2", left)] if left else [])
    return claim(
        claim_id,
        "2",
        "125.00",
        paid,
        "MGAP9",
        patient_resp=left,
        lines=[line("99213", "125.00", paid, adjustments, lcn=f"{claim_id}-1")],
    )


async def postings(client: Any, claim_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/claims/{claim_id}/postings", headers=T)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_crossover_patient_share_waits_for_the_crossover_payers_835(stack: tuple[Any, Any]) -> None:
    """CLP02 19: no secondary claim is billed by us (no next_payer_id, no linked claim), yet the patient owes
    nothing until the crossover payer's own 835 says what is left; the claim's totals count each dollar once."""
    client, engine = stack
    await billed(engine, "XO1", "A9", payer_id="MCRB1")
    medicare = interchange((header("EFTM1", "80.00", payer_id="MCRB1"), [_forwarded("XO1")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    await billed(engine, "XO1", "A9", state="paid", payer_id="MCRB1")
    waiting = await account(client, "A9")
    assert waiting["balance_cents"] == 0 and waiting["pending_with_insurance"] == ["XO1"]
    (forwarded,) = (await postings(client, "XO1"))["payments"]
    assert forwarded["crossover_payer_id"] == "MGAP1" and forwarded["crossover_state"] == "pending"

    medigap = interchange(
        (header("EFTG1", "15.00", payer_id="MGAP1"), [_crossover_answer("XO1", "15.00", "5.00")], []), isa=2
    )
    assert (await client.post("/v1/remittances", content=medigap, headers=X12)).status_code == 201
    after = await account(client, "A9")
    assert after["balance_cents"] == 500 and after["claims"] == [{"claim_id": "XO1", "balance_cents": 500}]
    assert after["pending_with_insurance"] == []
    posted = await postings(client, "XO1")
    first, answer = posted["payments"]
    assert first["crossover_state"] == "answered" and answer["crossover_of"] == first["id"]
    totals = posted["totals_cents"]
    # billed 125.00 = paid 80 + 15, contractual 25, patient 5: Medicare's 20.00 and the CARC 23 taken back
    assert totals["payment"] == 9500 and totals["contractual"] == 2500 and posted["patient_responsibility_cents"] == 500
    assert totals.get("other_adjustment", 0) == 0
    assert sum(totals.values()) == 12500


async def test_a_late_crossover_makes_the_share_due_and_its_answer_takes_it_back(stack: tuple[Any, Any]) -> None:
    client, engine = stack
    await billed(engine, "XO2", "A8", payer_id="MCRB1")
    today = datetime.now(UTC).date()
    paid_on = today - timedelta(days=40)  # Medicare's BPR16
    medicare = interchange((header("EFTM2", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO2")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    # a statement run within the wait: nothing is due yet
    within = (paid_on + timedelta(days=15)).isoformat()
    r = await client.post("/v1/statements/runs", json={"as_of": within}, headers=T)
    assert r.status_code in (200, 201), r.text
    assert (await account(client, "A8"))["balance_cents"] == 0
    # 30 days and more after Medicare paid, the Medigap plan has not answered: the coinsurance is due
    r = await client.post("/v1/statements/runs", json={"as_of": today.isoformat()}, headers=T)
    assert r.status_code in (200, 201), r.text
    assert (await account(client, "A8"))["balance_cents"] == 2000
    assert [s["account_id"] for s in r.json()["statements"]] == ["A8"]
    # then its 835 comes, paying all of it: the patient owes nothing
    medigap = interchange((header("EFTG2", "20.00", payer_id="MGAP1"), [_crossover_answer("XO2")], []), isa=2)
    assert (await client.post("/v1/remittances", content=medigap, headers=X12)).status_code == 201
    assert (await account(client, "A8"))["balance_cents"] == 0
    posted = await postings(client, "XO2")
    assert posted["patient_responsibility_cents"] == 0 and sum(posted["totals_cents"].values()) == 12500


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


async def test_a_run_dated_ahead_bills_no_crossover_share_the_payer_still_has_time_to_pay(
    stack: tuple[Any, Any],
) -> None:
    """Lateness counts to the run's date but never past today: a run dated 60 days ahead does not bill the
    coinsurance of a crossover Medicare paid 5 days ago."""
    client, engine = stack
    await billed(engine, "XO3", "A7", payer_id="MCRB1")
    today = datetime.now(UTC).date()
    paid_on = today - timedelta(days=5)
    medicare = interchange((header("EFTM3", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO3")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    ahead = (today + timedelta(days=60)).isoformat()
    r = await client.post("/v1/statements/runs", json={"as_of": ahead}, headers=T)
    assert r.status_code == 201, r.text
    assert r.json()["statements"] == []
    assert (await account(client, "A7"))["balance_cents"] == 0
    (forwarded,) = (await postings(client, "XO3"))["payments"]
    assert forwarded["crossover_state"] == "pending"


# SQLite lets one writer in at a time, so two runs cannot overlap there: PostgreSQL only.
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_two_statement_runs_at_once_post_a_late_crossover_share_once(stack: tuple[Any, Any]) -> None:
    """Two runs (two operators, a retry) find the same late crossover: the second finds it held by the first
    (row lock) and leaves it to it, posting nothing."""
    client, engine = stack
    from remittance.use_cases import crossovers, service_units
    from remittance.use_cases.ingestion import ACTOR

    await billed(engine, "XO4", "A6", payer_id="MCRB1")
    now = datetime.now(UTC)
    paid_on = now.date() - timedelta(days=40)
    medicare = interchange((header("EFTM4", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO4")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        assert await crossovers.release_late(service_units().on(first, "org-1", ACTOR), now.date(), 30, now) == ["XO4"]
        racing = asyncio.create_task(
            crossovers.release_late(service_units().on(second, "org-1", ACTOR), now.date(), 30, now)
        )
        await asyncio.sleep(0.5)  # the second run meets the payment's row lock
        await first.commit()
        assert await racing == []
        await second.commit()
    assert (await account(client, "A6"))["balance_cents"] == 2000


# Two transactions overlap only on PostgreSQL (SQLite lets one writer in at a time).
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_crossover_answer_posted_while_a_run_releases_the_share_takes_it_back(stack: tuple[Any, Any]) -> None:
    """A statement run releases a late crossover share (20.00) and the Medigap plan's 835 paying it is posted
    before the run commits: the posting waits for the run, sees the share released and takes it back, so the
    patient is not billed the coinsurance the Medigap plan paid."""
    client, engine = stack
    from remittance.use_cases import crossovers, service_units
    from remittance.use_cases.ingestion import ACTOR

    await billed(engine, "XO8", "A9", payer_id="MCRB1")
    now = datetime.now(UTC)
    paid_on = now.date() - timedelta(days=40)
    medicare = interchange((header("EFTM8", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO8")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    medigap = interchange((header("EFTG8", "20.00", payer_id="MGAP1"), [_crossover_answer("XO8")], []), isa=2)
    async with engine.connect() as run:
        await run.begin()
        assert await crossovers.release_late(service_units().on(run, "org-1", ACTOR), now.date(), 30, now) == ["XO8"]
        posting = asyncio.create_task(client.post("/v1/remittances", content=medigap, headers=X12))
        await asyncio.sleep(0.5)  # the posting meets the payment's row lock
        await run.commit()
        assert (await posting).status_code == 201
    assert (await account(client, "A9"))["balance_cents"] == 0
    forwarded = next(p for p in (await postings(client, "XO8"))["payments"] if p["status_code"] == "19")
    assert forwarded["crossover_state"] == "answered"


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_run_leaves_a_crossover_share_to_the_answer_being_posted(stack: tuple[Any, Any]) -> None:
    """The Medigap plan's 835 is being posted (it has read the forwarded payment) when a statement run looks
    for late crossovers: the run leaves that payment to the posting, without waiting for it."""
    client, engine = stack
    from remittance.use_cases import crossovers, service_units
    from remittance.use_cases.ingestion import ACTOR

    await billed(engine, "XO9", "A8", payer_id="MCRB1")
    now = datetime.now(UTC)
    paid_on = now.date() - timedelta(days=40)
    medicare = interchange((header("EFTM9", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO9")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    async with engine.connect() as posting, engine.connect() as run:
        await posting.begin()
        assert list(await crossovers.waiting(service_units().on(posting, "org-1", ACTOR), ["XO9"], "MGAP1")) == ["XO9"]
        await run.begin()
        released = crossovers.release_late(service_units().on(run, "org-1", ACTOR), now.date(), 30, now)
        assert await asyncio.wait_for(released, 10) == []
        await run.commit()
        await posting.rollback()
    (forwarded,) = (await postings(client, "XO9"))["payments"]
    assert forwarded["crossover_state"] == "pending"


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


async def test_a_crossover_answered_while_the_forwarding_835_was_held_is_not_billed_late(
    stack: tuple[Any, Any],
) -> None:
    """Medicare's CLP02 19 835 is held (its BPR02 does not add up) when the Medigap plan's answer comes: the
    answer posts as an ordinary payment. Releasing Medicare's 835 finds that answer: the forwarded payment
    is answered at once, so no late run bills the patient the coinsurance the Medigap plan paid, and the
    claim's totals count each dollar once."""
    from remittance.use_cases import review, service_units

    client, engine = stack
    await billed(engine, "XO7", "A2", payer_id="MCRB1")
    paid_on = datetime.now(UTC).date() - timedelta(days=40)
    short = interchange((header("EFTM7", "70.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO7")], []))
    r = await client.post("/v1/remittances", content=short, headers=X12)
    (held,) = r.json()["remittances"]
    assert held["status"] == "held", r.text
    medigap = interchange((header("EFTG7", "20.00", payer_id="MGAP1"), [_crossover_answer("XO7")], []), isa=2)
    assert (await client.post("/v1/remittances", content=medigap, headers=X12)).status_code == 201
    decision = review.Decision("biller.ann", "EOB checked: 10.00 withheld")
    await review.release(service_units(engine), tenant="org-1", remittance_id=held["remittance_id"], decision=decision)

    posted = await postings(client, "XO7")
    by_status = {p["status_code"]: p for p in posted["payments"]}
    forwarded, answer = by_status["19"], by_status["2"]
    assert (forwarded["crossover_state"], answer["crossover_of"]) == ("answered", forwarded["id"]), posted
    totals = posted["totals_cents"]
    assert totals["payment"] == 10000 and posted["patient_responsibility_cents"] == 0, totals
    assert sum(totals.values()) == 12500, totals
    r = await client.post("/v1/statements/runs", json={}, headers=T)
    assert r.status_code == 201 and r.json()["statements"] == [], r.text
    assert (await account(client, "A2"))["balance_cents"] == 0


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
