"""Postings of the denials work: a denied amount billed to the patient, or written off.

A denial resolved as billed_patient moves its amount out of insurance A/R to the patient's account (a
``patient_transfer`` line of the patient ledger, on the claim, so statements show it as the patient's share);
one written off leaves insurance A/R as an adjustment. Both are recorded in ``denial_posting`` once per denial
and kind: a resolution delivered again, under any event id, posts nothing more.

A move stands on the payer's adjudication the denial came from. When the payer's later word takes it back (a
payment on the denied line, a reversal of that adjudication, the claim voided or replaced), denials decides
it and says so once (``denial.move_undone``, after the move on the same topic and key): the move is undone
here, once per denial (a ``transfer_undone`` / ``write_off_undone`` posting of the opposite amount, a reversing
patient ledger entry). Claims takes the same event off the claim's columns, so the two ledgers agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rcm_shared.payloads.denials import DenialMoveUndoneV1, DenialResolvedV1
from rcm_shared.unit import Unit

from remittance.domain.posting import PATIENT_TRANSFER, WRITE_OFF
from remittance.repository.billed import BilledRepository
from remittance.repository.patients import PatientRepository
from remittance.repository.reviews import ReviewRepository
from remittance.use_cases.patient_ledger import balance_events

TRANSFER_UNDONE, WRITE_OFF_UNDONE = "transfer_undone", "write_off_undone"
UNDONE = {PATIENT_TRANSFER: TRANSFER_UNDONE, WRITE_OFF: WRITE_OFF_UNDONE}


async def on_denial_resolved(unit: Unit, event: DenialResolvedV1) -> None:
    """Post the money a denial's resolution moved (nothing for a recovered or closed denial)."""
    moves = [
        (kind, cents)
        for kind, cents in ((PATIENT_TRANSFER, event.patient_transfer_cents), (WRITE_OFF, event.written_off_cents))
        if cents
    ]
    if not moves:
        return
    account = await BilledRepository.of(unit).account_of(event.claim_id)
    patients = PatientRepository.of(unit)
    now = datetime.now(UTC)
    for kind, cents in moves:
        posted = await patients.add_denial_posting(
            denial_id=event.denial_id,
            claim_id=event.claim_id,
            line_number=event.line_number,
            kind=kind,
            amount_cents=cents,
            account_id=account if kind == PATIENT_TRANSFER else None,
            posted_at=now,
        )
        if not posted or kind != PATIENT_TRANSFER:
            continue
        if account is None:  # no patient account known for the claim: a person posts it
            await ReviewRepository.of(unit).add(
                None,
                "unposted_patient_transfer",
                event.claim_id,
                f"denial {event.denial_id} billed {cents / 100:.2f} to the patient, but claim "
                f"{event.claim_id} has no patient account here",
                now,
            )
            continue
        await _transfer(unit, account, event.claim_id, cents, now)


async def on_denial_move_undone(unit: Unit, event: DenialMoveUndoneV1) -> int:
    """Undo the postings of the denial's move, once (a redelivery, under any event id, posts nothing more).
    Returns the postings undone."""
    patients = PatientRepository.of(unit)
    rows = await patients.denial_postings_of(event.denial_id)
    done = {r.kind for r in rows}
    now = datetime.now(UTC)
    undone = 0
    for move in rows:
        kind = UNDONE.get(move.kind)
        if kind is None or kind in done:
            continue
        posted = await patients.add_denial_posting(
            denial_id=move.denial_id,
            claim_id=move.claim_id,
            line_number=move.line_number,
            kind=kind,
            amount_cents=-move.amount_cents,
            account_id=move.account_id,
            posted_at=now,
        )
        if not posted:
            continue  # undone meanwhile by the same event delivered again
        undone += 1
        if move.kind != PATIENT_TRANSFER or move.account_id is None:
            continue  # a write-off leaves insurance A/R only; a transfer never posted to an account has no entry
        await _transfer(unit, str(move.account_id), move.claim_id, -move.amount_cents, now)
    return undone


async def _transfer(unit: Unit, account: str, claim_id: str, cents: int, now: datetime) -> None:
    """A patient transfer (or its undoing) on the patient's ledger, and the balance it changes."""
    await PatientRepository.of(unit).add_entry(
        account_id=account,
        claim_id=claim_id,
        entry_type=PATIENT_TRANSFER,
        amount_cents=cents,
        remittance_id=None,
        claim_payment_id=None,
        payment_id=None,
        created_at=now,
    )
    await balance_events(unit, {account: cents}, "denial", {account: [claim_id]})
