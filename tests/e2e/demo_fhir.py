"""The demo's FHIR visit, checked from outside (test_demo_cycle): the visit the EHR sent as `Claim/$submit` was
paid, and what the FHIR API says of it - its ClaimResponse and ExplanationOfBenefits, read again here - validates
as FHIR R4 and agrees with the claims and remittance REST APIs to the cent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from builders.fhir import assert_fhir
from demo_practices import get, token


def _read(http: httpx.Client, url: str, **params: Any) -> Any:
    response = get(http, url, **params)
    assert response.status_code == 200, (url, response.text[:500])
    return response.json()


def check_fhir_visit(offset: int, summary: dict[str, Any], var: Path) -> dict[str, int]:
    visit = summary["fhir_visit"]
    claim_id = visit["claim_id"]
    claims, remittance = f"http://127.0.0.1:{8002 + offset}", f"http://127.0.0.1:{8003 + offset}"
    with httpx.Client(headers={"Authorization": f"Bearer {token(offset, var)}"}, timeout=30) as http:
        claim = _read(http, f"{claims}/v1/claims/{claim_id}")
        response = assert_fhir(_read(http, f"{claims}/fhir/R4/ClaimResponse/{claim_id}"))
        fhir_claim = assert_fhir(_read(http, f"{claims}/fhir/R4/Claim/{claim_id}"))
        eobs = assert_fhir(_read(http, f"{remittance}/fhir/R4/ExplanationOfBenefit", claim=f"Claim/{claim_id}"))
        postings = _read(http, f"{remittance}/v1/claims/{claim_id}/postings")["payments"]
    assert visit["claim_response"]["outcome"] == response["outcome"] == "complete", response
    assert claim["state"] == "paid", claim  # paid may be 0.00: the deductible took it all
    # the EHR's visit number stays the claim's identifier; the document is the one charge entry stored
    assert any(i["system"] == "https://ehr.example.org/visits" for i in fhir_claim["identifier"]), fhir_claim
    assert sum(round(i["net"]["value"] * 100) for i in fhir_claim["item"]) == claim["charge_cents"]
    payment = response["payment"]["amount"]["value"]
    assert round(payment * 100) == claim["paid_cents"], (payment, claim["paid_cents"])
    active = [e["resource"] for e in eobs["entry"] if e["resource"]["status"] == "active"]
    assert active and all(e["claim"]["reference"] == f"Claim/{claim_id}" for e in active), eobs
    paid = sum(round(e["payment"]["amount"]["value"] * 100) for e in active)
    assert paid == claim["paid_cents"] == sum(p["paid_cents"] for p in postings), (paid, claim, postings)
    owed = sum(round(t["amount"]["value"] * 100) for e in active for t in e["total"] if _code(t) == "memberliability")
    assert owed == claim["patient_responsibility_cents"], (owed, claim["patient_responsibility_cents"])
    for eob in active:  # each line's adjudication adds up: charge = paid + adjustments
        for item in eob["item"]:
            amounts = {_code(a): round(a["amount"]["value"] * 100) for a in item["adjudication"] if "amount" in a}
            adjusted = sum(
                round(a["amount"]["value"] * 100) for a in item["adjudication"] if a.get("reason") and "amount" in a
            )
            assert amounts["submitted"] == round(item["net"]["value"] * 100) == amounts["benefit"] + adjusted, item
    return {"FHIR visit paid cents": paid, "FHIR visit patient cents": owed}


def _code(element: dict[str, Any]) -> str:
    return str(element["category"]["coding"][0]["code"])
