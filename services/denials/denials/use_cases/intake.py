"""Denials from the payer's answers: the 835's adjudications open denials and recover them, a reversal is noted
on the denial it takes back, a 277CA rejection opens one, a replacement claim is linked to the denial it
answers, and a claim voided or replaced takes back the money its denials moved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rcm_shared.events import Envelope
from rcm_shared.ids import new_id
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.denials import DenialOpenedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.unit import Actor, Unit

from denials.config import DenialsSettings
from denials.domain.classify import Rules
from denials.domain.states import MOVED_STATES, OPEN_STATES
from denials.domain.triage import DenialFinding, findings
from denials.repository import DenialRepository
from denials.use_cases.moves import by_event, resolve, undo_move

SUPERSEDED_CLAIM = ("void", "corrected")


@dataclass(frozen=True)
class Payment:
    """What an adjudication paid on a claim: enough to recover the denials it answers."""

    claim_id: str
    remittance_id: str
    paid_cents: int
    patient_responsibility_cents: int
    line_paid: dict[int, int]


async def on_adjudicated(
    unit: Unit,
    event: ClaimAdjudicatedV1,
    rules: Rules,
    envelope: Envelope,
    *,
    settings: DenialsSettings,
) -> list[str]:
    """Open a denial per denied claim or line; a later payment on a claim under appeal or
    resubmission recovers it. Returns the denials opened."""
    return await on_adjudicated_many(unit, [(event, envelope)], rules, settings=settings)


async def on_adjudicated_many(
    unit: Unit,
    items: Sequence[tuple[ClaimAdjudicatedV1, Envelope]],
    rules: Rules,
    *,
    settings: DenialsSettings,
) -> list[str]:
    """``on_adjudicated`` for many events of the unit's tenant, in order, each event the cause of what it does.
    What every event costs is done once for all: the adjudications seen are inserted in one statement, and one
    query finds which claims have an open denial a payment could recover (most have none)."""
    repo = DenialRepository(unit)
    today = datetime.now(UTC).date()
    seen: list[dict[str, Any]] = []
    work: list[tuple[ClaimAdjudicatedV1, Envelope, list[DenialFinding], Payment | None]] = []
    for event, envelope in items:
        # A payment released from a held 835 after the payer had already reversed it is no answer of the
        # payer's any more: recorded as seen, it opens, recovers and undoes nothing.
        denied_now = [] if event.reversed_already else findings(event, rules)
        # Paid, or processed with the allowed amount left to the patient (deductible): a denial it answers is
        # overturned.
        recovers = not event.reversed_already and (
            event.paid_cents > 0 or (event.patient_responsibility_cents > 0 and not denied_now)
        )
        line_paid = {ln.line_number: ln.paid_cents for ln in event.lines}
        payment = Payment(
            event.claim_id, event.remittance_id, event.paid_cents, event.patient_responsibility_cents, line_paid
        )
        seen.append(
            {
                "claim_id": event.claim_id,
                "payer_id": event.payer_id,
                "denied": 1 if denied_now else 0,
                "paid_cents": event.paid_cents,
                "seen_on": today,
                "remittance_id": event.remittance_id,
                "patient_responsibility_cents": event.patient_responsibility_cents,
                "line_paid": sorted(line_paid.items()),
                "recovers": 1 if recovers else 0,
            }
        )
        work.append((event, envelope, denied_now, payment if recovers else None))
    await repo.record_adjudications(seen)
    claim_ids = {event.claim_id for event, _envelope in items}
    with_open = await repo.claims_with_open(claim_ids)
    with_moved = await repo.claims_with_moved(claim_ids)
    opened = []
    for event, envelope, denied_now, recovering in work:
        if event.reversed_already:
            continue
        cause = unit.acting_as(Actor.of_event(envelope))
        if recovering is not None and event.claim_id in with_moved and not event.crossover_answer:
            await _paid_after_move(cause, recovering, envelope)
        if recovering is not None and event.claim_id in with_open:
            await _recover(cause, recovering, envelope)
        new = await _open(cause, settings, event, denied_now, envelope, today)
        if new:
            with_open.add(event.claim_id)
            opened += new
        if recovering is None and denied_now and event.claim_id in with_open:
            await _upheld_on_appeal(cause, event, envelope)
        if event.claim_id in with_open and not event.crossover_answer:
            await _supersede_reversed(cause, event, envelope)
    return opened


async def _paid_after_move(unit: Unit, payment: Payment, envelope: Envelope) -> None:
    """The payer paid a denied line (the whole claim, for a claim-level denial) whose money the office had
    billed to the patient or written off: the denial is recovered and its move taken back. A payment on
    another line of the claim leaves the move standing."""
    rows = await DenialRepository(unit).of_claim(payment.claim_id, MOVED_STATES, not_source=payment.remittance_id)
    for row in rows:
        paid = payment.line_paid.get(row.line_number, 0) if row.line_number else payment.paid_cents
        if paid <= 0:
            continue
        note = f"the payer paid {paid / 100:.2f} on it in remittance {payment.remittance_id}: the move is undone"
        await undo_move(unit, row, "recovered", note, by_event(envelope), recovered=paid, answer=payment.remittance_id)


async def _supersede_reversed(unit: Unit, event: ClaimAdjudicatedV1, envelope: Envelope) -> None:
    """The corrected adjudication (another remittance) came after the payer reversed the one a denial came
    from, and did not recover it: that denial no longer counts (a denial of the new adjudication carries its
    money, if it denies again), and is closed as superseded."""
    rows = await DenialRepository(unit).of_claim(
        event.claim_id, OPEN_STATES, not_source=event.remittance_id, payer_reversed=True
    )
    for row in rows:
        note = f"the payer's corrected adjudication (remittance {event.remittance_id}) replaces the one it reversed"
        await resolve(unit, row, "superseded", by_event(envelope), note, 0)


async def _upheld_on_appeal(unit: Unit, event: ClaimAdjudicatedV1, envelope: Envelope) -> None:
    """The payer's 835 for an appealed claim denies it again: the appeal is upheld and closed; the new
    adjudication's denial (opened before this) carries the claim on, with its own deadline."""
    repo = DenialRepository(unit)
    for row in await repo.of_claim(event.claim_id, ("appealed",), not_source=event.remittance_id):
        await repo.answer_appeal(row.id, "upheld")
        note = f"the payer denied the claim again in remittance {event.remittance_id}: appeal upheld"
        await resolve(unit, row, "closed", by_event(envelope), note, 0)


