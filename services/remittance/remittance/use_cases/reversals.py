"""Payer reversals (CLP02 22): each paired with the posting it takes back, whichever of the two came first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rcm_shared.unit import Unit
from rcm_shared.x12.sets.x835 import ClaimPayment

from remittance.domain.posting import REVERSAL, cents
from remittance.repository.ledger import LedgerRepository
from remittance.repository.reviews import ReviewRepository


async def reversal(unit: Unit, remittance_id: str, c: ClaimPayment, cp_id: str, now: datetime) -> str | None:
    """Pair a reversal (posted as ``cp_id``) with the original posting of the same payer claim control
    number (``LedgerRepository.original_of_reversal``); none found goes to review. Returns the original's
    remittance id."""
    ledger = LedgerRepository.of(unit)
    original = await ledger.original_of_reversal(
        c.patient_control_number, c.payer_claim_control_number, cents(c.paid), remittance_id
    )
    if original is None:
        await ReviewRepository.of(unit).add(
            remittance_id,
            "unpaired_reversal",
            c.patient_control_number,
            f"reversal of payer claim {c.payer_claim_control_number}: no original posting found",
            now,
        )
        return None
    await ledger.pair(original.id, cp_id, now)
    return str(original.remittance_id)


async def pair_earlier_reversals(
    unit: Unit, remittance_id: str, claims: list[ClaimPayment], claim_ids: list[str], now: datetime
) -> set[str]:
    """Pair this set's payments with the payer's reversals of them that were posted first and found no
    original (same claim, payer claim number and amount): the pair is marked as ``reversal`` marks one,
    and the reversal's review item resolved. Claims applied the reversal's money when it came, so no
    event is emitted again: the payment's own adjudication (marked ``reversed_already``) nets with it
    there, leaving the state and patient share the reversal set. Returns the payment ids paired."""
    wanted = {
        (c.patient_control_number, c.payer_claim_control_number, -cents(c.paid)): cp_id
        for c, cp_id in zip(claims, claim_ids, strict=True)
        if c.status != REVERSAL
    }
    if not wanted:
        return set()
    ledger = LedgerRepository.of(unit)
    found = await ledger.unpaired_reversals(list({claim_id for claim_id, _n, _p in wanted}), remittance_id)
    paired: dict[str, Any] = {}
    for r in found:
        payment = wanted.pop((r.claim_id, r.payer_claim_control_number, r.paid_cents), None)
        if payment is not None:
            paired[payment] = r
    reviews = ReviewRepository.of(unit)
    for payment, r in paired.items():
        await ledger.pair(payment, r.id, now)
        await reviews.resolve_unpaired_reversal(
            r.remittance_id, r.claim_id, f"paired with its original, released from held remittance {remittance_id}", now
        )
    return set(paired)
