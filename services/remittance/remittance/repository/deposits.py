"""Bank deposits (EFT or check), each matched to the remittance with the same trace number and amount."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, insert, select, update

from remittance.models import deposit, remittance
from remittance.repository import Repository

DEPOSITED_METHODS = ("ACH", "CHK", "FWT", "BOP")  # BPR04: payments that reach the bank as a deposit


class DepositRepository(Repository):
    async def by_trace(self, trace_number: str) -> Any | None:
        d = deposit.c
        return (
            await self.conn.execute(
                select(deposit).where(and_(d.tenant_id == self.tenant, d.trace_number == trace_number))
            )
        ).first()

    async def posted_remittance(self, trace_number: str, amount_cents: int) -> str | None:
        """The posted remittance a deposit of this trace number and amount pays."""
        r = remittance.c
        found: str | None = (
            await self.conn.execute(
                select(r.id).where(
                    and_(
                        r.tenant_id == self.tenant,
                        r.trace_number == trace_number,
                        r.total_paid_cents == amount_cents,
                        r.status == "posted",
                    )
                )
            )
        ).scalar()
        return found

    async def add(
        self,
        deposit_id: str,
        trace_number: str,
        amount_cents: int,
        deposit_date: date,
        remittance_id: str | None,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            insert(deposit).values(
                id=deposit_id,
                tenant_id=self.tenant,
                trace_number=trace_number,
                amount_cents=amount_cents,
                deposit_date=deposit_date,
                remittance_id=remittance_id,
                created_at=now,
            )
        )

    async def match(self, remittance_id: str, trace_number: str, amount_cents: int) -> None:
        """The unmatched deposit of this trace number and amount, matched to the remittance just posted."""
        d = deposit.c
        await self.conn.execute(
            update(deposit)
            .where(
                and_(
                    d.tenant_id == self.tenant,
                    d.trace_number == trace_number,
                    d.amount_cents == amount_cents,
                    d.remittance_id.is_(None),
                )
            )
            .values(remittance_id=remittance_id)
        )

    async def reconciliation(self) -> tuple[list[Any], list[Any]]:
        """Deposits matching no remittance, and posted remittances paid to the bank matching no deposit."""
        d, r = deposit.c, remittance.c
        unmatched_deposits = await self.conn.execute(
            select(deposit).where(and_(d.tenant_id == self.tenant, d.remittance_id.is_(None))).order_by(d.deposit_date)
        )
        matched = select(d.remittance_id).where(and_(d.tenant_id == self.tenant, d.remittance_id.is_not(None)))
        unmatched_remittances = await self.conn.execute(
            select(remittance)
            .where(
                and_(
                    r.tenant_id == self.tenant,
                    r.status == "posted",
                    r.total_paid_cents != 0,
                    r.payment_method.in_(DEPOSITED_METHODS),
                    r.id.not_in(matched),
                )
            )
            .order_by(r.payment_date)
        )
        return list(unmatched_deposits), list(unmatched_remittances)
