"""Patient statements (the document and the PDF sent) and the runs that issued them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select

from remittance.models import statement, statement_run
from remittance.repository import Repository


class StatementRepository(Repository):
    async def add(self, **values: Any) -> None:
        await self.conn.execute(statement.insert().values(tenant_id=self.tenant, **values))

    async def add_run(self, **values: Any) -> None:
        await self.conn.execute(statement_run.insert().values(tenant_id=self.tenant, **values))

    async def summaries(self, account_id: str | None, run_id: str | None, limit: int, offset: int) -> list[Any]:
        s = statement.c
        where = [s.tenant_id == self.tenant]
        if account_id:
            where.append(s.account_id == account_id)
        if run_id:
            where.append(s.run_id == run_id)
        rows = await self.conn.execute(
            select(s.id, s.account_id, s.amount_due_cents)
            .where(and_(*where))
            .order_by(s.created_at, s.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    async def get(self, statement_id: str) -> Any | None:
        s = statement.c
        return (
            await self.conn.execute(select(statement).where(and_(s.tenant_id == self.tenant, s.id == statement_id)))
        ).first()
