"""Money moves: a denial resolved (recovered, billed to the patient, written off, closed, superseded) says what it
moved in ``denial.resolved``; a move the payer's later word takes back says so once, in ``denial.move_undone``."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from rcm_shared.errors import Conflict
from rcm_shared.events import Envelope
from rcm_shared.payloads.denials import DenialMoveUndoneV1, DenialResolvedV1
from rcm_shared.unit import Unit

from denials.repository import DenialRepository


def by_event(envelope: Envelope) -> str:
    """Who acts in a denial's history when an event does: the event's type."""
    return f"event:{envelope.type}"


async def resolve(
    unit: Unit,
    row: Any,
    status: str,
    actor: str,
    note: str | None,
    recovered: int,
    *,
    patient_transfer: int = 0,
    written_off: int = 0,
) -> bool:
    """Resolve the denial as ``row`` was read; False (nothing done) when another resolution or action
    changed it since."""
    repo = DenialRepository(unit)
    now = datetime.now(UTC)
    if not await repo.move(row, status=status, resolved_at=now, updated_at=now, recovered_cents=recovered):
        return False
    await repo.log(row.id, status, actor, note)
    still_open = await repo.open_count(row.claim_id)
    await unit.emit(
        DenialResolvedV1(
            denial_id=row.id,
            claim_id=row.claim_id,
            outcome=status,
            recovered_cents=recovered,
            days_to_resolve=(now - row.opened_at).days,
            claim_settled=still_open == 0,
            line_number=row.line_number or None,
            patient_transfer_cents=patient_transfer,
            written_off_cents=written_off,
            source_remittance_id=row.source_id,
        ),
        row.claim_id,
    )
    return True


async def resolved(resolution: Awaitable[bool]) -> None:
    """An action's resolution, refused when another action resolved or moved the denial first."""
    if not await resolution:
        raise Conflict("the denial was changed by another action meanwhile (it is already resolved or moved on)")


async def act_on(unit: Unit, row: Any, **values: Any) -> None:
    """An action's change of the denial as ``row`` was read, refused when another action changed it first."""
    if not await DenialRepository(unit).move(row, **values):
        raise Conflict(f"denial {row.id} was changed by another action meanwhile (it is already resolved or moved on)")


async def still_denied(unit: Unit, row: Any) -> None:
    """A denial's money moves only while the adjudication it came from stands: once the payer reversed that
    (``intake.on_reversed`` notes it), the money is not denied any more, and a move would take out of A/R what
    is not there; the corrected adjudication decides (a denial of its own if it denies again)."""
    if await DenialRepository(unit).payer_reversed(row.id):
        raise Conflict(
            f"the payer reversed the adjudication denial {row.id} came from: its money is no longer denied; "
            "the payer's corrected adjudication decides (it recovers this denial, or opens one of its own)"
        )


async def undo_move(
    unit: Unit, row: Any, outcome: str, note: str, actor: str, *, recovered: int = 0, answer: str | None
) -> bool:
    """Take back the money a billed_patient / written_off denial moved, once: the denial becomes ``outcome``
    (recovered, or superseded when the adjudication it came from no longer stands) and one
    ``denial.move_undone`` tells claims and remittance to take the move back on their ledgers."""
    repo = DenialRepository(unit)
    now = datetime.now(UTC)
    if not await repo.move(row, status=outcome, updated_at=now, resolved_at=now, recovered_cents=recovered):
        return False
    await repo.log(row.id, "move_undone", actor, note)
    written_off = 0
    if row.status == "written_off":  # the approved request's amount, when a second person approved it
        approved = await repo.approved_write_off(row.id)
        written_off = approved if approved is not None else int(row.amount_cents)
    await unit.emit(
        DenialMoveUndoneV1(
            denial_id=row.id,
            claim_id=row.claim_id,
            line_number=row.line_number or None,
            outcome=outcome,
            patient_transfer_cents=row.amount_cents if row.status == "billed_patient" else 0,
            written_off_cents=written_off,
            source_remittance_id=row.source_id,
            answered_by_remittance_id=answer,
        ),
        row.claim_id,
    )
    return True