async def _open(
    unit: Unit,
    settings: DenialsSettings,
    event: ClaimAdjudicatedV1,
    denied_now: list[DenialFinding],
    envelope: Envelope,
    today: date,
) -> list[str]:
    repo = DenialRepository(unit)
    opened = []
    deadline = (event.payment_date or today) + timedelta(days=settings.window_for(event.payer_id))
    now = datetime.now(UTC)
    for f in denied_now:
        denial_id = new_id()
        c = f.classification
        values = {
            "id": denial_id,
            "claim_id": event.claim_id,
            "line_number": f.line_number or 0,
            "source_id": event.remittance_id,
            "payer_id": event.payer_id,
            "payer_claim_control_number": event.payer_claim_control_number,
            "category": c.category,
            "root_cause": c.root_cause,
            "avoidable": c.avoidable,
            "action": c.action,
            "carcs": f.carcs,
            "rarcs": f.rarcs,
            "amount_cents": f.amount_cents,
            "status": "open",
            "deadline": deadline,
            "deadline_notified": 0,
            "recovered_cents": 0,
            "opened_at": now,
            "updated_at": now,
        }
        # The same remittance again (a redelivered event, a reposted file) opens nothing new.
        if not await repo.open(values):
            continue
        await repo.log(denial_id, "opened", by_event(envelope), f"{c.category}: {c.root_cause}")
        await unit.emit(
            DenialOpenedV1(
                denial_id=denial_id,
                claim_id=event.claim_id,
                line_number=f.line_number,
                payer_id=event.payer_id,
                category=c.category,
                action=c.action,
                amount_cents=f.amount_cents,
                deadline=deadline,
            ),
            event.claim_id,
        )
        opened.append(denial_id)
    return opened


async def _recover(unit: Unit, payment: Payment, envelope: Envelope) -> None:
    repo = DenialRepository(unit)
    for row in await repo.recoverable(payment.claim_id, payment.remittance_id):
        recovered = (
            payment.line_paid.get(row.line_number, payment.paid_cents) if row.line_number else payment.paid_cents
        )
        await resolve(
            unit,
            row,
            "recovered",
            by_event(envelope),
            f"paid {recovered / 100:.2f} (patient responsibility {payment.patient_responsibility_cents / 100:.2f})"
            f" in remittance {payment.remittance_id}",
            recovered,
        )
        await repo.answer_appeal(row.id, "recovered")


