"""The billing office's work on a denial: assign, comment, appeal (a letter as text and PDF), resubmit, bill the
patient, write off (over the threshold, through a second person's approval), and the payer upholding an appeal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rcm_shared.errors import Conflict
from rcm_shared.ids import new_id
from rcm_shared.payloads.denials import AppealSentV1, ClaimCorrection, ResubmissionRequestedV1
from rcm_shared.unit import Unit

from denials.adapters.letters import letter_pdf, letter_text
from denials.config import DenialsSettings
from denials.domain.billing import billable_to_the_patient
from denials.domain.states import RESOLVED_STATES
from denials.repository import DenialRepository
from denials.use_cases.approvals import approve_write_off, reject_write_off, request_write_off
from denials.use_cases.letterhead import letterhead
from denials.use_cases.moves import act_on, resolve, resolved, still_denied

# What a denial awaiting a second person's approval of its write-off still takes.
WHILE_PENDING = ("assign", "comment", "approve_write_off", "reject_write_off")


async def act(
    unit: Unit,
    settings: DenialsSettings,
    denial_id: str,
    action: str,
    *,
    note: str | None = None,
    assignee: str | None = None,
    correction: ClaimCorrection | None = None,
) -> Any:
    """One action of the unit's actor on the denial; the denial as it is afterwards."""
    repo = DenialRepository(unit)
    actor = unit.actor.name
    row = await repo.get(denial_id)
    if row.status in RESOLVED_STATES and action != "comment":  # a closed denial still takes notes
        raise Conflict(f"denial {denial_id} is already {row.status}")
    pending = row.status == "write_off_pending"
    if pending and action not in WHILE_PENDING:
        raise Conflict(f"denial {denial_id} has a write-off awaiting approval: approve or reject it first")
    if action in ("approve_write_off", "reject_write_off") and not pending:
        raise Conflict(f"denial {denial_id} has no write-off awaiting approval")
    now = datetime.now(UTC)
    if action == "assign":
        await act_on(unit, row, assignee=assignee, status="in_progress", updated_at=now)
        await repo.log(row.id, "assigned", actor, assignee)
    elif action == "comment":
        await repo.log(row.id, "comment", actor, note)
    elif action == "appeal":
        await _appeal(unit, settings, row, note, now)
    elif action == "resubmit":
        await act_on(unit, row, status="resubmitted", updated_at=now)
        await repo.log(row.id, "resubmitted", actor, note)
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
        billable_to_the_patient(row)
        await still_denied(unit, row)
        await resolved(resolve(unit, row, "billed_patient", actor, note, 0, patient_transfer=row.amount_cents))
    elif action == "write_off":
        if not note:
            raise Conflict("a write-off needs a reason")
        await still_denied(unit, row)
        threshold = settings.write_off_approval_cents
        if threshold is not None and row.amount_cents > threshold:
            await request_write_off(unit, row, note, now)
        else:
            await resolved(resolve(unit, row, "written_off", actor, note, 0, written_off=row.amount_cents))
    elif action == "approve_write_off":
        await approve_write_off(unit, row, note, now)
    elif action == "reject_write_off":
        await reject_write_off(unit, row, note, now)
    elif action == "upheld":  # the payer upheld the denial on appeal
        await repo.answer_appeal(row.id, "upheld")
        await resolved(resolve(unit, row, "closed", actor, note or "appeal upheld", 0))
    else:
        raise Conflict(f"unknown action {action!r}")
    return await repo.get(denial_id)


async def _appeal(unit: Unit, settings: DenialsSettings, row: Any, note: str | None, now: datetime) -> None:
    if row.status == "appealed":
        raise Conflict(f"denial {row.id} is already under appeal")
    repo = DenialRepository(unit)
    text = letter_text(row, await letterhead(unit, now.date(), settings.practice_name), now.date())
    answer_by = now.date() + timedelta(days=settings.appeal_answer_days)
    await repo.add_appeal(
        {
            "id": new_id(),
            "denial_id": row.id,
            "letter_text": text,
            "letter_pdf": letter_pdf(text),
            "created_at": now,
            "answer_by": answer_by,
        }
    )
    # Once appealed, the date that matters is the payer's answer: the deadline watch warns as it nears.
    await act_on(unit, row, status="appealed", updated_at=now, deadline=answer_by, deadline_notified=0)
    await repo.log(row.id, "appealed", unit.actor.name, note)
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
