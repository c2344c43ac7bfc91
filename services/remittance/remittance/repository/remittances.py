"""Remittances (one per 835 transaction set): their rows, duplicates and corrections, held sets, decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from rcm_shared.audit import AuditEntry, append_many
from sqlalchemy import and_, case, func, insert, select, update

from remittance.domain.posting import CONTRACTUAL, PATIENT_TYPES, PAYMENT, PROVIDER_ADJUSTMENT
from remittance.models import NOT_SUPERSEDED, audit, held_set, ledger_entry, provider_adjustment, remittance
from remittance.repository import Repository

UNPOSTED = ("held", "rejected")  # a remittance the payer's corrected 835 (same TRN02) supersedes


class RemittanceRepository(Repository):
    async def list_remittances(
        self,
        *,
        payer_id: str | None,
        status: Sequence[str] | None,
        since: date | None,
        until: date | None,
        limit: int,
        offset: int,
    ) -> list[Any]:
        r = remittance.c
        cond = [r.tenant_id == self.tenant]
        if payer_id:
            cond.append(r.payer_id == payer_id)
        if status:
            cond.append(r.status.in_(status))
        if since:
            cond.append(r.payment_date >= since)
        if until:
            cond.append(r.payment_date <= until)
        rows = await self.conn.execute(
            select(remittance)
            .where(and_(*cond))
            .order_by(r.received_at.desc(), r.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    async def get_remittance(self, remittance_id: str) -> Any | None:
        r = remittance.c
        return (
            await self.conn.execute(select(remittance).where(and_(r.tenant_id == self.tenant, r.id == remittance_id)))
        ).first()

    async def provider_adjustments(self, remittance_id: str) -> list[Any]:
        p = provider_adjustment.c
        rows = await self.conn.execute(
            select(provider_adjustment)
            .where(and_(p.tenant_id == self.tenant, p.remittance_id == remittance_id))
            .order_by(p.id)
        )
        return list(rows)

    async def same_payment(
        self, sender_id: str, interchange: str, transaction: str, payer_id: str, trace: str
    ) -> list[Any]:
        """The remittances of the same interchange (sender + ISA13 + ST02), or of the same payer and TRN02
        that were not superseded."""
        r = remittance.c
        same_file = (
            (r.sender_id == sender_id) & (r.interchange_control == interchange) & (r.transaction_control == transaction)
        )
        same_trace = (r.payer_id == payer_id) & (r.trace_number == trace) & NOT_SUPERSEDED
        return list(
            await self.conn.execute(select(remittance).where(and_(r.tenant_id == self.tenant, same_file | same_trace)))
        )

    async def add(self, row: dict[str, Any]) -> None:
        await self.conn.execute(insert(remittance).values(**row))

    async def supersede(self, remittance_id: str, by: str) -> bool:
        """The held (or rejected) remittance marked superseded by ``by``; False if it is neither any more."""
        r = remittance.c
        done = await self.conn.execute(
            update(remittance)
            .where(and_(r.tenant_id == self.tenant, r.id == remittance_id, r.status.in_(UNPOSTED)))
            .values(status="superseded", superseded_by=by)
        )
        return bool(done.rowcount == 1)

    async def update(self, remittance_id: str, **values: Any) -> None:
        r = remittance.c
        await self.conn.execute(
            update(remittance).where(and_(r.tenant_id == self.tenant, r.id == remittance_id)).values(**values)
        )

    async def decide_held(self, remittance_id: str, **values: Any) -> bool:
        """A held remittance moved to the decision's status; False if it is not held (any more)."""
        r = remittance.c
        moved = await self.conn.execute(
            update(remittance)
            .where(and_(r.tenant_id == self.tenant, r.id == remittance_id, r.status == "held"))
            .values(**values)
        )
        return bool(moved.rowcount == 1)

    async def keep_held_set(self, remittance_id: str, x12_zlib: bytes, now: datetime) -> None:
        await self.conn.execute(
            insert(held_set).values(
                remittance_id=remittance_id, tenant_id=self.tenant, x12_zlib=x12_zlib, created_at=now
            )
        )

    async def held_set(self, remittance_id: str) -> bytes | None:
        h = held_set.c
        stored: bytes | None = (
            await self.conn.execute(
                select(h.x12_zlib).where(and_(h.tenant_id == self.tenant, h.remittance_id == remittance_id))
            )
        ).scalar()
        return stored

    async def append_audit(self, entry: AuditEntry) -> None:
        """The request's row of the audit trail, committed with what it did."""
        await append_many(self.conn, audit, [entry])

    async def payer_totals(self, since: date | None, until: date | None) -> list[Any]:
        r, e = remittance.c, ledger_entry.c
        cond = [r.tenant_id == self.tenant, r.status == "posted"]
        if since:
            cond.append(r.payment_date >= since)
        if until:
            cond.append(r.payment_date <= until)
        rows = await self.conn.execute(
            select(
                r.payer_id,
                func.count(func.distinct(r.id)).label("remittances"),
                func.sum(case((e.entry_type == PAYMENT, e.amount_cents), else_=0)).label("paid_cents"),
                func.sum(case((e.entry_type == CONTRACTUAL, e.amount_cents), else_=0)).label("contractual_cents"),
                func.sum(case((e.entry_type.in_(PATIENT_TYPES), e.amount_cents), else_=0)).label("patient_cents"),
                func.sum(case((e.entry_type == PROVIDER_ADJUSTMENT, e.amount_cents), else_=0)).label("plb_cents"),
            )
            .select_from(remittance.join(ledger_entry, e.remittance_id == r.id))
            .where(and_(*cond))
            .group_by(r.payer_id)
            .order_by(r.payer_id)
        )
        return list(rows)
