"""Crossovers (``domain.crossover``): the forwarded payments an 835 may answer, marking them answered, and
releasing the patient share of those whose answer is late."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from rcm_shared.unit import Unit
from rcm_shared.x12.sets.x835 import ClaimPayment

from remittance.domain.crossover import PENDING, AnsweredMeanwhile, EarlyAnswer, Forwarded
from remittance.domain.patients import share_of
from remittance.repository.crossovers import CrossoverRepository
from remittance.use_cases.patient_ledger import post_shares


async def waiting(unit: Unit, claim_ids: Sequence[str], payer_id: str) -> dict[str, Forwarded]:
    """The forwarded payments of these claims another payer than ``payer_id`` forwarded and no crossover
    answer has come for yet, by claim id (the latest one of a claim), with their patient share; locked on
    PostgreSQL until the posting commits (``CrossoverRepository.waiting``)."""
    repo = CrossoverRepository.of(unit)
    found = {
        row.claim_id: Forwarded(row.id, row.claim_id, row.payer_id, row.crossover_state, [])
        for row in await repo.waiting(claim_ids, payer_id)
    }
    if found:
        shares = await repo.patient_share([f.id for f in found.values()])
        for f in found.values():
            f.patient.extend(shares[f.id])
    return found


async def answered_already(unit: Unit, claims: Sequence[ClaimPayment], payer_id: str) -> dict[str, EarlyAnswer]:
    """For the forwarded payments among ``claims`` (this 835's, from ``payer_id``), the crossover payer's
    answer already posted for the same claim, by claim id: a payment from the carrier NM1*TT names (from
    another payer when it names none) that is no reversal, no forward, answers nothing yet and stands."""
    forwarded = {c.patient_control_number: c.crossover_carrier.get("id") for c in claims if c.forwarded}
    if not forwarded:
        return {}
    repo = CrossoverRepository.of(unit)
    found: dict[str, EarlyAnswer] = {}
    for row in await repo.standing_payments(list(forwarded), payer_id):
        carrier = forwarded[row.claim_id]
        if carrier is None or row.payer_id == carrier:
            found[row.claim_id] = EarlyAnswer(row.id, [])  # the latest
    if found:
        by_id = {a.id: a for a in found.values()}
        for payment_id, entry_type, amount in await repo.prior_payer_entries(list(by_id)):
            by_id[payment_id].prior_payer.append((entry_type, amount))
    return found


async def mark_answered(unit: Unit, answered: dict[str, str], read: dict[str, str]) -> None:
    """The forwarded payments (id -> the answering payment's id) have their crossover answer. Each moves from
    the state this posting read (``read``, by id; pending when not named: one posted in this transaction)
    under a conditional update: a payment another transaction moved meanwhile raises ``AnsweredMeanwhile``."""
    repo = CrossoverRepository.of(unit)
    for forwarded_id, answer_id in answered.items():
        was = read.get(forwarded_id, PENDING)
        if not await repo.answer(forwarded_id, was, answer_id):
            raise AnsweredMeanwhile(f"forwarded payment {forwarded_id} is no longer {was}")


async def release_late(unit: Unit, as_of: date, wait_days: int, now: datetime) -> list[str]:
    """The forwarded payments whose crossover answer is later than ``wait_days`` after their payment date
    (the claims follow-up lists them from the same day): their patient share is posted, due from the
    patient. Returns the claim ids released.

    Lateness is judged as of ``as_of`` but never after ``now``: a run dated ahead must not bill today what
    the crossover payer still has time to pay. Each payment moves from pending under a conditional update
    and only the rows this call moved are posted, so two runs at once post a share once; on PostgreSQL a
    payment another transaction holds (a run, or a posting of its crossover answer) is left to it."""
    repo = CrossoverRepository.of(unit)
    cutoff = min(as_of, now.date()) - timedelta(days=wait_days)
    late = [p for p in await repo.pending() if (p.payment_date or p.posted_at.date()) < cutoff]
    if not late:
        return []
    moved = await repo.release([p.id for p in late])
    late = [p for p in late if p.id in moved]  # another run released the rest meanwhile
    if not late:
        return []
    entries = await repo.patient_share([p.id for p in late])
    shares = [share_of(p, entries[p.id], due=True) for p in late]
    await post_shares(unit, shares, now)
    return sorted({p.claim_id for p in late})
