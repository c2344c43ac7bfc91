"""Use cases of the denials service: open from remittance and claims events, work, resolve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rcm_shared.bus.outbox import Outbox
from rcm_shared.db import bulk_insert, filter_only
from rcm_shared.dialects import insert_ignore
from rcm_shared.errors import Conflict, NotFound
from rcm_shared.events import Envelope, EventPayload
from rcm_shared.ids import new_id
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.denials import (
    AppealSentV1,
    ClaimCorrection,
    DeadlineApproachingV1,
    DenialMoveUndoneV1,
    DenialOpenedV1,
    DenialResolvedV1,
    ResubmissionRequestedV1,
)
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.x12.carc import is_contractual
from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from denials.config import DenialsSettings
from denials.domain.classify import Rules
from denials.domain.triage import DenialFinding, FeeSchedule, findings, priority, recovery_probability
from denials.letters import letter_pdf, letter_text
from denials.models import adjudication_seen, appeal, bus, denial, denial_event, write_off_approval

SOURCE = "/denials"
OPEN_STATES = ("open", "in_progress", "appealed", "resubmitted", "write_off_pending")
RESOLVED_STATES = ("recovered", "written_off", "billed_patient", "closed", "superseded")
# A denial whose money the office moved out of insurance A/R: the payer's later word on it takes the move back
# (``_undo_move``), and denials alone decides it, from the payer's answers it reads in order per claim.
MOVED_STATES = ("billed_patient", "written_off")
# What waits on someone in the billing office (a write-off over the threshold on its second person): the queue
# a billing specialist opens, and the list of denials by default.
WORK_STATES = ("open", "in_progress", "write_off_pending")


class SameActor(PermissionError):
    """A write-off's approver is the person who asked for it: approval takes a second person."""


@dataclass
class Unit:
    conn: AsyncConnection
    tenant: str
    settings: DenialsSettings

    @property
    def outbox(self) -> Outbox:
        return Outbox(bus, self.settings.kafka.topic_prefix)

    async def emit(self, payload: EventPayload, key: str, causation: Envelope | None = None) -> None:
        await self.outbox.emit(self.conn, payload, source=SOURCE, tenant_id=self.tenant, key=key, cause=causation)

    async def get(self, denial_id: str) -> Any:
        row = (
            await self.conn.execute(
                select(denial).where(and_(denial.c.tenant_id == self.tenant, denial.c.id == denial_id))
            )
        ).first()
        if row is None:
            raise NotFound(f"no denial {denial_id}")
        return row

    async def log(self, denial_id: str, action: str, actor: str, note: str | None = None) -> None:
        await self.conn.execute(
            insert(denial_event).values(
                tenant_id=self.tenant, denial_id=denial_id, action=action, actor=actor, note=note, at=datetime.now(UTC)
            )
        )


# -- events in -----------------------------------------------------------------------------------------
async def on_adjudicated(
    unit: Unit, event: ClaimAdjudicatedV1, rules: Rules, envelope: Envelope, fees: FeeSchedule | None = None
) -> list[str]:
    """Open a denial per denied or underpaid claim or line; a later payment on a claim under appeal or
    resubmission recovers it. Returns the denials opened."""
    return await on_adjudicated_many(unit, [(event, envelope)], rules, fees)


