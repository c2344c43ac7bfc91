"""Matching payments to what was billed: the billed lines of the claims an 835 pays, and the payments
posted before their claim was known here (the 835 came before the claim's own events: a fast payer, or
this worker behind), matched once the claim and its lines are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rcm_shared.unit import Unit

from remittance.domain.matching import match_line, stored_service
from remittance.domain.patients import share_of
from remittance.repository.billed import BilledRepository
from remittance.repository.ledger import LedgerRepository
from remittance.repository.reviews import ReviewRepository
from remittance.use_cases.patient_ledger import post_shares

LATE_NOTE = "matched when the claim's billed lines arrived"


async def reconcile_late_claims(unit: Unit, claim_ids: set[str], now: datetime) -> None:
    """Payments of these claims posted before the claim's lines were known, matched now.

    The payment is marked matched, its lines matched to the billed lines (REF*6R, then code, date and
    units as stored), the patient's share it held is posted to the claim's patient account, and the review
    items that said so are resolved with a note. Claims with no open review item cost one query.
    """
    reviews = ReviewRepository.of(unit)
    items = await reviews.open_unmatched(claim_ids)
    if not items:
        return
    ledger = LedgerRepository.of(unit)
    billed = await BilledRepository.of(unit).billed(list({item.claim_id for item in items}))
    payments = await ledger.payments_of_claims(list(billed))
    lines_of: dict[str, list[Any]] = {}
    for line in await ledger.lines_of_payments([p.id for p in payments]):
        lines_of.setdefault(line.claim_payment_id, []).append(line)
    matches, unmatched = [], set()
    for p in payments:
        used = {line.billed_line_id for line in lines_of.get(p.id, []) if line.billed_line_id is not None}
        for line in lines_of.get(p.id, []):
            if line.billed_line_id is not None:
                continue
            billed_id, method = match_line(billed[p.claim_id], stored_service(line), used)
            if billed_id is None:
                unmatched.add(p.claim_id)
            else:
                matches.append({"id": line.id, "billed_line_id": billed_id, "match_method": method})
    if matches:
        await ledger.match_lines(matches)
    late = [p for p in payments if not p.matched]
    if late:
        entries: dict[str, list[tuple[str, int]]] = {p.id: [] for p in late}
        for payment_id, entry_type, amount in await ledger.patient_entries(list(entries)):
            if amount:
                entries[payment_id].append((entry_type, amount))
        shares = []
        for p in late:
            name = (p.held_patient_last_name, p.held_patient_first_name) if p.held_patient_last_name else None
            shares.append(share_of(p, entries[p.id], name))
        await post_shares(unit, shares, now)
        await ledger.mark_matched([p.id for p in late], now)
    done = [i.id for i in items if i.kind == "unmatched_claim" or i.claim_id not in unmatched]
    if done:
        await reviews.resolve(done, LATE_NOTE, now)
