"""Steps of the remittance FHIR tests: post an 835 over the REST API, read and search under /fhir/R4 (every
body checked by both validators), and what an ExplanationOfBenefit must say, computed from the 835's own
models (``builders.x835``), never from figures typed into the test."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from builders import T
from builders.fhir import assert_fhir
from rcm_shared.x12.sets.common import Adjustment
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, ProviderAdjustment, ServicePayment
from remittance_steps import X12

BASE = "/fhir/R4"
COST_SHARE = {"1": "deductible", "2": "coinsurance", "3": "copay"}  # PR-1/2/3
GROUP_EXTENSION = "https://rcm.example.org/fhir/StructureDefinition/claim-adjustment-group"
NPI = "http://hl7.org/fhir/sid/us-npi"
PAYER_ID = "https://rcm.example.org/fhir/sid/payer-id"
PCCN = "https://rcm.example.org/fhir/sid/payer-claim-control-number"
TRACE = "https://rcm.example.org/fhir/sid/payment-trace-number"


def usd(amount: Decimal) -> float:
    return float(amount)


def bpr02(claims: list[ClaimPayment], plbs: list[ProviderAdjustment] | None = None) -> str:
    """The payment that balances these claims and PLBs: sum of CLP04 minus the PLB amounts."""
    total = sum((c.paid for c in claims), Decimal(0)) - sum((p.amount for p in plbs or []), Decimal(0))
    return f"{total:.2f}"


def reversal_of(c: ClaimPayment) -> ClaimPayment:
    """The payer's reversal of a payment (CLP02 22): the same claim with every amount negated."""

    def negated(adjustments: list[Adjustment]) -> list[Adjustment]:
        return [Adjustment(a.group, a.reason, -a.amount, a.quantity) for a in adjustments]

    def line(s: ServicePayment) -> ServicePayment:
        return dataclasses.replace(
            s,
            charge=-s.charge,
            paid=-s.paid,
            adjustments=negated(s.adjustments),
            amounts={k: -v for k, v in s.amounts.items()},
        )

    return dataclasses.replace(
        c,
        status="22",
        charge=-c.charge,
        paid=-c.paid,
        patient_responsibility=-c.patient_responsibility if c.patient_responsibility is not None else None,
        adjustments=negated(c.adjustments),
        services=[line(s) for s in c.services],
    )


