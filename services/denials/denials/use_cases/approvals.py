"""A write-off over the approval threshold takes two people: one asks, another approves or rejects it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rcm_shared.errors import Conflict
from rcm_shared.ids import new_id
from rcm_shared.unit import Unit

from denials.repository import DenialRepository
from denials.use_cases.moves import act_on, resolve, resolved, still_denied


class SameActor(PermissionError):
    """A write-off's approver is the person who asked for it: approval takes a second person."""


async def request_write_off(unit: Unit, row: Any, note: str, now: datetime) -> None:
    repo = DenialRepository(unit)
    actor = unit.actor.name
    await repo.request_write_off(
        {
            "id": new_id(),
            "denial_id": row.id,
            "amount_cents": row.amount_cents,
            "note": note,
            "requested_by": actor,
            "requested_at": now,
        }
    )
    await act_on(unit, row, status="write_off_pending", updated_at=now)
    await repo.log(
        row.id,
        "write_off_requested",
        actor,
        f"{row.amount_cents / 100:.2f} is over the approval threshold; awaiting a second person: {note}",
    )


async def approve_write_off(unit: Unit, row: Any, note: str | None, now: datetime) -> None:
    """A second person approves: the denial is written off for the amount asked."""
    repo = DenialRepository(unit)
    actor = unit.actor.name
    request = await _pending(repo, row.id)
    await still_denied(unit, row)
    if request.requested_by == actor:
        raise SameActor(f"the write-off of denial {row.id} was requested by {actor}: another person must approve it")
    await repo.decide_write_off(request.id, actor, "approved", now)
    reason = f"approved; requested by {request.requested_by}: {request.note}" + (f" ({note})" if note else "")
    await resolved(resolve(unit, row, "written_off", actor, reason, 0, written_off=request.amount_cents))


async def reject_write_off(unit: Unit, row: Any, note: str | None, now: datetime) -> None:
    """The request is turned down: the denial goes back to the queue, to whom it was assigned if anyone."""
    repo = DenialRepository(unit)
    request = await _pending(repo, row.id)
    await repo.decide_write_off(request.id, unit.actor.name, "rejected", now)
    await act_on(unit, row, status="in_progress" if row.assignee else "open", updated_at=now)
    await repo.log(row.id, "write_off_rejected", unit.actor.name, note)


async def _pending(repo: DenialRepository, denial_id: str) -> Any:
    request = await repo.pending_write_off(denial_id)
    if request is None:
        raise Conflict(f"denial {denial_id} has no write-off awaiting approval")
    return request
