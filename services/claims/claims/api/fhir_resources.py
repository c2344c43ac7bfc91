"""A claim's ClaimResponse (one per claim, its id the claim's, rebuilt from the claim's current state on
every read) and a patient account as a Patient. Pure.

Our workflow states are not FHIR codes: the ClaimResponse says where a claim is as its `outcome` (queued
while stored, sent or accepted; complete once adjudicated; error when the scrubber holds it in draft or the
clearinghouse or payer rejected it; partial when partially paid), its `disposition` and `processNote`, and
the Claim carries the state itself as a meta.tag (`fc.CLAIM_STATE`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rcm_shared.fhir import concept, instant, money, money_from_cents

from claims.api import fhir_codes as fc
from claims.api.fhir_claim_out import human, payer_reference, reference_to
from claims.domain import state as st
from claims.use_cases.fhir_claims import PatientAccount, StoredClaim

OUTCOME = {
    st.DRAFT: "error",
    st.READY: "queued",
    st.SUBMITTED: "queued",
    st.ACCEPTED: "queued",
    st.REJECTED: "error",
    st.PAID: "complete",
    st.PARTIALLY_PAID: "partial",
    st.DENIED: "complete",
    st.APPEALED: "complete",
    st.CLOSED: "complete",
    st.CORRECTED: "complete",
    st.VOID: "complete",
}
STATES_OF_OUTCOME = {o: frozenset(s for s, found in OUTCOME.items() if found == o) for o in set(OUTCOME.values())}
# Claim.status, the FHIR financial resource status: a void claim is cancelled, every other one active (our
# drafts are claims entered, held by the scrubber: not FHIR drafts, which are claims not yet complete)
STATES_OF_STATUS = {
    "active": st.STATES - {st.VOID},
    "cancelled": frozenset({st.VOID}),
    "draft": frozenset(),
    "entered-in-error": frozenset(),
}
_LINE = re.compile(r"^lines\[(\d+)\]")


def _disposition(row: Any, errors: int) -> str:
    paid = f"{row.paid_cents / 100:.2f}"
    number = f" as claim {row.payer_claim_control_number}" if row.payer_claim_control_number else ""
    summary = (row.status_detail or {}).get("summary") or "no detail"
    return {
        st.DRAFT: f"held in draft: {errors} scrubber error(s) to fix before it can be sent",
        st.READY: "scrubbed clean: waiting to be sent to the payer",
        st.SUBMITTED: "sent to the clearinghouse: waiting for the payer's acknowledgment",
        st.ACCEPTED: f"accepted by the payer{number}: waiting for its adjudication",
        st.REJECTED: f"rejected: {summary}",
        st.PAID: f"paid {paid} USD",
        st.PARTIALLY_PAID: f"partially paid: {paid} USD, part of the claim denied",
        st.DENIED: "denied by the payer",
        st.APPEALED: "under appeal with the payer",
        st.CLOSED: "closed",
        st.CORRECTED: "replaced by a corrected claim",
        st.VOID: "void",
    }[row.state]


def _scrubber_errors(edits: list[dict[str, str]], severity: str = "error") -> list[dict[str, Any]]:
    out = []
    for edit in edits:
        if edit.get("severity") != severity:
            continue
        found: dict[str, Any] = {}
        line = _LINE.match(edit.get("field", ""))
        if line:
            found["itemSequence"] = int(line[1]) + 1
        text = f"{edit['message']} ({edit['field']})" if edit.get("field") else edit["message"]
        found["code"] = concept(fc.SCRUBBER_RULE, edit["rule"]) | {"text": text}
        out.append(found)
    return out


def _rejections(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The 999's findings or the 277CA's statuses a rejection came with, one error each."""
    if detail.get("source") == "999":
        codes = [concept(fc.X12_999_CODE, c)["coding"][0] for c in detail.get("codes") or []]
        found = []
        for f in detail.get("findings") or [{}]:
            words = ", ".join(f"{e['element']} {e['problem']}" for e in f.get("elements") or [])
            where = f"segment {f['segment']} at {f['position']}: {f['problem']}" if f.get("segment") else ""
            text = "; ".join(t for t in (detail.get("summary"), where, words) if t)
            found.append({"code": {"coding": codes, "text": text} if codes else {"text": text}})
        return found
    statuses = detail.get("statuses") or []
    return [
        {
            "code": {
                "coding": [
                    {"system": fc.STATUS_CATEGORY, "code": s["category"]},
                    {"system": fc.STATUS_CODE, "code": s["code"]},
                ],
                "text": f"{detail.get('source', '277CA')} {s['category']}:{s['code']}"
                + (f":{s['entity']}" if s.get("entity") else ""),
            }
        }
        for s in statuses
    ] or [{"code": {"text": detail.get("summary") or "rejected"}}]