async def on_adjudicated_many(
    unit: Unit, items: Sequence[tuple[ClaimAdjudicatedV1, Envelope]], rules: Rules, fees: FeeSchedule | None = None
) -> list[str]:
    """``on_adjudicated`` for many events of the unit's tenant, in order. What every event costs is done once
    for all: the adjudications seen are inserted in one statement, and one query finds which claims have an
    open denial a payment could recover (most have none); the rest is done per event as before."""
    today = datetime.now(UTC).date()
    seen: list[dict[str, Any]] = []
    work: list[tuple[ClaimAdjudicatedV1, Envelope, list[DenialFinding], Payment | None]] = []
    for event, envelope in items:
        # A payment released from a held 835 after the payer had already reversed it is no answer of the
        # payer's any more: recorded as seen, it opens, recovers and undoes nothing.
        denied_now = [] if event.reversed_already else findings(event, rules, fees)
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
                "tenant_id": unit.tenant,
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
    await bulk_insert(unit.conn, adjudication_seen, seen)
    d = denial.c
    claim_ids = {event.claim_id for event, _envelope in items}
    with_open: set[str] = set()
    # the open denials of these claims or of their replacements: one statement per index (SQLite does not
    # split an OR of two IN lists over two indexes), found by claim and filtered by status
    for column in (d.claim_id, d.replacement_claim_id):
        for claim_id, replacement in await unit.conn.execute(
            select(d.claim_id, d.replacement_claim_id).where(
                and_(d.tenant_id == unit.tenant, column.in_(claim_ids), filter_only(d.status).in_(OPEN_STATES))
            )
        ):
            with_open.update(c for c in (claim_id, replacement) if c)
    with_moved = set(
        (
            await unit.conn.execute(
                select(d.claim_id).where(
                    and_(d.tenant_id == unit.tenant, d.claim_id.in_(claim_ids), filter_only(d.status).in_(MOVED_STATES))
                )
            )
        ).scalars()
    )
    opened = []
    for event, envelope, denied_now, recovering in work:
        if event.reversed_already:
            continue
        if recovering is not None and event.claim_id in with_moved and not event.crossover_answer:
            await _paid_after_move(unit, recovering, envelope)
        if recovering is not None and event.claim_id in with_open:
            await _recover(unit, recovering, envelope)
        new = await _open(unit, event, denied_now, envelope, today)
        if new:
            with_open.add(event.claim_id)
            opened += new
        if recovering is None and denied_now and event.claim_id in with_open:
            await _upheld_on_appeal(unit, event, envelope)
        if event.claim_id in with_open and not event.crossover_answer:
            await _supersede_reversed(unit, event, envelope)
    return opened


async def _paid_after_move(unit: Unit, payment: Payment, envelope: Envelope) -> None:
    """The payer paid a denied line (the whole claim, for a claim-level denial) whose money the office had
    billed to the patient or written off: the denial is recovered and its move taken back. A payment on
    another line of the claim leaves the move standing."""
    d = denial.c
    rows = await unit.conn.execute(
        select(denial).where(
            and_(
                d.tenant_id == unit.tenant,
                d.claim_id == payment.claim_id,
                d.status.in_(MOVED_STATES),
                d.source_id != payment.remittance_id,
            )
        )
    )
    for row in list(rows):
        paid = payment.line_paid.get(row.line_number, 0) if row.line_number else payment.paid_cents
        if paid <= 0:
            continue
        note = f"the payer paid {paid / 100:.2f} on it in remittance {payment.remittance_id}: the move is undone"
        await _undo_move(unit, row, "recovered", note, envelope, recovered=paid, answer=payment.remittance_id)


async def _undo_move(
    unit: Unit, row: Any, outcome: str, note: str, causation: Envelope, *, recovered: int = 0, answer: str | None
) -> bool:
    """Take back the money a billed_patient / written_off denial moved, once: the denial becomes ``outcome``
    (recovered, or superseded when the adjudication it came from no longer stands) and one
    ``denial.move_undone`` tells claims and remittance to take the move back on their ledgers."""
    now = datetime.now(UTC)
    if not await _move(unit, row, status=outcome, updated_at=now, resolved_at=now, recovered_cents=recovered):
        return False
    await unit.log(row.id, "move_undone", f"event:{causation.type}", note)
    await unit.emit(
        DenialMoveUndoneV1(
            denial_id=row.id,
            claim_id=row.claim_id,
            line_number=row.line_number or None,
            outcome=outcome,
            patient_transfer_cents=row.amount_cents if row.status == "billed_patient" else 0,
            written_off_cents=await _written_off(unit, row) if row.status == "written_off" else 0,
            source_remittance_id=row.source_id,
            answered_by_remittance_id=answer,
        ),
        row.claim_id,
        causation,
    )
    return True


