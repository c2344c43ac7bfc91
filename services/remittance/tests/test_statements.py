"""Patient statements: the balance due by visit and its aging, as of a date, and the PDF (read back)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from builders import T
from builders.x835 import claim, header, interchange, line, standard_file
from remittance.models import claim_payment, patient_ledger
from remittance_steps import X12, account, billed
from sqlalchemy import update


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
