"""The events of a posting, from the 835 as the payer sent it and the ledger entries it gave."""

from __future__ import annotations

from datetime import date

from rcm_shared.payloads.remittance import (
    AdjustmentOut,
    ClaimAdjudicatedV1,
    ClaimReversedV1,
    LinePaymentOut,
    ProviderAdjustedV1,
)
from rcm_shared.x12.sets.x835 import ClaimPayment, ProviderAdjustment

from remittance.domain.posting import CONTRACTUAL, Entry, cents, patient_responsibility_cents


def adjudicated(
    remittance_id: str,
    payer_id: str,
    payment_date: date | None,
    c: ClaimPayment,
    es: list[Entry],
    matched: bool,
    crossover_answer: bool = False,
    reversed_already: bool = False,
) -> ClaimAdjudicatedV1:
    return ClaimAdjudicatedV1(
        remittance_id=remittance_id,
        claim_id=c.patient_control_number,
        payer_id=payer_id,
        payer_claim_control_number=c.payer_claim_control_number,
        status_code=c.status,
        charge_cents=cents(c.charge),
        paid_cents=cents(c.paid),
        patient_responsibility_cents=patient_responsibility_cents(es),
        contractual_cents=sum(e.amount_cents for e in es if e.entry_type == CONTRACTUAL),
        adjustments=[
            AdjustmentOut(
                group=e.group_code,
                reason=e.reason_code,
                amount_cents=e.amount_cents,
                line_number=None if e.line_index is None else e.line_index + 1,
            )
            for e in es
            if e.group_code
        ],
        remarks=c.remarks + [code for s in c.services for _q, code in s.remarks],
        lines=[
            LinePaymentOut(
                line_number=n,
                line_control_number=s.line_control_number,
                procedure_code=s.procedure.code,
                charge_cents=cents(s.charge),
                paid_cents=cents(s.paid),
                allowed_cents=cents(s.amounts["B6"]) if "B6" in s.amounts else None,
                remarks=[code for _q, code in s.remarks],
            )
            for n, s in enumerate(c.services, start=1)
        ],
        payment_date=payment_date,
        matched=matched,
        crossover_payer_id=c.crossover_carrier.get("id") if c.forwarded else None,
        crossover_payer_name=c.crossover_carrier.get("name") if c.forwarded else None,
        crossover_answer=crossover_answer,
        reversed_already=reversed_already,
    )


def reversed_(
    remittance_id: str, payer_id: str, c: ClaimPayment, original_remittance_id: str | None
) -> ClaimReversedV1:
    return ClaimReversedV1(
        remittance_id=remittance_id,
        claim_id=c.patient_control_number,
        payer_id=payer_id,
        payer_claim_control_number=c.payer_claim_control_number,
        reversed_paid_cents=cents(c.paid),
        reversed_charge_cents=cents(c.charge),
        original_remittance_id=original_remittance_id,
    )


def provider_adjusted(remittance_id: str, p: ProviderAdjustment, claim_id: str | None) -> ProviderAdjustedV1:
    return ProviderAdjustedV1(
        remittance_id=remittance_id,
        provider_id=p.provider_id,
        reason=p.reason,
        reference=p.reference,
        amount_cents=cents(p.amount),
        claim_id=claim_id,
    )
