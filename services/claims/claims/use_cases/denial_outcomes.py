"""What the denials work does to a claim: an appeal sent puts it under appeal; a denial billed to the patient
or written off takes its amount out of the claim's insurance balance (and may close the claim); the payer's
later word taking such a move back puts the amount back."""

from __future__ import annotations

from rcm_shared.errors import NotFound
from rcm_shared.payloads.denials import AppealSentV1, DenialMoveUndoneV1, DenialResolvedV1
from rcm_shared.unit import Unit

from claims.domain import state as st
from claims.repository import ClaimsRepository
from claims.use_cases.lifecycle import transition


async def on_denial_move_undone(unit: Unit, event: DenialMoveUndoneV1) -> None:
    """The payer's later word took back a denial's move (denials decides it): what the move took out of the
    claim's insurance balance is owed by the payer again. Once per denial, whatever event id it comes under
    (``denial_move.undone_at``); nothing when the move itself never reached the claim."""
    claims = ClaimsRepository(unit)
    try:
        row = await claims.get(event.claim_id, lock=True)
    except NotFound:
        return
    if not await claims.undo_denial_move(event.denial_id):
        return
    values = {
        "patient_transfer_cents": row.patient_transfer_cents - event.patient_transfer_cents,
        "written_off_cents": row.written_off_cents - event.written_off_cents,
    }
    await claims.update(row.id, values)


async def on_denial_resolved(unit: Unit, event: DenialResolvedV1) -> None:
    """A denial billed to the patient or written off takes its amount out of the claim's insurance balance;
    once the last open denial on a claim is resolved so (or closed), the claim is done with the payer (a
    recovered denial needs nothing: the payment itself moves the claim, nor does one superseded by the payer's
    corrected adjudication). A denial's money is moved once, whatever event id its resolution comes under
    (``denial_move``)."""
    moved = event.patient_transfer_cents or event.written_off_cents
    settles = event.outcome not in ("recovered", "superseded")
    if not moved and (not event.claim_settled or not settles):
        return
    claims = ClaimsRepository(unit)
    try:
        row = await claims.get(event.claim_id, lock=True)
    except NotFound:
        return
    if moved:
        stored = await claims.store_denial_move(
            {
                "denial_id": event.denial_id,
                "claim_id": event.claim_id,
                "source_remittance_id": event.source_remittance_id,
                "patient_transfer_cents": event.patient_transfer_cents,
                "written_off_cents": event.written_off_cents,
            }
        )
        if not stored:
            return  # this denial's resolution came before, under another event id: its money is moved once
    values = {
        "patient_transfer_cents": row.patient_transfer_cents + event.patient_transfer_cents,
        "written_off_cents": row.written_off_cents + event.written_off_cents,
    }
    closes = event.claim_settled and settles
    if closes and row.state in (st.DENIED, st.PARTIALLY_PAID, st.APPEALED):
        reason = f"denial {event.denial_id} {event.outcome}"
        await transition(unit, row, st.CLOSED, reason=reason, values=values)
    elif moved:
        await claims.update(row.id, values)


async def on_appeal_sent(unit: Unit, event: AppealSentV1) -> None:
    """An appeal of a denial on the claim went to the payer: the claim is under appeal until the payer's next
    835 for it (paid, partly paid or denied again). A claim already under appeal, or one that has moved on
    (replaced, voided, closed), stays as it is."""
    try:
        row = await ClaimsRepository(unit).get(event.claim_id, lock=True)
    except NotFound:
        return
    if st.APPEALED not in st.TRANSITIONS.get(row.state, frozenset()):
        return
    reason = f"appeal of denial {event.denial_id} sent; the payer answers by {event.answer_by.isoformat()}"
    await transition(unit, row, st.APPEALED, reason=reason)