async def on_reversed(unit: Unit, event: ClaimReversedV1, envelope: Envelope) -> int:
    """A payer reversal (CLP02 = 22) takes back the adjudication that opened a denial. The denial's history
    records it; its status is left to the corrected adjudication that follows (a payment recovers the
    denial, a new denial opens if the payer denies again). Returns the denials noted."""
    if event.original_remittance_id is None:  # the reversed posting was never found: nothing here came of it
        return 0
    unit = unit.acting_as(Actor.of_event(envelope))
    repo = DenialRepository(unit)
    rows = await repo.of_claim(event.claim_id, OPEN_STATES, source=event.original_remittance_id)
    ids = [r.id for r in rows]
    note = (
        f"the payer reversed the adjudication that opened this denial (remittance {event.remittance_id}, "
        f"payer claim {event.payer_claim_control_number}); its corrected adjudication decides"
    )
    for denial_id in ids:
        await repo.log(denial_id, "payer_reversed", by_event(envelope), note)
    # a denial whose money was moved already: the adjudication the move stood on is gone, the move with it
    moved = await repo.of_claim(event.claim_id, MOVED_STATES, source=event.original_remittance_id)
    why = f"the payer reversed the adjudication it came from (remittance {event.remittance_id}): the move is undone"
    for row in moved:
        if await undo_move(unit, row, "superseded", why, by_event(envelope), answer=event.remittance_id):
            ids.append(row.id)
    return len(ids)


def concerns_denials(event: ClaimStatusChangedV1) -> bool:
    """A rejection, a replacement claim's first transition, or a claim voided or replaced: the status changes
    ``on_claim_status`` acts on."""
    return event.new_state in ("rejected", *SUPERSEDED_CLAIM) or _replacement(event)


def _replacement(event: ClaimStatusChangedV1) -> bool:
    return bool(event.original_claim_id and event.old_state is None and event.frequency == "7")


async def on_claim_status(unit: Unit, event: ClaimStatusChangedV1, envelope: Envelope, rules: Rules) -> None:
    """277CA rejections open a denial; a replacement claim is linked to the denial it answers; a claim voided
    or replaced takes back the money its denials moved (the payer answers the claim anew, or not at all)."""
    unit = unit.acting_as(Actor.of_event(envelope))
    repo = DenialRepository(unit)
    if event.new_state in SUPERSEDED_CLAIM:
        why = f"the claim is {event.new_state}: the move is undone"
        for row in await repo.of_claim(event.claim_id, MOVED_STATES):
            await undo_move(unit, row, "superseded", why, by_event(envelope), answer=None)
    elif event.new_state == "rejected":
        await _rejected(repo, event, envelope, rules)
    elif _replacement(event):
        await repo.link_replacement(str(event.original_claim_id), event.claim_id)
        # The replacement's payment may have come first (another topic, another partition): it recovers now.
        for seen in await repo.recovering_payments(event.claim_id):
            lines = {int(n): int(c) for n, c in seen.line_paid or []}
            payment = Payment(
                seen.claim_id, seen.remittance_id, seen.paid_cents, seen.patient_responsibility_cents, lines
            )
            await _recover(unit, payment, envelope)


async def _rejected(repo: DenialRepository, event: ClaimStatusChangedV1, envelope: Envelope, rules: Rules) -> None:
    """A 277CA rejection: a denial of the whole claim, to correct and resubmit (no money was adjudicated)."""
    now = datetime.now(UTC)
    codes = event.reason_codes or ["A7"]
    c = rules.classify("*", "A7", [])
    denial_id, root_cause = new_id(), f"front-end rejection ({', '.join(codes)})"
    values = {
        "id": denial_id,
        "claim_id": event.claim_id,
        "line_number": 0,
        "source_id": envelope.id,
        "payer_id": event.payer_id or "",
        "payer_claim_control_number": None,
        "category": c.category,
        "root_cause": root_cause,
        "avoidable": "yes",
        "action": "correct_and_resubmit",
        "carcs": [],
        "rarcs": codes,
        "amount_cents": event.charge_cents or 0,
        "status": "open",
        "deadline": None,
        "deadline_notified": 0,
        "recovered_cents": 0,
        "opened_at": now,
        "updated_at": now,
    }
    if await repo.open(values):
        await repo.log(denial_id, "opened", by_event(envelope), root_cause)
