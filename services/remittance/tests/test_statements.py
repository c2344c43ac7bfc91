"""Patient statements: the balance due by visit and its aging, as of a date, and the PDF (read back): the
tenant's own header, the mailing address where the envelope's window shows it, each visit in words with its
provider, what insurance still has apart from what is due, and the remittance coupon."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from builders import T
from builders.practice_events import practice_changed
from builders.x835 import claim, header, interchange, line, standard_file
from remittance.domain.mailing import Mailing, MailingAddress
from remittance.models import claim_payment, patient_ledger
from remittance_steps import TENANT, X12, account, announce, billed
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
    # no practice profile for org-1 yet: the settings' header; no claims API here: not mailable, and said so
    assert doc["practice"]["name"] == "Valley Family Clinic" and doc["practice"]["from_profile"] is False
    assert doc["mailing"]["mailable"] is False and "REMITTANCE_CLAIMS_URL" in doc["mailing"]["problem"]
    assert {n["account_id"] for n in run.json()["not_mailable"]} == {"A2", "A3"}

    # the PDF, rendered to an image and read back
    pdf = await client.get(f"/v1/statements/{issued['A2']['id']}/pdf", headers=T)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(pdf.content)
    page = document[0]
    image = page.render(scale=1).to_pil()
    assert image.size[0] > 500 and image.getextrema() != ((255, 255), (255, 255), (255, 255))  # not blank
    text = page.get_textpage().get_text_range()
    for expected in ("AMOUNT DUE: $35.00", "A2", "JANE DOE", "Medical service (procedure code 99213)", "$125.00"):
        assert expected in text, (expected, text)
    for expected in ("$80.00", "$20.00", "$15.00", "NO MAILING ADDRESS ON FILE"):
        assert expected in text, (expected, text)
    assert "PCN0001" not in text  # a claim id means nothing to a patient
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


class FakeAddressBook:
    """Claims' answer, as a test decides it: an address per account (None: claims has none)."""

    def __init__(self, addresses: dict[str, MailingAddress | None]) -> None:
        self.addresses = addresses
        self.asked: list[tuple[str, dict[str, list[str]]]] = []

    async def mailings(self, tenant: str, claims: Mapping[str, Sequence[str]]) -> dict[str, Mailing]:
        self.asked.append((tenant, {a: list(c) for a, c in claims.items()}))
        return {
            a: Mailing(self.addresses[a]) if self.addresses.get(a) else Mailing(None, "no address on the claims")
            for a in claims
        }


def in_block(page: Any, block: Any) -> str:
    """The text of the page inside a block given in inches from the top-left corner (PDF points from below)."""
    bounded = page.get_textpage().get_text_bounded(
        left=block.x * 72, bottom=(11 - block.y - block.h) * 72, right=(block.x + block.w) * 72, top=(11 - block.y) * 72
    )
    return " | ".join(line.strip() for line in bounded.splitlines() if line.strip())


