"""Payer contracts as the denials API takes them (JSON and CSV), claims' billed lines, and a payer's
adjudication that states each line's allowed amount (AMT*B6), as remittance publishes it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1, LinePaymentOut

CONTRACT_START = date(2026, 1, 1)  # contract dates do not depend on today: pricing takes the date of service
SERVICE_DAY = date(2026, 3, 2)


def contract(
    payer: str = "ACME01",
    rates: dict[tuple[str, str], int] | None = None,
    *,
    effective_from: date = CONTRACT_START,
    effective_to: date | None = None,
    **terms: Any,
) -> dict[str, Any]:
    """A contract version as ``POST /v1/contracts`` takes it: ``rates`` (code, modifier) -> cents per unit
    (default 99213 at 92.50, 36415 at 3.00); ``terms``: default rule, flags, plan, name, note."""
    lines = rates if rates is not None else {("99213", ""): 9250, ("36415", ""): 300}
    return {
        "payer_id": payer,
        "effective_from": effective_from.isoformat(),
        "effective_to": effective_to.isoformat() if effective_to else None,
        "fee_lines": [{"code": c, "modifier": m, "rate_cents": r} for (c, m), r in lines.items()],
        **terms,
    }


def billed(
    number: int,
    code: str,
    charge: int,
    *,
    units: str = "1",
    modifiers: tuple[str, ...] = (),
    service_date: date | None = SERVICE_DAY,
) -> BilledLine:
    return BilledLine(
        line_number=number,
        procedure_code=code,
        modifiers=list(modifiers),
        units=units,
        charge_cents=charge,
        service_date=service_date,
    )


def billed_claim(claim_id: str, lines: list[BilledLine], payer: str = "ACME01") -> ClaimStatusChangedV1:
    """The claim's event on submission, with its billed lines."""
    return ClaimStatusChangedV1(
        claim_id=claim_id,
        old_state="ready",
        new_state="submitted",
        changed_at=datetime.now(UTC),
        payer_id=payer,
        charge_cents=sum(line.charge_cents for line in lines),
        lines=lines,
    )


def paid(
    claim_id: str,
    lines: list[tuple[int, str, int, int, int]],
    *,
    remittance: str = "R1",
    payer: str = "ACME01",
    status: str = "1",
    allowed_stated: bool = True,
) -> ClaimAdjudicatedV1:
    """A primary payment: ``lines`` (line number, code, charge, allowed, patient share) in cents; each line
    pays allowed - patient share, CO-45 takes charge - allowed, PR-2 the patient share. ``allowed_stated``:
    the 835 carries AMT*B6 (else the allowed amount is paid + patient share)."""
    adjustments = []
    outs = []
    for number, code, charge, allowed, patient in lines:
        if charge > allowed:
            adjustments.append(
                AdjustmentOut(group="CO", reason="45", amount_cents=charge - allowed, line_number=number)
            )
        if patient:
            adjustments.append(AdjustmentOut(group="PR", reason="2", amount_cents=patient, line_number=number))
        outs.append(
            LinePaymentOut(
                line_number=number,
                line_control_number=None,
                procedure_code=code,
                charge_cents=charge,
                paid_cents=allowed - patient,
                allowed_cents=allowed if allowed_stated else None,
            )
        )
    return ClaimAdjudicatedV1(
        remittance_id=remittance,
        claim_id=claim_id,
        payer_id=payer,
        payer_claim_control_number="PCCN-" + claim_id,
        status_code=status,
        charge_cents=sum(line[2] for line in lines),
        paid_cents=sum(o.paid_cents for o in outs),
        patient_responsibility_cents=sum(line[4] for line in lines),
        contractual_cents=sum(max(0, line[2] - line[3]) for line in lines),
        adjustments=adjustments,
        lines=outs,
        payment_date=SERVICE_DAY,
    )