def _submitted(charge: Decimal | None) -> dict[str, Any]:
    """What a line asks: its charge (none while the charge master has not priced it)."""
    return {"category": concept(fc.ADJUDICATION, "submitted")} | (
        {"amount": money(charge)} if charge is not None else {}
    )


def claim_response(found: StoredClaim) -> dict[str, Any]:
    row, doc = found.row, found.document
    edits = list(row.edits or [])
    errors = _scrubber_errors(edits) if row.state == st.DRAFT else []
    if row.state == st.REJECTED:
        errors = _rejections(row.status_detail or {})
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": row.id,
        "meta": {"lastUpdated": instant(row.updated_at)},
        "identifier": [{"system": fc.CLAIM_ID, "value": row.id}],
        "status": "cancelled" if row.state == st.VOID else "active",
        "type": concept(fc.CLAIM_TYPE, doc.kind),
        "use": "claim",
        "patient": {"reference": f"Patient/{row.patient_account}"} if row.patient_account else {"display": "unknown"},
        "created": instant(row.created_at),
        "insurer": payer_reference(doc.payer),
        "requestor": reference_to(doc.billing_provider, doc.billing_provider_npi),
        "request": {"reference": f"Claim/{row.id}"},
        "outcome": OUTCOME[row.state],
        "disposition": _disposition(row, len(errors)),
    }
    if doc.prior_authorization:
        resource["preAuthRef"] = doc.prior_authorization
    submitted = [{"category": concept(fc.ADJUDICATION, "submitted"), "amount": money_from_cents(row.charge_cents)}]
    resource["item"] = [
        {"itemSequence": n, "adjudication": [_submitted(line.charge)]} for n, line in enumerate(doc.lines, 1)
    ]
    adjudicated = row.adjudicated_at is not None
    if adjudicated:
        # the claim keeps the payer's amounts for the whole claim (the 835's lines stay with remittance)
        resource["adjudication"] = [
            {"category": concept(fc.ADJUDICATION, "benefit"), "amount": money_from_cents(row.paid_cents)},
            {
                "category": concept(fc.CARIN_ADJUDICATION, "memberliability"),
                "amount": money_from_cents(row.patient_responsibility_cents),
            },
        ]
    resource["total"] = submitted + (
        [{"category": concept(fc.ADJUDICATION, "benefit"), "amount": money_from_cents(row.paid_cents)}]
        if adjudicated
        else []
    )
    if adjudicated:
        kind = "complete" if row.state == st.PAID else "partial"
        payment: dict[str, Any] = {"type": concept(fc.PAYMENT_TYPE, kind), "amount": money_from_cents(row.paid_cents)}
        if row.paid_on:
            payment["date"] = row.paid_on.isoformat()
        resource["payment"] = payment
    notes = [(row.status_detail or {}).get("summary")] + [
        f"{e['rule']}: {e['message']}" for e in edits if e.get("severity") == "warning"
    ]
    if any(notes):
        resource["processNote"] = [
            {"number": n, "type": "display", "text": text} for n, text in enumerate((t for t in notes if t), 1)
        ]
    if errors:
        resource["error"] = errors
    return resource


def patient_resource(found: PatientAccount) -> dict[str, Any]:
    """The account as a Patient: its number and MRNs, and the demographics of its latest claim."""
    identifiers = [
        {"type": concept(fc.IDENTIFIER_TYPE, "AN"), "system": fc.ACCOUNT, "value": found.account},
        *({"type": concept(fc.IDENTIFIER_TYPE, "MR"), "system": s, "value": v} for s, v in found.identifiers),
    ]
    meta = {"lastUpdated": instant(found.seen)}
    return human(found.document.patient_person, "Patient", found.account, {"meta": meta, "identifier": identifiers})
