"""The interchanges sent (837 batches, 276 inquiries) and their X12 control numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rcm_shared.db import filter_only, per_engine
from rcm_shared.unit import Unit
from rcm_shared.x12.control import ControlBlocks, next_control, next_controls
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from claims.models import control_number, submission

INTERCHANGE = ("ISA", "GS", "ST")


async def interchange_numbers(conn: AsyncConnection) -> tuple[int, int, int]:
    """The ISA, GS and ST numbers of one outgoing interchange. On PostgreSQL they come from this process's
    block, reserved in a short transaction of its own: drawn in the submission's transaction, they would hold
    the control-number rows locked until it commits, and concurrent submissions would queue behind each
    other. A block not used up is skipped (X12 asks for unique numbers, not consecutive ones). SQLite has
    one writer at a time: drawn in the transaction."""
    if conn.dialect.name == "sqlite":
        numbers = await next_controls(conn, control_number, INTERCHANGE)
    else:
        engine = conn.engine
        blocks = per_engine(
            engine, "claims-interchange-numbers", lambda: ControlBlocks(engine, control_number, INTERCHANGE)
        )
        numbers = await blocks.take()
    return numbers["ISA"], numbers["GS"], numbers["ST"]


async def pending_submissions(conn: AsyncConnection, *, now: datetime | None = None, limit: int = 20) -> list[Any]:
    """The submissions waiting for delivery, of every tenant (the worker's delivery loop), oldest first: id,
    tenant and X12 of each."""
    s = submission.c
    rows = await conn.execute(
        select(s.id, s.tenant_id, s.x12)
        .where(
            and_(s.status == "pending", or_(s.deliver_after.is_(None), s.deliver_after <= (now or datetime.now(UTC))))
        )
        .order_by(submission.c.created_at)
        .limit(limit)
    )
    return list(rows)


class SubmissionsRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    async def interchange_numbers(self) -> tuple[int, int, int]:
        return await interchange_numbers(self.conn)

    async def next_control(self, kind: str) -> int:
        return await next_control(self.conn, control_number, kind)

    async def add(self, values: dict[str, Any]) -> None:
        """A submission, pending until it is delivered."""
        await self.conn.execute(insert(submission).values(**values, tenant_id=self.tenant))

    async def mark_delivery(self, submission_id: str, destination: str | None, error: str | None) -> None:
        """A delivery attempt: delivered (to ``destination``) or not (``error``)."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {"attempts": submission.c.attempts + 1}
        if error is None:
            values |= {"status": "delivered", "delivered_at": now, "destination": destination, "last_error": None}
        else:
            values["last_error"] = error[:2000]
        await self.conn.execute(update(submission).where(self._these([submission_id])).values(**values))

    async def hold_for_caller(self, submission_ids: list[str], seconds: float) -> None:
        """The caller delivers these itself: the worker's delivery loop leaves them alone for ``seconds``."""
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        await self.conn.execute(update(submission).where(self._these(submission_ids)).values(deliver_after=until))

    async def x12(self, submission_id: str) -> str:
        stmt = select(submission.c.x12).where(self._these([submission_id]))
        text: str = (await self.conn.execute(stmt)).scalar_one()
        return text

    async def answered_by(self, group_control: str, transaction_control: str) -> str | None:
        """The submission a 999's answer names (our GS06 and ST02), if it is ours."""
        s = submission.c
        stmt = select(s.id).where(
            and_(
                s.tenant_id == self.tenant,
                s.group_control == group_control,
                s.transaction_control == transaction_control,
            )
        )
        found: str | None = (await self.conn.execute(stmt)).scalar()
        return found

    def _these(self, ids: list[str]) -> Any:
        return and_(filter_only(submission.c.tenant_id) == self.tenant, submission.c.id.in_(ids))
