"""A claim payment (one CLP of an 835) as an ExplanationOfBenefit, shaped after the CARIN Blue Button
professional EOB (whose profile it does not claim): the payer's figures per service line and in total,
every CAS adjustment with its CARC, the RARCs, and the payment. When the claim's payment (CLP04) is not the
sum of its lines' (SVC03), the difference is a header-level benefit (CLAIM_LEVEL_PAYMENT): the items' and the
header's benefits add up to the total.

A payer's reversal (CLP02 22) and the payment it reverses are both ``cancelled`` (fm-status: withdrawn,
rescinded or reversed), each naming the other in ``related``; the reversal keeps the 835's negative
figures. So a claim's ``active`` EOBs are its standing adjudications (the payer's correction among them),
and every EOB together adds up to what was paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rcm_shared.fhir import coding, concept, instant, money_from_cents

from remittance.api.fhir_codes import (
    ADJUDICATION,
    C4BB_ADJUDICATION,
    C4BB_IDENTIFIER_TYPE,
    CARC,
    CAS_GROUP,
    CAS_GROUP_EXTENSION,
    CAS_GROUPS,
    CDT,
    CLAIM_PAYMENT_ID,
    CLAIM_STATUS,
    CLAIM_TYPE,
    CPT,
    DATA_ABSENT,
    EOB_PAYMENT_TYPE,
    FILING_INDICATOR,
    HCPCS,
    NDC,
    OUR_ADJUDICATION,
    PARTIAL_STATUSES,
    PAYER_CLAIM_NUMBER,
    PREDETERMINATION,
    RARC,
    RELATED_CLAIM,
    REVENUE,
    TRACE_NUMBER,
    claim_reference,
    payee,
    payer,
)
from remittance.domain.posting import REVERSAL
from remittance.use_cases.fhir_reads import Adjudication

# PR-1/2/3 are the patient's cost share by kind; every other CAS is categorized by its group.
_COST_SHARE = {
    "1": concept(ADJUDICATION, "deductible", "Deductible"),
    "2": concept(C4BB_ADJUDICATION, "coinsurance", "Co-insurance"),
    "3": concept(ADJUDICATION, "copay", "CoPay"),
}
SUBMITTED = concept(ADJUDICATION, "submitted", "Submitted Amount")
ELIGIBLE = concept(ADJUDICATION, "eligible", "Eligible Amount")
BENEFIT = concept(ADJUDICATION, "benefit", "Benefit Amount")
MEMBER_LIABILITY = concept(C4BB_ADJUDICATION, "memberliability", "Member liability")
REMARK = concept(OUR_ADJUDICATION, "remark", "Remittance advice remark")
# What the payer paid at claim level beyond (or short of) its service lines' payments: CLP04 less the sum of
# SVC03, so the items' benefits and the header's add up to the total benefit.
CLAIM_LEVEL_PAYMENT = {
    "text": "Claim-level payment difference: the claim's payment (CLP04) less its service lines' payments (SVC03)"
}


def is_cancelled(payment: Any) -> bool:
    return bool(payment.status_code == REVERSAL or payment.reversed_by is not None)


def explanation_of_benefit(found: Adjudication) -> dict[str, Any]:
    p = found.payment
    lines = found.lines
    line_cas: dict[int, list[Any]] = {}
    for a in found.adjustments:
        if a.line_number is not None:
            line_cas.setdefault(a.line_number, []).append(a)
    header = [cas(a) for a in found.adjustments if a.line_number is None] + remarks(p.remarks)
    if not lines:  # a claim paid without service lines: its figures are the claim's
        header = [_amount(SUBMITTED, p.charge_cents), _amount(BENEFIT, p.paid_cents), *header]
    elif difference := p.paid_cents - sum(line.paid_cents for line in lines):
        header = [_amount(BENEFIT, difference) | {"reason": CLAIM_LEVEL_PAYMENT}, *header]
    partial = p.status_code in PARTIAL_STATUSES
    institutional = any(line.revenue_code or line.procedure_qualifier == "NU" for line in lines)
    eob: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": p.id,
        "meta": {"lastUpdated": instant(p.updated_at)},
        "status": "cancelled" if is_cancelled(p) else "active",
        "type": concept(
            CLAIM_TYPE, *(("institutional", "Institutional") if institutional else ("professional", "Professional"))
        ),
        "use": "predetermination" if p.status_code == PREDETERMINATION else "claim",
        "patient": _patient(p),
        "created": instant(p.posted_at),
        "insurer": payer(p.payer_id, p.payer_name),
        "provider": payee(p.payee_id, p.payee_id_qualifier, p.payee_name),
        "claim": claim_reference(p.claim_id),
        "outcome": "partial" if partial else "complete",
        "disposition": CLAIM_STATUS.get(p.status_code, f"Claim status {p.status_code}"),
        "insurance": _insurance(p),
        "total": _totals(p, lines),
        "payment": _payment(p, partial),
    }
    if p.payer_claim_control_number:
        eob["identifier"] = [
            {
                "type": concept(C4BB_IDENTIFIER_TYPE, "uc", "Unique Claim ID"),
                "system": PAYER_CLAIM_NUMBER,
                "value": p.payer_claim_control_number,
            }
        ]
    dates = sorted(line.service_date for line in lines if line.service_date)
    if dates:
        eob["billablePeriod"] = {"start": dates[0].isoformat(), "end": dates[-1].isoformat()}
    if lines:
        eob["item"] = [_item(line, line_cas.get(line.line_number, [])) for line in lines]
    if header:
        eob["adjudication"] = header
    related, note = _reversal(p)
    if related:
        eob["related"] = related
    if note:
        eob["processNote"] = [{"number": 1, "type": "display", "text": note}]
    return eob


def _patient(p: Any) -> dict[str, Any]:
    """Patient/<account> once the claim's account is known here; until then a display naming the claim only
    (the 835's patient name and member id are not repeated)."""
    if p.patient_account:
        return {"reference": f"Patient/{p.patient_account}"}
    return {"display": f"the patient of claim {p.claim_id} (account not known to remittance yet)"}


def _insurance(p: Any) -> list[dict[str, Any]]:
    plan = FILING_INDICATOR.get(p.filing_indicator, p.filing_indicator)
    name = p.payer_name or p.payer_id or "payer"
    found = [{"focal": True, "coverage": {"display": f"{name}: {plan}" if plan else name}}]
    if p.crossover_payer_name or p.crossover_payer_id:
        carrier = p.crossover_payer_name or p.crossover_payer_id
        found.append({"focal": False, "coverage": {"display": f"{carrier} (the payer forwarded the claim to it)"}})
    return found


def _amount(category: dict[str, Any], cents: int) -> dict[str, Any]:
    return {"category": category, "amount": money_from_cents(cents)}


def cas(a: Any) -> dict[str, Any]:
    """One CAS adjustment: its CARC as the reason, its group in the category (PR-1/2/3: the cost-share kind)
    and, for every CAS alike, in the claim-adjustment-group extension."""
    group = coding(CAS_GROUP, a.group_code, CAS_GROUPS.get(a.group_code))
    category = _COST_SHARE.get(a.reason_code) if a.group_code == "PR" else None
    return {
        "extension": [{"url": CAS_GROUP_EXTENSION, "valueCoding": group}],
        "category": category or {"coding": [group]},
        "reason": concept(CARC, a.reason_code),
        "amount": money_from_cents(a.amount_cents),
    }


def remarks(codes: str | None) -> list[dict[str, Any]]:
    return [{"category": REMARK, "reason": concept(RARC, code)} for code in (codes or "").split()]


def _item(line: Any, adjustments: Iterable[Any]) -> dict[str, Any]:
    adjudication = [_amount(SUBMITTED, line.charge_cents)]
    if line.allowed_cents is not None:
        adjudication.append(_amount(ELIGIBLE, line.allowed_cents))
    adjudication.append(_amount(BENEFIT, line.paid_cents))
    adjudication += [cas(a) for a in adjustments] + remarks(line.remarks)
    item: dict[str, Any] = {"sequence": line.line_number}
    revenue = line.revenue_code or (line.procedure_code if line.procedure_qualifier == "NU" else None)
    if revenue:
        item["revenue"] = concept(REVENUE, revenue)
    item["productOrService"] = product(line.procedure_qualifier, line.procedure_code)
    modifiers = line.modifiers.split()
    if modifiers:
        item["modifier"] = [concept(CPT if m.isdigit() else HCPCS, m) for m in modifiers]
    if line.service_date:
        item["servicedDate"] = line.service_date.isoformat()
    if line.units:
        item["quantity"] = {"value": float(Decimal(line.units))}
    item["net"] = money_from_cents(line.charge_cents)
    item["adjudication"] = adjudication
    return item


def product(qualifier: str | None, code: str) -> dict[str, Any]:
    """SVC01 as adjudicated: HC a CPT (a leading digit) or HCPCS code; NU a revenue code only (the product is
    then not applicable, as CARIN's institutional EOBs put it); N4 an NDC; AD a CDT code."""
    if qualifier in (None, "HC"):
        return concept(CPT if code[:1].isdigit() else HCPCS, code)
    if qualifier == "NU":
        return concept(DATA_ABSENT, "not-applicable", "Not Applicable")
    if qualifier in ("N4", "AD"):
        return concept(NDC if qualifier == "N4" else CDT, code)
    return {"text": f"{code} (X12 product qualifier {qualifier})"}


def _totals(p: Any, lines: list[Any]) -> list[dict[str, Any]]:
    totals = [_amount(SUBMITTED, p.charge_cents)]
    if lines and all(line.allowed_cents is not None for line in lines):
        totals.append(_amount(ELIGIBLE, sum(line.allowed_cents for line in lines)))
    totals += [_amount(BENEFIT, p.paid_cents), _amount(MEMBER_LIABILITY, p.patient_responsibility_cents)]
    return totals


def _payment(p: Any, partial: bool) -> dict[str, Any]:
    kind = ("partial", "Partial") if partial else ("complete", "Complete")
    payment: dict[str, Any] = {"type": concept(EOB_PAYMENT_TYPE, *kind)}
    if p.payment_date:
        payment["date"] = p.payment_date.isoformat()
    payment["amount"] = money_from_cents(p.paid_cents)
    if p.trace_number:
        payment["identifier"] = {"system": TRACE_NUMBER, "value": p.trace_number}
    return payment


def _reversal(p: Any) -> tuple[list[dict[str, Any]], str]:
    """``related`` and a note for a payment reversed or reversing; ([], "") for any other payment."""
    if p.reversed_by:
        related = {"relationship": {"text": "reversed by"}, "reference": _payment_id(p.reversed_by)}
        return [related], f"Reversed by the payer (CLP02 22): ExplanationOfBenefit/{p.reversed_by}"
    if p.status_code != REVERSAL:
        return [], ""
    if p.reversal_of:
        related = {
            "relationship": concept(RELATED_CLAIM, "prior", "Prior Claim"),
            "reference": _payment_id(p.reversal_of),
        }
        return [related], f"The payer's reversal (CLP02 22) of ExplanationOfBenefit/{p.reversal_of}"
    return [], "The payer's reversal (CLP02 22) of a payment not posted here (an unpaired_reversal review item)"


def _payment_id(ident: str) -> dict[str, str]:
    return {"system": CLAIM_PAYMENT_ID, "value": ident}
