"""The underpayment/overpayment worklist of the unit's tenant: its items and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.dialects import insert_ignore
from rcm_shared.errors import NotFound
from rcm_shared.unit import Unit
from sqlalchemy import and_, func, insert, select, update

from denials.models import payment_variance, payment_variance_event

pv, pe = payment_variance.c, payment_variance_event.c
GROUPS = {"payer": pv.payer_id, "contract": pv.contract_id, "code": pv.code, "cause": pv.cause}


class VarianceRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    async def open(self, values: dict[str, Any]) -> bool:
        """A new item; False when the same line of the same posting has one already (a redelivery)."""
        done = await self.conn.execute(insert_ignore(self.conn, payment_variance, {**values, "tenant_id": self.tenant}))
        return bool(done.rowcount)

    async def get(self, variance_id: str) -> Any:
        row = (
            await self.conn.execute(
                select(payment_variance).where(and_(pv.tenant_id == self.tenant, pv.id == variance_id))
            )
        ).first()
        if row is None:
            raise NotFound(f"no underpayment or overpayment {variance_id}")
        return row

    def _where(self, kind: str | None, statuses: Sequence[str], payer_id: str | None) -> Any:
        cond = [pv.tenant_id == self.tenant, pv.status.in_(statuses)]
        if kind:
            cond.append(pv.kind == kind)
        if payer_id:
            cond.append(pv.payer_id == payer_id)
        return and_(*cond)

    async def matching(
        self, kind: str | None, statuses: Sequence[str], payer_id: str | None, limit: int, offset: int
    ) -> list[Any]:
        """The items, the most money at stake first."""
        stmt = (
            select(payment_variance)
            .where(self._where(kind, statuses, payer_id))
            .order_by(pv.amount_cents.desc(), pv.opened_at, pv.id)
            .limit(limit)
            .offset(offset)
        )
        return list(await self.conn.execute(stmt))

    async def totals(
        self, group_by: str | None, kind: str | None, statuses: Sequence[str], payer_id: str | None
    ) -> list[tuple[str, str, int, int]]:
        """(group key, kind, items, money at stake) of the items; the key is "" without ``group_by``."""
        key = GROUPS[group_by] if group_by else None
        columns = [key, pv.kind] if key is not None else [pv.kind]
        stmt = (
            select(*columns, func.count(), func.coalesce(func.sum(pv.amount_cents), 0))
            .where(self._where(kind, statuses, payer_id))
            .group_by(*columns)
        )
        out = []
        for row in await self.conn.execute(stmt):
            values = tuple(row)
            group, rest = (values[0], values[1:]) if key is not None else ("", values)
            out.append((str(group), str(rest[0]), int(rest[1]), int(rest[2])))
        return sorted(out, key=lambda t: (-t[3], t[0], t[1]))

    async def of_claim(self, claim_id: str) -> list[Any]:
        return list(
            await self.conn.execute(
                select(payment_variance)
                .where(and_(pv.tenant_id == self.tenant, pv.claim_id == claim_id))
                .order_by(pv.opened_at, pv.line_number)
            )
        )

    async def of_posting(self, claim_id: str, remittance_id: str, statuses: Sequence[str]) -> list[Any]:
        return list(
            await self.conn.execute(
                select(payment_variance).where(
                    and_(
                        pv.tenant_id == self.tenant,
                        pv.claim_id == claim_id,
                        pv.remittance_id == remittance_id,
                        pv.status.in_(statuses),
                    )
                )
            )
        )

    async def of_contract_code(
        self, contract_id: str, code: str, start: date, end: date | None, statuses: Sequence[str]
    ) -> list[Any]:
        """The items of a contract and code whose date of service is in [start, end] (end None: open)."""
        cond = [
            pv.tenant_id == self.tenant,
            pv.contract_id == contract_id,
            pv.code == code,
            pv.service_date >= start,
            pv.status.in_(statuses),
        ]
        if end is not None:
            cond.append(pv.service_date <= end)
        return list(await self.conn.execute(select(payment_variance).where(and_(*cond)).order_by(pv.opened_at, pv.id)))

    async def move(self, row: Any, **values: Any) -> bool:
        """Change the item only if its status is still the one ``row`` read: of two requests racing on it, the
        second changes nothing."""
        done = await self.conn.execute(
            update(payment_variance)
            .where(and_(pv.tenant_id == self.tenant, pv.id == row.id, pv.status == row.status))
            .values(**values, updated_at=datetime.now(UTC))
        )
        return bool(done.rowcount)

    async def log(self, variance_id: str, action: str, actor: str, note: str | None = None) -> None:
        await self.conn.execute(
            insert(payment_variance_event).values(
                tenant_id=self.tenant,
                variance_id=variance_id,
                action=action,
                actor=actor[:120],
                note=note,
                at=datetime.now(UTC),
            )
        )

    async def history(self, variance_id: str) -> list[Any]:
        return list(
            await self.conn.execute(
                select(payment_variance_event)
                .where(and_(pe.tenant_id == self.tenant, pe.variance_id == variance_id))
                .order_by(pe.id)
            )
        )