async def test_a_statement_in_words_pending_apart_with_its_coupon_and_addresses_placed_for_the_windows(
    stack: tuple[Any, Any],
) -> None:
    import pypdfium2 as pdfium
    from remittance.adapters.statement_pdf import ADDRESS_BLOCK, CUT_Y, REMIT_BLOCK, RETURN_BLOCK, Block
    from remittance.api.deps import address_book

    client, engine = stack
    await announce(
        engine,
        practice_changed(
            TENANT,
            1,
            name="Hill Pediatrics",
            line1="9 Oak Ave",
            city="Peoria",
            postal_code="61602",
            phone="(309) 555-0199",
            pay_by_mail="Hill Pediatrics Billing, PO Box 77, Peoria, IL 61601",
        ),
    )
    described = "Office visit, established patient, 15 minutes"
    await billed(engine, "PCN0001", "A2", description=described, provider_name="Maria Lopez MD")
    await billed(engine, "PCN0002", "A2", code="99212", charge_cents=9000)  # no words in the charge master
    await billed(engine, "PCN0003", "A2", code="99214", provider_name="Sam Lee DO")  # the payer has not answered
    await billed(engine, "OTHER1", "A3")
    book = FakeAddressBook(
        {"A2": MailingAddress("JANE DOE", ("12 Elm St", "Apt 4", "Springfield, IL 62704")), "A3": None}
    )
    client.app.dependency_overrides[address_book] = lambda: book
    assert (await client.post("/v1/remittances", content=standard_file(), headers=X12)).status_code == 201
    other = claim("OTHER1", "1", "125.00", "98.00", "ICNO1", patient_resp="27.00")
    other.services = [line("99213", "125.00", "98.00", [("PR", "3", "27.00")], lcn="OTHER1-1")]
    batch = interchange((header("EFTO", "98.00"), [other], []), isa=5)
    assert (await client.post("/v1/remittances", content=batch, headers=X12)).status_code == 201

    today = datetime.now(UTC).date()
    run = await client.post("/v1/statements/runs", json={"as_of": today.isoformat()}, headers=T)
    assert run.status_code == 201, run.text
    issued = {s["account_id"]: s["id"] for s in run.json()["statements"]}
    # both produced; the one without an address listed by the run, with the reason
    assert sorted(issued) == ["A2", "A3"]
    assert run.json()["not_mailable"] == [
        {"statement_id": issued["A3"], "account_id": "A3", "reason": "no address on the claims"}
    ]
    ((asked_tenant, asked),) = book.asked
    assert asked_tenant == TENANT and sorted(asked) == ["A2", "A3"] and len(asked["A2"]) == 3

    doc = (await client.get(f"/v1/statements/{issued['A2']}", headers=T)).json()
    assert doc["practice"]["name"] == "Hill Pediatrics" and doc["practice"]["from_profile"] is True
    assert doc["mailing"] == {
        "mailable": True,
        "recipient": "JANE DOE",
        "address": ["12 Elm St", "Apt 4", "Springfield, IL 62704"],
        "problem": None,
    }
    visits = {v["claim_id"]: v for v in doc["visits"]}
    assert sorted(visits) == ["PCN0001", "PCN0002"]
    assert visits["PCN0001"]["provider_name"] == "Maria Lopez MD" and visits["PCN0001"]["label"] == described
    assert [(s["procedure_code"], s["label"]) for s in visits["PCN0002"]["services"]] == [
        ("99212", "Medical service (procedure code 99212)")
    ]
    assert visits["PCN0002"]["provider_name"] is None
    # the visit still with its payer: shown apart, not in what is due
    assert [(v["claim_id"], v["provider_name"], v["awaiting_insurance_cents"]) for v in doc["insurance_pending"]] == [
        ("PCN0003", "Sam Lee DO", 12500)
    ]
    assert doc["insurance_pending_cents"] == 12500 and doc["amount_due_cents"] == 3500
    assert doc["coupon"] == {
        "account_id": "A2",
        "patient_name": "JANE DOE",
        "statement_date": today.isoformat(),
        "due_date": (today + timedelta(days=21)).isoformat(),
        "amount_due_cents": 3500,
        "payable_to": "Hill Pediatrics",
        "remit_to": ["Hill Pediatrics Billing", "PO Box 77", "Peoria, IL 61601"],
    }

    pdf = await client.get(f"/v1/statements/{issued['A2']}/pdf", headers=T)
    document = pdfium.PdfDocument(pdf.content)
    page = document[0]
    # what each envelope window shows, and nothing else
    assert in_block(page, ADDRESS_BLOCK) == "JANE DOE | 12 Elm St | Apt 4 | Springfield, IL 62704"
    assert in_block(page, RETURN_BLOCK) == "Hill Pediatrics | 9 Oak Ave | Peoria, IL 61602"
    between = Block(0.5, RETURN_BLOCK.y + RETURN_BLOCK.h, 3.5, ADDRESS_BLOCK.y - RETURN_BLOCK.y - RETURN_BLOCK.h)
    assert in_block(page, between) == ""
    coupon = in_block(page, Block(0, CUT_Y, 8.5, 11 - CUT_Y))
    for expected in (
        "Please detach along this line",
        "Account number: A2",
        f"Statement date: {today.isoformat()}",
        "Amount due: $35.00",
        "Amount enclosed: $",
        "Make checks payable to: Hill Pediatrics",
    ):
        assert expected in coupon, (expected, coupon)
    assert in_block(page, REMIT_BLOCK) == "Hill Pediatrics Billing | PO Box 77 | Peoria, IL 61601"
    body = in_block(page, Block(0, ADDRESS_BLOCK.y + ADDRESS_BLOCK.h, 8.5, CUT_Y - ADDRESS_BLOCK.y - ADDRESS_BLOCK.h))
    for expected in (
        "Visit with Maria Lopez MD",
        f"{described} (99213)",
        "Medical service (procedure code 99212)",
        "STILL WITH YOUR INSURANCE (not due yet): $125.00",
        "Sam Lee DO",
        "AMOUNT DUE: $35.00",
    ):
        assert expected in body, (expected, body)
    assert "PCN000" not in page.get_textpage().get_text_range()  # never a claim id as a label
    document.close()
    nowhere = (await client.get(f"/v1/statements/{issued['A3']}", headers=T)).json()["mailing"]
    assert nowhere == {"mailable": False, "recipient": None, "address": [], "problem": "no address on the claims"}