async def _written_off(unit: Unit, row: Any) -> int:
    """The amount a written_off denial moved: its approved request's, when a second person approved it."""
    w = write_off_approval.c
    approved = (
        await unit.conn.execute(
            select(w.amount_cents).where(
                and_(w.tenant_id == unit.tenant, w.denial_id == row.id, filter_only(w.outcome) == "approved")
            )
        )
    ).scalar()
    return int(approved if approved is not None else row.amount_cents)


async def _supersede_reversed(unit: Unit, event: ClaimAdjudicatedV1, envelope: Envelope) -> None:
    """The corrected adjudication (another remittance) came after the payer reversed the one a denial came
    from, and did not recover it: that denial no longer counts (a denial of the new adjudication carries its
    money, if it denies again), and is closed as superseded."""
    d, e = denial.c, denial_event.c
    # per denial, through the history's index by denial (never the whole history)
    reversed_ = exists().where(and_(e.denial_id == d.id, e.action == "payer_reversed"))
    rows = await unit.conn.execute(
        select(denial).where(
            and_(
                d.tenant_id == unit.tenant,
                d.claim_id == event.claim_id,
                d.status.in_(OPEN_STATES),
                d.source_id != event.remittance_id,
                reversed_,
            )
        )
    )
    for row in list(rows):
        note = f"the payer's corrected adjudication (remittance {event.remittance_id}) replaces the one it reversed"
        await _resolve(unit, row, "superseded", f"event:{envelope.type}", note, 0, envelope)


async def _upheld_on_appeal(unit: Unit, event: ClaimAdjudicatedV1, envelope: Envelope) -> None:
    """The payer's 835 for an appealed claim denies it again: the appeal is upheld and closed; the new
    adjudication's denial (opened before this) carries the claim on, with its own deadline."""
    d = denial.c
    rows = await unit.conn.execute(
        select(denial).where(
            and_(
                d.tenant_id == unit.tenant,
                d.claim_id == event.claim_id,
                filter_only(d.status) == "appealed",
                d.source_id != event.remittance_id,
            )
        )
    )
    for row in list(rows):
        await unit.conn.execute(
            update(appeal)
            .where(and_(appeal.c.denial_id == row.id, appeal.c.outcome.is_(None)))
            .values(outcome="upheld")
        )
        note = f"the payer denied the claim again in remittance {event.remittance_id}: appeal upheld"
        await _resolve(unit, row, "closed", f"event:{envelope.type}", note, 0, envelope)


async def _open(
    unit: Unit, event: ClaimAdjudicatedV1, denied_now: list[DenialFinding], envelope: Envelope, today: date
) -> list[str]:
    opened = []
    deadline = (event.payment_date or today) + timedelta(days=unit.settings.window_for(event.payer_id))
    now = datetime.now(UTC)
    for f in denied_now:
        denial_id = new_id()
        c = f.classification
        values = {
            "id": denial_id,
            "tenant_id": unit.tenant,
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
        result = await unit.conn.execute(insert_ignore(unit.conn, denial, values))
        if not result.rowcount:
            continue
        await unit.log(denial_id, "opened", f"event:{envelope.type}", f"{c.category}: {c.root_cause}")
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
            envelope,
        )
        opened.append(denial_id)
    return opened


@dataclass(frozen=True)
class Payment:
    """What an adjudication paid on a claim: enough to recover the denials it answers."""

    claim_id: str
    remittance_id: str
    paid_cents: int
    patient_responsibility_cents: int
    line_paid: dict[int, int]


