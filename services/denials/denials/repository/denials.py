"""Denials, their history, appeals, write-off approvals and the adjudications seen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.db import bulk_insert, filter_only
from rcm_shared.dialects import insert_ignore
from rcm_shared.errors import NotFound
from rcm_shared.unit import Unit
from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from denials.domain.states import MOVED_STATES, OPEN_STATES, RESOLVED_STATES
from denials.models import adjudication_seen, appeal, denial, denial_event, write_off_approval

d, e, w, a, ap = denial.c, denial_event.c, write_off_approval.c, adjudication_seen.c, appeal.c


async def due_for_warning(conn: AsyncConnection, horizon: date) -> list[Any]:
    """The denials of every tenant whose deadline falls by ``horizon`` and that have not been warned about."""
    return list(
        await conn.execute(
            select(denial).where(
                and_(
                    d.status.in_(OPEN_STATES), d.deadline.is_not(None), d.deadline <= horizon, d.deadline_notified == 0
                )
            )
        )
    )


class DenialRepository:
    """The denials of the unit's tenant."""

    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    # -- denials -----------------------------------------------------------------------------------------
    async def get(self, denial_id: str) -> Any:
        row = (
            await self.conn.execute(select(denial).where(and_(d.tenant_id == self.tenant, d.id == denial_id)))
        ).first()
        if row is None:
            raise NotFound(f"no denial {denial_id}")
        return row

    async def open(self, values: dict[str, Any]) -> bool:
        """Insert a denial; False when the same claim, line and source opened one already (a redelivery)."""
        result = await self.conn.execute(insert_ignore(self.conn, denial, {**values, "tenant_id": self.tenant}))
        return bool(result.rowcount)

    async def move(self, row: Any, **values: Any) -> bool:
        """Change the denial only if its status is still the one ``row`` read: of two requests racing on one
        denial (a double click, a retry), the second changes nothing, so its money moves once."""
        done = await self.conn.execute(
            update(denial)
            .where(and_(d.tenant_id == self.tenant, d.id == row.id, d.status == row.status))
            .values(**values)
        )
        return bool(done.rowcount)

    async def mark_warned(self, denial_id: str) -> None:
        await self.conn.execute(
            update(denial).where(and_(d.tenant_id == self.tenant, d.id == denial_id)).values(deadline_notified=1)
        )

    async def claims_with_open(self, claim_ids: set[str]) -> set[str]:
        """The claims among ``claim_ids`` (as the claim or as its replacement) with an open denial."""
        found: set[str] = set()
        # one statement per index (SQLite does not split an OR of two IN lists over two indexes), found by claim
        # and filtered by status
        for column in (d.claim_id, d.replacement_claim_id):
            for claim_id, replacement in await self.conn.execute(
                select(d.claim_id, d.replacement_claim_id).where(
                    and_(d.tenant_id == self.tenant, column.in_(claim_ids), filter_only(d.status).in_(OPEN_STATES))
                )
            ):
                found.update(c for c in (claim_id, replacement) if c)
        return found

    async def claims_with_moved(self, claim_ids: set[str]) -> set[str]:
        rows = await self.conn.execute(
            select(d.claim_id).where(
                and_(d.tenant_id == self.tenant, d.claim_id.in_(claim_ids), filter_only(d.status).in_(MOVED_STATES))
            )
        )
        return set(rows.scalars())

    async def of_claim(
        self,
        claim_id: str,
        statuses: Sequence[str],
        *,
        source: str | None = None,
        not_source: str | None = None,
        payer_reversed: bool = False,
    ) -> list[Any]:
        """The claim's denials in ``statuses``: opened from ``source`` only, or not from ``not_source``, or
        only those whose adjudication the payer reversed."""
        cond = [d.tenant_id == self.tenant, d.claim_id == claim_id]
        cond.append(filter_only(d.status) == statuses[0] if len(statuses) == 1 else d.status.in_(statuses))
        if source is not None:
            cond.append(d.source_id == source)
        if not_source is not None:
            cond.append(d.source_id != not_source)
        if payer_reversed:  # per denial, through the history's index by denial (never the whole history)
            cond.append(exists().where(and_(e.denial_id == d.id, e.action == "payer_reversed")))
        return list(await self.conn.execute(select(denial).where(and_(*cond))))

    async def recoverable(self, claim_id: str, remittance_id: str) -> list[Any]:
        """The open denials a payment of ``claim_id`` (the claim or its replacement) in another remittance answers."""
        return list(
            await self.conn.execute(
                select(denial).where(
                    and_(
                        d.tenant_id == self.tenant,
                        d.status.in_(OPEN_STATES),
                        (d.claim_id == claim_id) | (d.replacement_claim_id == claim_id),
                        d.source_id != remittance_id,
                    )
                )
            )
        )

    async def link_replacement(self, original_claim_id: str, replacement_id: str) -> None:
        await self.conn.execute(
            update(denial)
            .where(and_(d.tenant_id == self.tenant, d.claim_id == original_claim_id, d.status.in_(OPEN_STATES)))
            .values(replacement_claim_id=replacement_id)
        )

    async def open_count(self, claim_id: str) -> int:
        count = await self.conn.execute(
            select(func.count()).where(
                and_(d.tenant_id == self.tenant, d.claim_id == claim_id, d.status.in_(OPEN_STATES))
            )
        )
        return int(count.scalar_one())

    async def matching(
        self, statuses: Sequence[str], *, category: str | None, payer_id: str | None, assignee: str | None
    ) -> list[Any]:
        cond = [d.tenant_id == self.tenant, d.status.in_(statuses)]
        if category:
            cond.append(d.category == category)
        if payer_id:
            cond.append(d.payer_id == payer_id)
        if assignee:
            cond.append(d.assignee == assignee)
        return list(await self.conn.execute(select(denial).where(and_(*cond))))

    async def outcomes(self) -> list[tuple[str, str, str, int]]:
        """How many resolved denials each payer and category has, by status: (payer, category, status, n)."""
        rows = await self.conn.execute(
            select(d.payer_id, d.category, d.status, func.count())
            .where(and_(d.tenant_id == self.tenant, d.status.in_(RESOLVED_STATES)))
            .group_by(d.payer_id, d.category, d.status)
        )
        return [(payer, category, status, n) for payer, category, status, n in rows]

    async def opened_between(self, start: datetime, end: datetime) -> list[Any]:
        period = and_(d.tenant_id == self.tenant, d.opened_at >= start, d.opened_at < end)
        return list(await self.conn.execute(select(denial).where(period)))

    # -- history -----------------------------------------------------------------------------------------
    async def log(self, denial_id: str, action: str, actor: str, note: str | None = None) -> None:
        await self.conn.execute(
            insert(denial_event).values(
                tenant_id=self.tenant, denial_id=denial_id, action=action, actor=actor, note=note, at=datetime.now(UTC)
            )
        )

    async def history(self, denial_id: str) -> list[Any]:
        return list(
            await self.conn.execute(
                select(denial_event).where(and_(e.tenant_id == self.tenant, e.denial_id == denial_id)).order_by(e.id)
            )
        )

    async def payer_reversed(self, denial_id: str) -> bool:
        reversed_ = await self.conn.execute(
            select(e.at)
            .where(and_(e.tenant_id == self.tenant, e.denial_id == denial_id, e.action == "payer_reversed"))
            .limit(1)
        )
        return reversed_.first() is not None

    # -- appeals -----------------------------------------------------------------------------------------
    async def add_appeal(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(appeal).values(**values, tenant_id=self.tenant))

    async def answer_appeal(self, denial_id: str, outcome: str) -> None:
        """The payer's answer to the denial's appeal under way, if any (recovered, upheld)."""
        await self.conn.execute(
            update(appeal)
            .where(and_(ap.tenant_id == self.tenant, ap.denial_id == denial_id, ap.outcome.is_(None)))
            .values(outcome=outcome)
        )

    async def letter(self, denial_id: str, *, pdf: bool = False) -> str | None:
        """The latest appeal letter's text, or its PDF (base64)."""
        column = ap.letter_pdf if pdf else ap.letter_text
        latest = await self.conn.execute(
            select(column)
            .where(and_(ap.tenant_id == self.tenant, ap.denial_id == denial_id))
            .order_by(ap.created_at.desc())
            .limit(1)
        )
        return latest.scalar()

    # -- write-off approvals -----------------------------------------------------------------------------
    async def request_write_off(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(write_off_approval).values(**values, tenant_id=self.tenant))

    async def pending_write_off(self, denial_id: str) -> Any | None:
        return (
            await self.conn.execute(
                select(write_off_approval)
                .where(and_(w.tenant_id == self.tenant, w.denial_id == denial_id, w.outcome.is_(None)))
                .order_by(w.requested_at.desc())
                .limit(1)
            )
        ).first()

    async def decide_write_off(self, request_id: str, actor: str, outcome: str, now: datetime) -> None:
        await self.conn.execute(
            update(write_off_approval)
            .where(and_(w.tenant_id == self.tenant, w.id == request_id))
            .values(decided_by=actor, decided_at=now, outcome=outcome)
        )

    async def approved_write_off(self, denial_id: str) -> int | None:
        approved = await self.conn.execute(
            select(w.amount_cents).where(
                and_(w.tenant_id == self.tenant, w.denial_id == denial_id, filter_only(w.outcome) == "approved")
            )
        )
        value = approved.scalar()
        return None if value is None else int(value)

    # -- adjudications seen ------------------------------------------------------------------------------
    async def record_adjudications(self, rows: Iterable[dict[str, Any]]) -> None:
        await bulk_insert(self.conn, adjudication_seen, [{**row, "tenant_id": self.tenant} for row in rows])

    async def recovering_payments(self, claim_id: str) -> list[Any]:
        """The payments seen on ``claim_id`` that recover a denial they answer, in the order seen."""
        return list(
            await self.conn.execute(
                select(adjudication_seen)
                .where(and_(a.tenant_id == self.tenant, a.claim_id == claim_id, a.recovers == 1))
                .order_by(a.id)
            )
        )

    async def adjudicated(self, since: date, until: date) -> tuple[int, int]:
        """The claims adjudicated between the days, and those of them denied."""
        seen = (
            await self.conn.execute(
                select(
                    func.count(func.distinct(a.claim_id)), func.count(func.distinct(a.claim_id)).filter(a.denied == 1)
                ).where(and_(a.tenant_id == self.tenant, a.seen_on >= since, a.seen_on <= until))
            )
        ).one()
        return int(seen[0]), int(seen[1])
