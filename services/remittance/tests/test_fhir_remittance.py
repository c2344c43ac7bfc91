"""The remittance FHIR API's resources (SQLite and PostgreSQL): each claim payment of a posted 835 is an
ExplanationOfBenefit with the 835's figures, each posted 835 a PaymentReconciliation whose details add up
to its payment; reversals, a patient known late and held 835s. Searches and paging:
``test_fhir_remittance_search.py``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

from builders import T
from builders.fhir import outcome_issues
from builders.x835 import claim, copay_claim, header, interchange, line, paid_claim
from rcm_shared.x12.sets.x835 import ClaimPayment, ProviderAdjustment
from remittance_fhir_steps import (
    BASE,
    TRACE,
    assert_eob_says,
    bpr02,
    eob_of,
    moment,
    post_835,
    read,
    reversal_of,
    search,
    usd,
)
from remittance_steps import billed


def two_line_claim() -> ClaimPayment:
    """Two lines (one with a modifier, an allowed amount and an RARC, one without an allowed amount) and a
    claim-level CAS (sequestration) with a claim-level RARC."""
    first = line(
        "99214",
        "200.00",
        "120.00",
        [("CO", "45", "40.00"), ("PR", "1", "40.00")],
        "PCN0003-1",
        allowed="160.00",
        modifiers=["25"],
    )
    first.remarks = [("HE", "N130")]
    second = line("G0439", "100.00", "70.00", [("CO", "45", "10.00"), ("OA", "23", "20.00")], "PCN0003-2")
    c = claim(
        "PCN0003", "1", "300.00", "185.00", "ICN1003", [first, second], [("CO", "253", "5.00")], patient_resp="40.00"
    )
    c.remarks = ["MA01"]
    return c


def institutional_claim() -> ClaimPayment:
    """An emergency visit billed with its revenue code (SVC04): copay PR-3."""
    visit = line("99284", "500.00", "350.00", [("CO", "45", "100.00"), ("PR", "3", "50.00")], "PCN0004-1", "400.00")
    visit.revenue_code = "0450"
    return claim("PCN0004", "1", "500.00", "350.00", "ICN1004", [visit], patient_resp="50.00")


def denied_claim() -> ClaimPayment:
    """Denied without service lines: the whole charge is CO-197."""
    return claim("PCN0005", "4", "75.00", "0", "ICN1005", adjustments=[("CO", "197", "75.00")])


CLAIMS = [paid_claim(), copay_claim(), two_line_claim(), institutional_claim(), denied_claim()]
PLBS = [
    ProviderAdjustment("", "1234567893", date(2026, 12, 31), "WO", "ICN0999", D("25.00")),  # a recoupment
    ProviderAdjustment("", "1234567893", date(2026, 12, 31), "L6", "PCN0003", D("-3.50")),  # interest paid
]
HEADER = header("EFT7001", bpr02(CLAIMS, PLBS))


async def test_each_claim_payment_is_an_eob_carrying_the_835s_figures(client: Any) -> None:
    (posted,) = await post_835(client, interchange((HEADER, CLAIMS, PLBS)))
    assert posted["status"] == "posted", posted
    for c in CLAIMS:
        eob = await eob_of(client, c.patient_control_number)
        assert_eob_says(eob, c, HEADER)
        assert eob["outcome"] == "complete" and eob["use"] == "claim"
        # remittance knows no billed claim for them: no patient account, and no name or member id either
        assert set(eob["patient"]) == {"display"} and "DOE" not in eob["patient"]["display"]
        assert eob == await read(client, f"ExplanationOfBenefit/{eob['id']}")
    assert (await eob_of(client, "PCN0005"))["disposition"] == "Denied"


async def test_a_payment_reconciliation_is_the_835s_payment_and_its_details_add_up_to_it(client: Any) -> None:
    (posted,) = await post_835(client, interchange((HEADER, CLAIMS, PLBS)))
    pr = await read(client, f"PaymentReconciliation/{posted['remittance_id']}")
    assert pr["status"] == "active" and pr["outcome"] == "complete"
    assert pr["paymentAmount"] == {"value": usd(HEADER.total_paid), "currency": "USD"}
    assert pr["paymentDate"] == HEADER.payment_date.isoformat() if HEADER.payment_date else False
    assert pr["paymentIdentifier"] == {"system": TRACE, "value": HEADER.trace_number}
    assert pr["paymentIssuer"]["identifier"]["value"] == HEADER.payer_id
    assert pr["requestor"]["identifier"]["value"] == HEADER.payee_id
    details = pr["detail"]
    assert round(sum(d["amount"]["value"] for d in details), 2) == usd(HEADER.total_paid)
    payments = {d["request"]["reference"]: d for d in details if d["type"]["coding"][0]["code"] == "payment"}
    assert {ref: d["amount"]["value"] for ref, d in payments.items()} == {
        f"Claim/{c.patient_control_number}": usd(c.paid) for c in CLAIMS
    }
    for d in payments.values():  # each answered by its EOB
        eob = await read(client, d["response"]["reference"])
        assert eob["claim"] == d["request"] and eob["payment"]["amount"] == d["amount"]
    plbs = [d for d in details if d["type"]["coding"][0]["code"] == "adjustment"]
    assert [(d["type"]["coding"][1]["code"], d["amount"]["value"]) for d in plbs] == [
        (p.reason, -usd(p.amount)) for p in PLBS
    ]
    assert plbs[1]["request"] == {"reference": "Claim/PCN0003"}  # the PLB names a claim of ours
    assert "request" not in plbs[0]


async def test_a_reversal_cancels_the_payment_it_reverses_and_the_correction_stands(client: Any) -> None:
    original = paid_claim()
    (first,) = await post_835(client, interchange((header("EFTR1", bpr02([original])), [original], [])))
    corrected = claim(
        "PCN0001",
        "1",
        "125.00",
        "90.00",
        "ICN1001",
        [line("99213", "125.00", "90.00", [("CO", "45", "25.00"), ("PR", "2", "10.00")], "PCN0001-1", "100.00")],
        patient_resp="10.00",
    )
    back = reversal_of(original)
    second_header = header("EFTR2", bpr02([back, corrected]))
    (second,) = await post_835(client, interchange((second_header, [back, corrected], []), isa=2))
    assert second["status"] == "posted", second

    found = await search(client, "ExplanationOfBenefit", {"claim": "Claim/PCN0001"})
    by_id = {e["id"]: e for e in found}
    (reversed_,) = [e for e in found if e["payment"]["identifier"]["value"] == "EFTR1"]
    (reversal,) = [e for e in found if e["disposition"] == "Reversal of Previous Payment"]
    (standing,) = [e for e in found if e["status"] == "active"]
    assert len(by_id) == 3
    assert_eob_says(reversed_, original, header("EFTR1", bpr02([original])), status="cancelled")
    assert_eob_says(reversal, back, second_header, status="cancelled")
    assert_eob_says(standing, corrected, second_header)
    # each of the pair names the other; the reversed payment changed when the reversal was posted
    assert reversal["related"][0]["reference"]["value"] == reversed_["id"]
    assert reversed_["related"][0]["reference"]["value"] == reversal["id"]
    assert moment(reversed_, "lastUpdated") == moment(reversal) > moment(reversed_)
    # the standing adjudications are the correction alone; every EOB together is what the payer paid
    assert sum(totals["benefit"] for totals in map(_totals, found)) == usd(corrected.paid)
    active = await search(client, "ExplanationOfBenefit", {"claim": "PCN0001", "status": "active"})
    assert [e["id"] for e in active] == [standing["id"]]
    pr = await read(client, f"PaymentReconciliation/{second['remittance_id']}")
    assert sorted(d["amount"]["value"] for d in pr["detail"]) == [usd(back.paid), usd(corrected.paid)]
    assert pr["paymentAmount"]["value"] == usd(back.paid + corrected.paid)
    assert first["remittance_id"] != second["remittance_id"]


def _totals(eob: dict[str, Any]) -> dict[str, float]:
    return {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in eob["total"]}


async def test_the_patient_is_named_once_the_claim_is_known_and_the_eob_is_dated_by_that(
    stack: tuple[Any, Any],
) -> None:
    """A payment that came before its claim: its EOB names no patient; once the claim (and its patient
    account) is known, it references the Patient and its lastUpdated moves, whether the payment's review
    item was still open (matched then) or an operator had resolved it already."""
    client, engine = stack
    early, resolved = paid_claim("PCN0007", "ICN1007"), paid_claim("PCN0008", "ICN1008")
    await post_835(client, interchange((header("EFTL1", bpr02([early, resolved])), [early, resolved], [])))
    before = {c: await eob_of(client, c) for c in ("PCN0007", "PCN0008")}
    assert all("reference" not in e["patient"] for e in before.values())
    items = (await client.get("/v1/review-items?kind=unmatched_claim", headers=T)).json()
    (item,) = [i for i in items if i["claim_id"] == "PCN0008"]
    assert (await client.post(f"/v1/review-items/{item['id']}/resolve", json={"note": "seen"}, headers=T)).is_success
    await billed(engine, "PCN0007", "A7")
    await billed(engine, "PCN0008", "A8")
    for claim_id, account in (("PCN0007", "A7"), ("PCN0008", "A8")):
        after = await eob_of(client, claim_id)
        assert after["patient"] == {"reference": f"Patient/{account}"}
        assert moment(after, "lastUpdated") > moment(before[claim_id], "lastUpdated")
        since = before[claim_id]["meta"]["lastUpdated"]
        found = await search(
            client, "ExplanationOfBenefit", {"patient": f"Patient/{account}", "_lastUpdated": f"gt{since}"}
        )
        assert [e["id"] for e in found] == [after["id"]]


async def test_a_held_835_is_no_payment_reconciliation_until_released_as_sent(client: Any) -> None:
    claims = [paid_claim(), copay_claim()]
    short = D(bpr02(claims)) - D("10.00")  # the payer's payment is 10.00 short of its claims
    (held,) = await post_835(client, interchange((header("EFTH1", f"{short:.2f}"), claims, [])))
    assert held["status"] == "held"
    r = await client.get(f"{BASE}/PaymentReconciliation/{held['remittance_id']}", headers=T)
    assert r.status_code == 404
    ((code, diagnostics, _where),) = outcome_issues(r.json())
    assert code == "not-found" and "held" in diagnostics
    assert await search(client, "PaymentReconciliation") == []
    assert await search(client, "ExplanationOfBenefit") == []  # nothing of it is posted

    r = await client.post(f"/v1/remittances/{held['remittance_id']}/release", json={"note": "EOB checked"}, headers=T)
    assert r.status_code == 200, r.text
    pr = await read(client, f"PaymentReconciliation/{held['remittance_id']}")
    assert pr["paymentAmount"]["value"] == usd(short)
    details = round(sum(d["amount"]["value"] for d in pr["detail"]), 2)
    assert details == usd(D(bpr02(claims))) and any("released as sent" in n["text"] for n in pr["processNote"])
    assert len(await search(client, "ExplanationOfBenefit")) == len(claims)
