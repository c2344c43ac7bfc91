"""A posted 835 (one transaction set) as a PaymentReconciliation: the payment (BPR, TRN), who paid whom, and
one detail per claim payment (answered by its ExplanationOfBenefit) and per provider-level adjustment (PLB).

The details add up to the payment amount: claim payments (CLP04) as paid, PLBs negated (a positive PLB
amount reduces the payment). A held 835 an operator released as sent is the exception: its details differ
from BPR02 by the imbalance it was held for, which a processNote states.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rcm_shared.fhir import coding, concept, instant, money_from_cents

from remittance.api.fhir_codes import (
    PAYER_CLAIM_NUMBER,
    PAYMENT_TYPE,
    PLB_ADVANCES,
    PLB_REASON,
    PLB_REASONS,
    TRACE_NUMBER,
    claim_reference,
    payee,
    payer,
)
from remittance.use_cases.fhir_reads import Reconciliation

PAYMENT = concept(PAYMENT_TYPE, "payment", "Payment")
METHODS = {
    "ACH": "ACH (EFT)",
    "CHK": "check",
    "NON": "no payment",
    "FWT": "federal reserve wire",
    "BOP": "financial institution option",
}


def signed_total_cents(r: Any) -> int:
    """BPR02 with BPR03's sign (D: a debit, money the provider owes)."""
    return int(-r.total_paid_cents if r.credit_debit == "D" else r.total_paid_cents)


def payment_reconciliation(found: Reconciliation) -> dict[str, Any]:
    r = found.remittance
    paid_on = r.payment_date or r.production_date or r.posted_at.date()
    details = [_claim_detail(p, paid_on) for p in found.payments]
    details += [_plb_detail(a, paid_on) for a in found.provider_adjustments]
    resource: dict[str, Any] = {
        "resourceType": "PaymentReconciliation",
        "id": r.id,
        "meta": {"lastUpdated": instant(r.posted_at)},
        "status": "active",
        "created": instant(r.posted_at),
        "paymentIssuer": payer(r.payer_id, r.payer_name),
        "requestor": payee(r.payee_id, r.payee_id_qualifier, r.payee_name),
        "outcome": "complete",
        "disposition": "released after review as the payer sent it" if r.review_decision else "posted",
        "paymentDate": paid_on.isoformat(),
        "paymentAmount": money_from_cents(signed_total_cents(r)),
    }
    if r.trace_number:
        trace = {"system": TRACE_NUMBER, "value": r.trace_number}
        resource["identifier"] = [trace]
        resource["paymentIdentifier"] = trace
    if details:
        resource["detail"] = details
    notes = _notes(r)
    if notes:
        resource["processNote"] = [{"type": "display", "text": text} for text in notes]
    return resource


def _claim_detail(p: Any, paid_on: date) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if p.payer_claim_control_number:
        detail["identifier"] = {"system": PAYER_CLAIM_NUMBER, "value": p.payer_claim_control_number}
    detail |= {
        "type": PAYMENT,
        "request": claim_reference(p.claim_id),
        "response": {"reference": f"ExplanationOfBenefit/{p.id}"},
        "date": paid_on.isoformat(),
        "amount": money_from_cents(p.paid_cents),
    }
    return detail


def _plb_detail(a: Any, paid_on: date) -> dict[str, Any]:
    """A PLB: an adjustment (an advance for AP/PI), its reason kept as a second, finer coding of the type;
    the claim it names when the reference is one of ours; its amount negated (positive reduces the payment)."""
    kind = ("advance", "Advance") if a.reason in PLB_ADVANCES else ("adjustment", "Adjustment")
    meaning = PLB_REASONS.get(a.reason)
    detail: dict[str, Any] = {}
    if a.reference:
        detail["identifier"] = {"value": a.reference}
    detail["type"] = {
        "coding": [coding(PAYMENT_TYPE, *kind), coding(PLB_REASON, a.reason, meaning)],
        "text": f"provider-level adjustment {a.reason}" + (f": {meaning}" if meaning else ""),
    }
    if a.claim_id:
        detail["request"] = claim_reference(a.claim_id)
    detail |= {"date": paid_on.isoformat(), "amount": money_from_cents(-a.amount_cents)}
    return detail


def _notes(r: Any) -> list[str]:
    notes = [f"payment method (BPR04): {METHODS.get(r.payment_method, r.payment_method)}"]
    if r.handling_code == "H":
        notes.append("notification only (BPR01 H): no funds move with this remittance")
    if r.review_decision and r.imbalance_cents:
        off = Decimal(r.imbalance_cents) / 100
        notes.append(f"held because it did not balance, then released as sent: payment amount - details = {off:.2f}")
    return notes
