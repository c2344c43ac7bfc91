"""The deadline watch: a warning, once per denial, as its appeal or refiling deadline nears (or, appealed, the
date the payer's answer is due)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rcm_shared.payloads.denials import DeadlineApproachingV1
from rcm_shared.unit import Actor, Units
from sqlalchemy.ext.asyncio import AsyncConnection

from denials.config import DenialsSettings
from denials.models import bus
from denials.repository import DenialRepository, due_for_warning

WATCH = Actor("deadline-watch")


async def due_deadlines(conn: AsyncConnection, settings: DenialsSettings) -> int:
    """Emit denials.denial.deadline-approaching once per denial whose deadline is near, in the transaction of
    ``conn``, each in a unit of the denial's tenant. Returns the denials warned about."""
    units = Units.of_service(settings, bus)
    today = datetime.now(UTC).date()
    rows = await due_for_warning(conn, today + timedelta(days=settings.deadline_warning_days))
    for row in rows:
        unit = units.on(conn, row.tenant_id, WATCH)
        repo = DenialRepository(unit)
        await repo.mark_warned(row.id)
        kind = "appeal_answer" if row.status == "appealed" else "filing"
        what = "the payer's answer to the appeal is due" if kind == "appeal_answer" else "deadline"
        await repo.log(row.id, "deadline_warning", WATCH.name, f"{what} {row.deadline}")
        await unit.emit(
            DeadlineApproachingV1(
                denial_id=row.id,
                claim_id=row.claim_id,
                deadline=row.deadline,
                days_left=(row.deadline - datetime.now(UTC).date()).days,
                amount_cents=row.amount_cents,
                kind=kind,
            ),
            row.claim_id,
        )
    return len(rows)
