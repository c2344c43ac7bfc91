"""Event payloads as their producers publish them: remittance's ClaimAdjudicatedV1 and ClaimReversedV1, claims'
ClaimStatusChangedV1. ``adj`` and ``reversal`` are the general builders (payer ACME01 unless told); the
``encounter_*`` ones are Medicare Part B's word on the factory's encounter (``encounters.CLEAN``, 245.50);
``submitted`` is a claim's event on submission, with its billed lines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import EllipsisType
from typing import Any

from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1, ClaimReversedV1, LinePaymentOut

ENCOUNTER_CHARGE = 24550  # the factory's encounter: 200.00 + 45.50


def adj(
    claim_id: str,
    paid: int,
    adjustments: list[tuple[str, str, int, int | None]],
    *,
    charge: int = 10000,
    lines: list[tuple[int, int]] | None = None,
    remarks: list[str] | None = None,
    remittance: str = "R1",
    payer: str = "ACME01",
    pccn: str | None = None,
    status: str | None = None,
    contractual: int = 0,
    procedure_code: str = "99213",
    line_control_numbers: bool = False,
    payment_date: date | EllipsisType | None = ...,
    **more: Any,
) -> ClaimAdjudicatedV1:
    """A claim's adjudication: ``adjustments`` (group, CARC, cents, line number or None), ``lines`` (charge, paid)
    numbered from 1 (control numbers ``<claim>-<n>`` if ``line_control_numbers``); status 4 (denied) when nothing is
    paid, else 1; paid today unless ``payment_date`` says otherwise; ``more``: other fields of the payload."""
    return ClaimAdjudicatedV1(
        remittance_id=remittance,
        claim_id=claim_id,
        payer_id=payer,
        payer_claim_control_number=pccn or "PCCN-" + claim_id,
        status_code=status or ("4" if paid == 0 else "1"),
        charge_cents=charge,
        paid_cents=paid,
        patient_responsibility_cents=0,
        contractual_cents=contractual,
        adjustments=[AdjustmentOut(group=g, reason=r, amount_cents=a, line_number=ln) for g, r, a, ln in adjustments],
        remarks=remarks or [],
        payment_date=date.today() if payment_date is ... else payment_date,
        lines=[
            LinePaymentOut(
                line_number=n,
                line_control_number=f"{claim_id}-{n}" if line_control_numbers else None,
                procedure_code=procedure_code,
                charge_cents=c,
                paid_cents=p,
            )
            for n, (c, p) in enumerate(lines or [], start=1)
        ],
        **more,
    )


def encounter_adjudicated(
    claim_id: str,
    paid: int,
    lines_paid: list[int] | None = None,
    *,
    denied: int | None = None,
    remittance: str = "R1",
) -> ClaimAdjudicatedV1:
    """Medicare's adjudication of the factory's encounter: ``paid``, CO-50 (medical necessity) on ``denied`` (all of
    it when nothing is paid, else none), CO-45 on the rest; ``lines_paid``: what each line got (one line: ``paid``)."""
    if denied is None:
        denied = ENCOUNTER_CHARGE if paid == 0 else 0
    rest = ENCOUNTER_CHARGE - paid - denied
    adjustments = [("CO", "50", denied, None)] if denied else []
    if rest:
        adjustments.append(("CO", "45", rest, None))
    return adj(
        claim_id,
        paid,
        adjustments,
        charge=ENCOUNTER_CHARGE,
        lines=[(0, p) for p in ([paid] if lines_paid is None else lines_paid)],
        remittance=remittance,
        payer="MCRB1",
        pccn="PAYERICN1",
        contractual=rest,
        procedure_code="99214",
        line_control_numbers=True,
        payment_date=None,
    )


def reversal(
    claim_id: str,
    original: str | None,
    *,
    remittance: str = "R2",
    paid: int = 0,
    charge: int = 10000,
    payer: str = "ACME01",
    pccn: str | None = None,
) -> ClaimReversedV1:
    """The payer's reversal (CLP02 22) of ``original``'s payment of ``paid`` on a claim of ``charge`` (negated)."""
    return ClaimReversedV1(
        remittance_id=remittance,
        claim_id=claim_id,
        payer_id=payer,
        payer_claim_control_number=pccn or "PCCN-" + claim_id,
        reversed_paid_cents=-paid,
        reversed_charge_cents=-charge,
        original_remittance_id=original,
    )


def encounter_reversed(claim_id: str, paid: int, remittance: str, original: str = "R1") -> ClaimReversedV1:
    """Medicare's reversal of its payment of ``paid`` on the factory's encounter."""
    return reversal(
        claim_id, original, remittance=remittance, paid=paid, charge=ENCOUNTER_CHARGE, payer="MCRB1", pccn="PAYERICN1"
    )


def status_changed(
    claim_id: str, new_state: str, old_state: str | None = "paid", changed_at: datetime | str = "2026-01-05T10:00:00Z"
) -> ClaimStatusChangedV1:
    return ClaimStatusChangedV1(claim_id=claim_id, old_state=old_state, new_state=new_state, changed_at=changed_at)


def submitted(claim_id: str, lines: list[BilledLine]) -> ClaimStatusChangedV1:
    """The claim's event on submission, with its billed lines (the charge is theirs)."""
    return ClaimStatusChangedV1(
        claim_id=claim_id,
        old_state="ready",
        new_state="submitted",
        changed_at=datetime.now(UTC),
        payer_id="ACME01",
        charge_cents=sum(line.charge_cents for line in lines),
        lines=lines,
    )