async def _recover(unit: Unit, payment: Payment, envelope: Envelope) -> None:
    d = denial.c
    rows = await unit.conn.execute(
        select(denial).where(
            and_(
                d.tenant_id == unit.tenant,
                d.status.in_(OPEN_STATES),
                (d.claim_id == payment.claim_id) | (d.replacement_claim_id == payment.claim_id),
                d.source_id != payment.remittance_id,
            )
        )
    )
    for row in rows:
        recovered = (
            payment.line_paid.get(row.line_number, payment.paid_cents) if row.line_number else payment.paid_cents
        )
        await _resolve(
            unit,
            row,
            "recovered",
            f"event:{envelope.type}",
            f"paid {recovered / 100:.2f} (patient responsibility {payment.patient_responsibility_cents / 100:.2f})"
            f" in remittance {payment.remittance_id}",
            recovered,
            envelope,
        )
        await unit.conn.execute(
            update(appeal)
            .where(and_(appeal.c.denial_id == row.id, appeal.c.outcome.is_(None)))
            .values(outcome="recovered")
        )


async def on_reversed(unit: Unit, event: ClaimReversedV1, envelope: Envelope) -> int:
    """A payer reversal (CLP02 = 22) takes back the adjudication that opened a denial. The denial's history
    records it; its status is left to the corrected adjudication that follows (a payment recovers the
    denial, a new denial opens if the payer denies again). Returns the denials noted."""
    if event.original_remittance_id is None:  # the reversed posting was never found: nothing here came of it
        return 0
    d = denial.c
    rows = await unit.conn.execute(
        select(denial.c.id).where(
            and_(
                d.tenant_id == unit.tenant,
                d.claim_id == event.claim_id,
                d.source_id == event.original_remittance_id,
                d.status.in_(OPEN_STATES),
            )
        )
    )
    ids = [r.id for r in rows]
    note = (
        f"the payer reversed the adjudication that opened this denial (remittance {event.remittance_id}, "
        f"payer claim {event.payer_claim_control_number}); its corrected adjudication decides"
    )
    for denial_id in ids:
        await unit.log(denial_id, "payer_reversed", f"event:{envelope.type}", note)
    # a denial whose money was moved already: the adjudication the move stood on is gone, the move with it
    moved = await unit.conn.execute(
        select(denial).where(
            and_(
                d.tenant_id == unit.tenant,
                d.claim_id == event.claim_id,
                d.source_id == event.original_remittance_id,
                d.status.in_(MOVED_STATES),
            )
        )
    )
    why = f"the payer reversed the adjudication it came from (remittance {event.remittance_id}): the move is undone"
    for row in list(moved):
        if await _undo_move(unit, row, "superseded", why, envelope, answer=event.remittance_id):
            ids.append(row.id)
    return len(ids)


SUPERSEDED_CLAIM = ("void", "corrected")


def concerns_denials(event: ClaimStatusChangedV1) -> bool:
    """A rejection, a replacement claim's first transition, or a claim voided or replaced: the status changes
    ``on_claim_status`` acts on."""
    return event.new_state in ("rejected", *SUPERSEDED_CLAIM) or _replacement(event)


def _replacement(event: ClaimStatusChangedV1) -> bool:
    return bool(event.original_claim_id and event.old_state is None and event.frequency == "7")


