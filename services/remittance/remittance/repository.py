"""Queries of the remittance service. Every one is scoped by tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from rcm_shared.db import filter_only
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from remittance.domain.posting import CONTRACTUAL, PATIENT_TYPES, PAYMENT
from remittance.models import (
    claim_payment,
    denial_posting,
    deposit,
    ledger_entry,
    provider_adjustment,
    remittance,
    review_item,
    service_payment,
)


class RemittanceRepository:
    def __init__(self, conn: AsyncConnection, tenant: str) -> None:
        self.conn = conn
        self.tenant = tenant

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

    async def claim_payments(
        self, *, remittance_id: str | None = None, claim_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Any]:
        c = claim_payment.c
        cond = [c.tenant_id == self.tenant]
        if remittance_id:
            cond.append(c.remittance_id == remittance_id)
        if claim_id:
            cond.append(c.claim_id == claim_id)
        rows = await self.conn.execute(
            select(claim_payment).where(and_(*cond)).order_by(c.posted_at, c.claim_id, c.id).limit(limit).offset(offset)
        )
        return list(rows)

    async def lines_of(self, claim_payment_ids: list[str]) -> list[Any]:
        if not claim_payment_ids:
            return []
        s = service_payment.c
        rows = await self.conn.execute(
            select(service_payment)
            .where(and_(s.tenant_id == self.tenant, s.claim_payment_id.in_(claim_payment_ids)))
            .order_by(s.claim_payment_id, s.line_number)
        )
        return list(rows)

    async def ledger_for_claim(self, claim_id: str) -> list[Any]:
        e, r = ledger_entry.c, remittance.c
        rows = await self.conn.execute(
            select(ledger_entry, r.posted_at)
            .join(remittance, r.id == e.remittance_id)
            .where(and_(e.tenant_id == self.tenant, e.claim_id == claim_id))
            .order_by(e.id)
        )
        return list(rows)

    async def denial_postings(self, claim_id: str) -> list[Any]:
        d = denial_posting.c
        rows = await self.conn.execute(
            select(denial_posting).where(and_(d.tenant_id == self.tenant, d.claim_id == claim_id)).order_by(d.id)
        )
        return list(rows)

    async def adjustments_of(self, claim_payment_ids: list[str]) -> list[Any]:
        """CAS adjustments of claim payments, from the ledger (claim and line level)."""
        if not claim_payment_ids:
            return []
        e, s = ledger_entry.c, service_payment.c
        rows = await self.conn.execute(
            select(e.claim_payment_id, e.group_code, e.reason_code, e.amount_cents, s.line_number)
            .select_from(ledger_entry.outerjoin(service_payment, s.id == e.service_payment_id))
            .where(
                and_(
                    filter_only(e.tenant_id) == self.tenant,
                    e.claim_payment_id.in_(claim_payment_ids),
                    e.group_code.is_not(None),
                )
            )
            .order_by(e.id)
        )
        return list(rows)

    async def review_items(
        self, *, status: Sequence[str] | None, kind: str | None, limit: int, offset: int
    ) -> list[Any]:
        v = review_item.c
        cond = [v.tenant_id == self.tenant]
        if status:
            cond.append(v.status.in_(status))
        if kind:
            cond.append(v.kind == kind)
        rows = await self.conn.execute(
            select(review_item).where(and_(*cond)).order_by(v.id).limit(limit).offset(offset)
        )
        return list(rows)

    async def review_item(self, item_id: int) -> Any | None:
        v = review_item.c
        return (
            await self.conn.execute(select(review_item).where(and_(v.tenant_id == self.tenant, v.id == item_id)))
        ).first()

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
                func.sum(case((e.entry_type == "provider_adjustment", e.amount_cents), else_=0)).label("plb_cents"),
            )
            .select_from(remittance.join(ledger_entry, e.remittance_id == r.id))
            .where(and_(*cond))
            .group_by(r.payer_id)
            .order_by(r.payer_id)
        )
        return list(rows)

    async def reconciliation(self) -> tuple[list[Any], list[Any]]:
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
                    r.payment_method.in_(("ACH", "CHK", "FWT", "BOP")),
                    r.id.not_in(matched),
                )
            )
            .order_by(r.payment_date)
        )
        return list(unmatched_deposits), list(unmatched_remittances)