async def test_two_tenants_statements_carry_each_its_own_header(stack: tuple[Any, Any]) -> None:
    import pypdfium2 as pdfium

    client, engine = stack
    await announce(engine, practice_changed("valley", 1, name="Valley Family Clinic", phone="(217) 555-0100"))
    await announce(engine, practice_changed("hill", 1, name="Hill Pediatrics", city="Peoria", phone="(309) 555-0199"))
    texts = {}
    for tenant, trace in (("valley", "EFT-V"), ("hill", "EFT-H")):
        await billed(engine, "PCN0001", "A2", tenant=tenant)
        await billed(engine, "PCN0002", "A2", tenant=tenant, code="99212", charge_cents=9000)
        headers = {**X12, "X-Tenant-ID": tenant}
        assert (await client.post("/v1/remittances", content=standard_file(trace), headers=headers)).status_code == 201
        run = await client.post("/v1/statements/runs", json={}, headers={"X-Tenant-ID": tenant})
        (statement,) = run.json()["statements"]
        pdf = await client.get(f"/v1/statements/{statement['id']}/pdf", headers={"X-Tenant-ID": tenant})
        document = pdfium.PdfDocument(pdf.content)
        texts[tenant] = document[0].get_textpage().get_text_range()
        document.close()
    assert "Valley Family Clinic" in texts["valley"] and "(217) 555-0100" in texts["valley"]
    assert "Hill Pediatrics" in texts["hill"] and "Peoria" in texts["hill"] and "(309) 555-0199" in texts["hill"]
    assert "Hill Pediatrics" not in texts["valley"] and "Valley Family Clinic" not in texts["hill"]


async def test_a_name_the_pdf_fonts_cannot_print_is_printed_approximately_rather_than_failing_the_run(
    stack: tuple[Any, Any],
) -> None:
    import pypdfium2 as pdfium
    from remittance.adapters.statement_pdf import ADDRESS_BLOCK
    from remittance.api.deps import address_book

    client, engine = stack
    await billed(engine, "PCN0001", "A2", description="Khám bệnh (office visit)", provider_name="Trần Thị Mai MD")
    await billed(engine, "PCN0002", "A2", code="99212", charge_cents=9000)
    book = FakeAddressBook({"A2": MailingAddress("NGUYỄN VĂN AN", ("12 Elm St", "Springfield, IL 62704"))})
    client.app.dependency_overrides[address_book] = lambda: book
    assert (await client.post("/v1/remittances", content=standard_file(), headers=X12)).status_code == 201
    run = await client.post("/v1/statements/runs", json={}, headers=T)
    assert run.status_code == 201, run.text
    (issued,) = run.json()["statements"]
    doc = (await client.get(f"/v1/statements/{issued['id']}", headers=T)).json()
    assert doc["mailing"]["recipient"] == "NGUYỄN VĂN AN"  # the document keeps the name as claims has it
    document = pdfium.PdfDocument((await client.get(f"/v1/statements/{issued['id']}/pdf", headers=T)).content)
    assert in_block(document[0], ADDRESS_BLOCK) == "NGUY?N V?N AN | 12 Elm St | Springfield, IL 62704"
    assert "Khám b?nh (office visit) (99213)" in document[0].get_textpage().get_text_range()
    document.close()