async def on_claim_status(unit: Unit, event: ClaimStatusChangedV1, envelope: Envelope, rules: Rules) -> None:
    """277CA rejections open a denial; a replacement claim is linked to the denial it answers; a claim voided
    or replaced takes back the money its denials moved (the payer answers the claim anew, or not at all)."""
    if event.new_state in SUPERSEDED_CLAIM:
        d = denial.c
        moved = await unit.conn.execute(
            select(denial).where(
                and_(d.tenant_id == unit.tenant, d.claim_id == event.claim_id, d.status.in_(MOVED_STATES))
            )
        )
        why = f"the claim is {event.new_state}: the move is undone"
        for row in list(moved):
            await _undo_move(unit, row, "superseded", why, envelope, answer=None)
    elif event.new_state == "rejected":
        now = datetime.now(UTC)
        codes = event.reason_codes or ["A7"]
        c = rules.classify("*", "A7", [])
        values = {
            "id": new_id(),
            "tenant_id": unit.tenant,
            "claim_id": event.claim_id,
            "line_number": 0,
            "source_id": envelope.id,
            "payer_id": event.payer_id or "",
            "payer_claim_control_number": None,
            "category": c.category,
            "root_cause": f"front-end rejection ({', '.join(codes)})",
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
        result = await unit.conn.execute(insert_ignore(unit.conn, denial, values))
        if result.rowcount:
            await unit.log(str(values["id"]), "opened", f"event:{envelope.type}", str(values["root_cause"]))
    elif _replacement(event):
        d = denial.c
        await unit.conn.execute(
            update(denial)
            .where(and_(d.tenant_id == unit.tenant, d.claim_id == event.original_claim_id, d.status.in_(OPEN_STATES)))
            .values(replacement_claim_id=event.claim_id)
        )
        # The replacement's payment may have come first (another topic, another partition): it recovers now.
        a = adjudication_seen.c
        paid = await unit.conn.execute(
            select(adjudication_seen)
            .where(and_(a.tenant_id == unit.tenant, a.claim_id == event.claim_id, a.recovers == 1))
            .order_by(a.id)
        )
        for seen in paid:
            lines = {int(n): int(c) for n, c in seen.line_paid or []}
            await _recover(
                unit,
                Payment(seen.claim_id, seen.remittance_id, seen.paid_cents, seen.patient_responsibility_cents, lines),
                envelope,
            )


# -- actions -------------------------------------------------------------------------------------------
async def _resolve(
    unit: Unit,
    row: Any,
    status: str,
    actor: str,
    note: str | None,
    recovered: int,
    causation: Envelope | None = None,
    *,
    patient_transfer: int = 0,
    written_off: int = 0,
) -> bool:
    """Resolve the denial as ``row`` was read; False (nothing done) when another resolution or action
    changed it since."""
    now = datetime.now(UTC)
    if not await _move(unit, row, status=status, resolved_at=now, updated_at=now, recovered_cents=recovered):
        return False
    await unit.log(row.id, status, actor, note)
    days = (now - row.opened_at).days
    d = denial.c
    still_open = (
        await unit.conn.execute(
            select(func.count()).where(
                and_(d.tenant_id == unit.tenant, d.claim_id == row.claim_id, d.status.in_(OPEN_STATES))
            )
        )
    ).scalar_one()
    await unit.emit(
        DenialResolvedV1(
            denial_id=row.id,
            claim_id=row.claim_id,
            outcome=status,
            recovered_cents=recovered,
            days_to_resolve=days,
            claim_settled=still_open == 0,
            line_number=row.line_number or None,
            patient_transfer_cents=patient_transfer,
            written_off_cents=written_off,
            source_remittance_id=row.source_id,
        ),
        row.claim_id,
        causation,
    )
    return True


async def _move(unit: Unit, row: Any, **values: Any) -> bool:
    """Change the denial only if its status is still the one ``row`` read: of two requests racing on one
    denial (a double click, a retry), the second changes nothing, so its money moves once."""
    done = await unit.conn.execute(
        update(denial)
        .where(and_(denial.c.tenant_id == unit.tenant, denial.c.id == row.id, denial.c.status == row.status))
        .values(**values)
    )
    return bool(done.rowcount)


async def _act_on(unit: Unit, row: Any, **values: Any) -> None:
    if not await _move(unit, row, **values):
        raise Conflict(f"denial {row.id} was changed by another action meanwhile (it is already resolved or moved on)")


async def act(
    unit: Unit,
    denial_id: str,
    action: str,
    actor: str,
    *,
    note: str | None = None,
    assignee: str | None = None,
    correction: ClaimCorrection | None = None,
) -> Any:
    row = await unit.get(denial_id)
    if row.status in RESOLVED_STATES and action != "comment":  # a closed denial still takes notes
        raise Conflict(f"denial {denial_id} is already {row.status}")
    pending = row.status == "write_off_pending"
    if pending and action not in ("assign", "comment", "approve_write_off", "reject_write_off"):
        raise Conflict(f"denial {denial_id} has a write-off awaiting approval: approve or reject it first")
    if action in ("approve_write_off", "reject_write_off") and not pending:
        raise Conflict(f"denial {denial_id} has no write-off awaiting approval")
    now = datetime.now(UTC)
    if action == "assign":
        await _act_on(unit, row, assignee=assignee, status="in_progress", updated_at=now)
        await unit.log(row.id, "assigned", actor, assignee)
    elif action == "comment":
        await unit.log(row.id, "comment", actor, note)
    elif action == "appeal":
        if row.status == "appealed":
            raise Conflict(f"denial {denial_id} is already under appeal")
        text = letter_text(row, unit.settings.practice_name, now.date())
        answer_by = now.date() + timedelta(days=unit.settings.appeal_answer_days)
        await unit.conn.execute(
            insert(appeal).values(
                id=new_id(),
                tenant_id=unit.tenant,
                denial_id=row.id,
                letter_text=text,
                letter_pdf=letter_pdf(text),
                created_at=now,
                answer_by=answer_by,
            )
        )
        # Once appealed, the date that matters is the payer's answer: the deadline watch warns as it nears.
        await _act_on(unit, row, status="appealed", updated_at=now, deadline=answer_by, deadline_notified=0)
        await unit.log(row.id, "appealed", actor, note)
        await unit.emit(
            AppealSentV1(
                denial_id=row.id,
                claim_id=row.claim_id,
                line_number=row.line_number or None,
                payer_id=row.payer_id,
                amount_cents=row.amount_cents,
                sent_on=now.date(),
                answer_by=answer_by,
            ),
            row.claim_id,
        )
    elif action == "resubmit":
        await _act_on(unit, row, status="resubmitted", updated_at=now)
        await unit.log(row.id, "resubmitted", actor, note)
        await unit.emit(
            ResubmissionRequestedV1(
                denial_id=row.id,
                claim_id=row.claim_id,
                reason=row.root_cause,  # the note, free text, stays in the denial's history
                correction=correction or ClaimCorrection(),
            ),
            row.claim_id,
        )
    elif action == "bill_patient":
        _billable_to_the_patient(row)
        await _still_denied(unit, row)
        await _resolved(_resolve(unit, row, "billed_patient", actor, note, 0, patient_transfer=row.amount_cents))
    elif action == "write_off":
        if not note:
            raise Conflict("a write-off needs a reason")
        await _still_denied(unit, row)
        threshold = unit.settings.write_off_approval_cents
        if threshold is not None and row.amount_cents > threshold:
            await _request_write_off(unit, row, actor, note, now)
        else:
            await _resolved(_resolve(unit, row, "written_off", actor, note, 0, written_off=row.amount_cents))
    elif action == "approve_write_off":
        request = await _pending_write_off(unit, row.id)
        await _still_denied(unit, row)
        if request.requested_by == actor:
            raise SameActor(
                f"the write-off of denial {denial_id} was requested by {actor}: another person must approve it"
            )
        await _decide_write_off(unit, request.id, actor, "approved", now)
        reason = f"approved; requested by {request.requested_by}: {request.note}" + (f" ({note})" if note else "")
        await _resolved(_resolve(unit, row, "written_off", actor, reason, 0, written_off=request.amount_cents))
    elif action == "reject_write_off":
        request = await _pending_write_off(unit, row.id)
        await _decide_write_off(unit, request.id, actor, "rejected", now)
        back = "in_progress" if row.assignee else "open"
        await _act_on(unit, row, status=back, updated_at=now)
        await unit.log(row.id, "write_off_rejected", actor, note)
    elif action == "upheld":  # the payer upheld the denial on appeal
        await unit.conn.execute(
            update(appeal)
            .where(and_(appeal.c.denial_id == row.id, appeal.c.outcome.is_(None)))
            .values(outcome="upheld")
        )
        await _resolved(_resolve(unit, row, "closed", actor, note or "appeal upheld", 0))
    else:
        raise Conflict(f"unknown action {action!r}")
    return await unit.get(denial_id)


async def _still_denied(unit: Unit, row: Any) -> None:
    """A denial's money moves only while the adjudication it came from stands: once the payer reversed that
    (``on_reversed`` notes it), the money is not denied any more, and a move would take out of A/R what is
    not there; the corrected adjudication decides (a denial of its own if it denies again)."""
    e = denial_event.c
    reversed_ = (
        await unit.conn.execute(
            select(e.at)
            .where(and_(e.tenant_id == unit.tenant, e.denial_id == row.id, e.action == "payer_reversed"))
            .limit(1)
        )
    ).first()
    if reversed_ is not None:
        raise Conflict(
            f"the payer reversed the adjudication denial {row.id} came from: its money is no longer denied; "
            "the payer's corrected adjudication decides (it recovers this denial, or opens one of its own)"
        )


def _billable_to_the_patient(row: Any) -> None:
    """Only money that is the patient's to owe is billed to the patient (an allow-list): a member whose coverage
    was not in force (an eligibility denial) is no member under the payer's contract, and a denial whose
    classification recommends billing the patient (a service the plan does not cover) is the patient's.
    A PR (patient responsibility) amount is the patient's already: remittance puts it on the patient ledger
    from the 835. A CO (contractual obligation) amount is the provider's under its contract with the payer:
    billing the patient for it is balance billing, refused; so is an underpayment (the payer's shortfall) and a
    denial no rule classifies. (A patient who signed an advance notice, modifier GA on the line, would be
    billable: the denial does not carry the claim's modifiers, so a person decides.)"""
    patient = [code for code in row.carcs or [] if code.startswith("PR-")]
    if patient:
        raise Conflict(
            f"denial {row.id} is {', '.join(patient)}: the payer already assigned it to the patient, and the "
            "patient's statement bills it from the 835; billing the patient again would bill it twice"
        )
    if row.category == "eligibility":
        return
    provider = [code for code in row.carcs or [] if code.startswith("CO-") and not is_contractual(*code.split("-", 1))]
    if provider:
        raise Conflict(
            f"denial {row.id} is {', '.join(provider)}: a contractual obligation the payer puts on the provider, "
            "which may not be billed to the patient; appeal it, correct and resubmit the claim, or write it off"
        )
    if row.category == "underpayment":
        raise Conflict(
            f"denial {row.id} is an underpayment: the payer paid less than the contracted rate, a shortfall that is "
            "the payer's to pay, not the patient's; appeal it or write it off"
        )
    if row.action != "bill_patient":
        raise Conflict(
            f"denial {row.id} ({row.category}: {row.root_cause}) is not one the classification marks billable to "
            "the patient (coverage not in force, or a service the plan does not cover); appeal it, correct and "
            "resubmit the claim, or write it off"
        )


async def _resolved(resolution: Any) -> None:
    if not await resolution:
        raise Conflict("the denial was changed by another action meanwhile (it is already resolved or moved on)")


async def _request_write_off(unit: Unit, row: Any, actor: str, note: str, now: datetime) -> None:
    await unit.conn.execute(
        insert(write_off_approval).values(
            id=new_id(),
            tenant_id=unit.tenant,
            denial_id=row.id,
            amount_cents=row.amount_cents,
            note=note,
            requested_by=actor,
            requested_at=now,
        )
    )
    await _act_on(unit, row, status="write_off_pending", updated_at=now)
    await unit.log(
        row.id,
        "write_off_requested",
        actor,
        f"{row.amount_cents / 100:.2f} is over the approval threshold; awaiting a second person: {note}",
    )


async def _pending_write_off(unit: Unit, denial_id: str) -> Any:
    w = write_off_approval.c
    request = (
        await unit.conn.execute(
            select(write_off_approval)
            .where(and_(w.tenant_id == unit.tenant, w.denial_id == denial_id, w.outcome.is_(None)))
            .order_by(w.requested_at.desc())
            .limit(1)
        )
    ).first()
    if request is None:
        raise Conflict(f"denial {denial_id} has no write-off awaiting approval")
    return request


async def _decide_write_off(unit: Unit, request_id: str, actor: str, outcome: str, now: datetime) -> None:
    await unit.conn.execute(
        update(write_off_approval)
        .where(write_off_approval.c.id == request_id)
        .values(decided_by=actor, decided_at=now, outcome=outcome)
    )


# -- queries -------------------------------------------------------------------------------------------
async def work_queue(
    unit: Unit,
    *,
    status: Sequence[str],
    category: str | None,
    payer_id: str | None,
    assignee: str | None,
    limit: int,
    offset: int,
) -> list[tuple[Any, float, float]]:
    """Denials sorted by priority: recoverable amount x probability of recovery x urgency of the deadline."""
    d = denial.c
    cond = [d.tenant_id == unit.tenant, d.status.in_(status)]
    if category:
        cond.append(d.category == category)
    if payer_id:
        cond.append(d.payer_id == payer_id)
    if assignee:
        cond.append(d.assignee == assignee)
    rows = list(await unit.conn.execute(select(denial).where(and_(*cond))))
    history = await unit.conn.execute(
        select(d.payer_id, d.category, d.status, func.count())
        .where(and_(d.tenant_id == unit.tenant, d.status.in_(RESOLVED_STATES)))
        .group_by(d.payer_id, d.category, d.status)
    )
    won: dict[tuple[str, str], int] = {}
    lost: dict[tuple[str, str], int] = {}
    for payer, cat, st, n in history:
        (won if st == "recovered" else lost)[(payer, cat)] = (won if st == "recovered" else lost).get(
            (payer, cat), 0
        ) + n
    today = datetime.now(UTC).date()
    scored = []
    for row in rows:
        p = recovery_probability(
            row.category, won.get((row.payer_id, row.category), 0), lost.get((row.payer_id, row.category), 0)
        )
        scored.append((row, p, priority(row.amount_cents, p, row.deadline, today)))
    # a total order (id last), so that pages of the queue neither repeat nor skip a denial
    scored.sort(key=lambda x: (-x[2], x[0].deadline or date.max, x[0].opened_at, x[0].id))
    return scored[offset : offset + limit]


async def due_deadlines(unit_conn: AsyncConnection, settings: DenialsSettings) -> int:
    """Emit denials.denial.deadline-approaching once per denial whose deadline is near: the appeal or refiling
    deadline of an open denial, the date the payer's answer is due for an appealed one."""
    d = denial.c
    horizon = datetime.now(UTC).date() + timedelta(days=settings.deadline_warning_days)
    rows = list(
        await unit_conn.execute(
            select(denial).where(
                and_(
                    d.status.in_(OPEN_STATES), d.deadline.is_not(None), d.deadline <= horizon, d.deadline_notified == 0
                )
            )
        )
    )
    for row in rows:
        unit = Unit(unit_conn, row.tenant_id, settings)
        await unit_conn.execute(update(denial).where(denial.c.id == row.id).values(deadline_notified=1))
        kind = "appeal_answer" if row.status == "appealed" else "filing"
        what = "the payer's answer to the appeal is due" if kind == "appeal_answer" else "deadline"
        await unit.log(row.id, "deadline_warning", "deadline-watch", f"{what} {row.deadline}")
        days = (row.deadline - datetime.now(UTC).date()).days
        await unit.emit(
            DeadlineApproachingV1(
                denial_id=row.id,
                claim_id=row.claim_id,
                deadline=row.deadline,
                days_left=days,
                amount_cents=row.amount_cents,
                kind=kind,
            ),
            row.claim_id,
        )
    return len(rows)