async def post_835(client: Any, data: bytes, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    r = await client.post("/v1/remittances", content=data, headers=headers or X12)
    assert r.status_code == 201, r.text
    return list(r.json()["remittances"])


async def read(client: Any, path: str, params: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await client.get(f"{BASE}/{path}", params=params, headers=headers or T)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    return assert_fhir(r.json())


async def search(client: Any, kind: str, params: Any = None, headers: dict[str, str] | None = None) -> list[Any]:
    """The resources of a search's first page."""
    bundle = await read(client, kind, params, headers)
    assert bundle["type"] == "searchset"
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


async def eob_of(client: Any, claim_id: str, **params: str) -> dict[str, Any]:
    (found,) = await search(client, "ExplanationOfBenefit", {"claim": f"Claim/{claim_id}", **params})
    return found


def moment(resource: dict[str, Any], element: str = "created") -> datetime:
    value = resource["meta"]["lastUpdated"] if element == "lastUpdated" else resource[element]
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def figures(adjudication: list[dict[str, Any]]) -> dict[str, float]:
    """The submitted, eligible and benefit amounts of an adjudication list."""
    wanted = ("submitted", "eligible", "benefit")
    return {code: a["amount"]["value"] for a in adjudication if (code := a["category"]["coding"][0]["code"]) in wanted}


def cas_of(adjudication: list[dict[str, Any]]) -> list[tuple[str, str, str, float]]:
    """Each CAS adjudication as (group, CARC, category code, amount)."""
    return [
        (
            a["extension"][0]["valueCoding"]["code"],
            a["reason"]["coding"][0]["code"],
            a["category"]["coding"][0]["code"],
            a["amount"]["value"],
        )
        for a in adjudication
        if a.get("extension", [{}])[0].get("url") == GROUP_EXTENSION
    ]


def expected_cas(adjustments: list[Adjustment]) -> list[tuple[str, str, str, float]]:
    return [
        (a.group, a.reason, COST_SHARE.get(a.reason, a.group) if a.group == "PR" else a.group, usd(a.amount))
        for a in adjustments
    ]


def remarks_of(adjudication: list[dict[str, Any]]) -> list[str]:
    return [a["reason"]["coding"][0]["code"] for a in adjudication if a["category"]["coding"][0]["code"] == "remark"]


def totals(eob: dict[str, Any]) -> dict[str, float]:
    return {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in eob["total"]}


def assert_eob_says(eob: dict[str, Any], c: ClaimPayment, h: PaymentHeader, status: str = "active") -> None:
    """The EOB carries this CLP's figures as the 835 states them: claim, lines, every CAS, RARCs, payment."""
    assert eob["status"] == status and eob["claim"] == {"reference": f"Claim/{c.patient_control_number}"}
    assert eob["identifier"][0]["system"] == PCCN and eob["identifier"][0]["value"] == c.payer_claim_control_number
    assert eob["insurer"]["identifier"] == {"system": PAYER_ID, "value": h.payer_id}
    assert eob["provider"]["identifier"] == {"system": NPI, "value": h.payee_id}
    every_cas = [*c.adjustments, *(a for s in c.services for a in s.adjustments)]
    patient_share = sum((a.amount for a in every_cas if a.group == "PR"), Decimal(0))
    expected_totals = {"submitted": usd(c.charge), "benefit": usd(c.paid), "memberliability": usd(patient_share)}
    if c.services and all("B6" in s.amounts for s in c.services):
        expected_totals["eligible"] = usd(sum((s.amounts["B6"] for s in c.services), Decimal(0)))
    assert totals(eob) == expected_totals
    items = eob.get("item", [])
    assert len(items) == len(c.services)
    for n, (item, s) in enumerate(zip(items, c.services, strict=True), start=1):
        assert item["sequence"] == n
        assert item["productOrService"]["coding"][0]["code"] == s.procedure.code
        assert [m["coding"][0]["code"] for m in item.get("modifier", [])] == s.procedure.modifiers
        assert item.get("servicedDate") == (s.service_date.isoformat() if s.service_date else None)
        assert item.get("quantity", {}).get("value") == (float(s.units) if s.units is not None else None)
        assert item["net"]["value"] == usd(s.charge)
        allowed = {"eligible": usd(s.amounts["B6"])} if "B6" in s.amounts else {}
        assert figures(item["adjudication"]) == {"submitted": usd(s.charge), "benefit": usd(s.paid), **allowed}
        assert cas_of(item["adjudication"]) == expected_cas(s.adjustments)
        assert remarks_of(item["adjudication"]) == [code for qualifier, code in s.remarks if qualifier == "HE"]
        if s.revenue_code:
            assert item["revenue"]["coding"][0]["code"] == s.revenue_code
    header = eob.get("adjudication", [])
    assert cas_of(header) == expected_cas(c.adjustments) and remarks_of(header) == c.remarks
    if not c.services:
        assert figures(header) == {"submitted": usd(c.charge), "benefit": usd(c.paid)}
    else:  # what the claim paid beyond its lines (CLP04 less the SVC03s) is a header-level benefit, if any
        beyond = c.paid - sum((s.paid for s in c.services), Decimal(0))
        assert figures(header) == ({"benefit": usd(beyond)} if beyond else {})
    benefits = [
        a for i in [*items, eob] for a in i.get("adjudication", []) if a["category"]["coding"][0]["code"] == "benefit"
    ]
    assert sum(Decimal(str(a["amount"]["value"])) for a in benefits) == c.paid  # items + header = total
    kind = "institutional" if any(s.revenue_code for s in c.services) else "professional"
    assert eob["type"]["coding"][0]["code"] == kind
    payment = eob["payment"]
    assert payment["amount"]["value"] == usd(c.paid) and payment["identifier"] == {
        "system": TRACE,
        "value": h.trace_number,
    }
    assert payment.get("date") == (h.payment_date.isoformat() if h.payment_date else None)
