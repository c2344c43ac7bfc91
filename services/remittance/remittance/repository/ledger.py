"""The insurance ledger: claim payments, their service lines, ledger entries and provider adjustments (PLBs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rcm_shared.db import bulk_insert, bulk_update, filter_only
from sqlalchemy import and_, case, func, insert, select, update

from remittance.domain.posting import CONTRACTUAL, PATIENT_TYPES, REVERSAL
from remittance.models import (
    claim_payment,
    denial_posting,
    ledger_entry,
    provider_adjustment,
    remittance,
    service_payment,
)
from remittance.repository import Repository


class LedgerRepository(Repository):
    # -- posting ----------------------------------------------------------------------------------------
    async def add_claim_payments(self, rows: list[dict[str, Any]]) -> None:
        await bulk_insert(self.conn, claim_payment, rows)

    async def add_service_payments(self, rows: list[dict[str, Any]]) -> None:
        await bulk_insert(self.conn, service_payment, rows)

    async def add_entries(self, rows: list[dict[str, Any]]) -> None:
        await bulk_insert(self.conn, ledger_entry, rows)

    async def add_entry(self, **values: Any) -> None:
        await self.conn.execute(insert(ledger_entry).values(tenant_id=self.tenant, **values))

    async def add_provider_adjustment(self, **values: Any) -> None:
        await self.conn.execute(insert(provider_adjustment).values(tenant_id=self.tenant, **values))

    async def original_of_reversal(
        self, claim_id: str, payer_claim_control_number: str, paid_cents: int, remittance_id: str
    ) -> Any | None:
        """The posting a CLP02=22 reversal negates: of the same claim and payer claim control number, not
        reversed yet; the one of the reversed amount first, then one from an earlier 835 (a payer that keeps
        the claim number sends the corrected payment in the reversal's own 835, right after it), then the
        latest."""
        cp = claim_payment.c
        return (
            await self.conn.execute(
                select(cp.id, cp.remittance_id)
                .where(
                    and_(
                        cp.tenant_id == self.tenant,
                        cp.claim_id == claim_id,
                        cp.payer_claim_control_number == payer_claim_control_number,
                        cp.status_code != REVERSAL,
                        cp.reversed_by.is_(None),
                    )
                )
                .order_by(
                    case((cp.paid_cents == -paid_cents, 0), else_=1),
                    case((cp.remittance_id == remittance_id, 1), else_=0),
                    cp.posted_at.desc(),
                )
                .limit(1)
            )
        ).first()

    async def pair(self, original_id: str, reversal_id: str, now: datetime) -> None:
        """The payment and the payer's reversal of it, each naming the other (both changed ``now``)."""
        cp = claim_payment.c
        scope = filter_only(cp.tenant_id) == self.tenant
        await self.conn.execute(
            update(claim_payment)
            .where(and_(scope, cp.id == original_id))
            .values(reversed_by=reversal_id, updated_at=now)
        )
        await self.conn.execute(
            update(claim_payment)
            .where(and_(scope, cp.id == reversal_id))
            .values(reversal_of=original_id, updated_at=now)
        )

    async def unpaired_reversals(self, claim_ids: list[str], not_of_remittance: str) -> list[Any]:
        """Reversals of these claims that found no original, from other remittances, oldest first."""
        cp = claim_payment.c
        rows = await self.conn.execute(
            select(cp.id, cp.remittance_id, cp.claim_id, cp.payer_claim_control_number, cp.paid_cents)
            .where(
                and_(
                    cp.tenant_id == self.tenant,
                    cp.claim_id.in_(claim_ids),
                    cp.status_code == REVERSAL,
                    cp.reversal_of.is_(None),
                    cp.remittance_id != not_of_remittance,
                )
            )
            .order_by(cp.posted_at, cp.id)
        )
        return list(rows)

    async def claims_by_reference(self, refs: set[str]) -> dict[str, str]:
        """PLB references (a payer claim control number or our claim id) -> the claim id posted with it."""
        linked: dict[str, str] = {}
        cp = claim_payment.c
        for column in (cp.payer_claim_control_number, cp.claim_id) if refs else ():  # one index each
            rows = await self.conn.execute(
                select(cp.claim_id, cp.payer_claim_control_number).where(
                    and_(cp.tenant_id == self.tenant, column.in_(refs))
                )
            )
            for claim_id, pccn in rows:
                linked[pccn] = claim_id
                linked[claim_id] = claim_id
        return linked

    # -- late claims ------------------------------------------------------------------------------------
    async def payments_of_claims(self, claim_ids: list[str]) -> list[Any]:
        cp = claim_payment.c
        rows = await self.conn.execute(
            select(claim_payment)
            .where(and_(cp.tenant_id == self.tenant, cp.claim_id.in_(claim_ids)))
            .order_by(cp.posted_at, cp.id)
        )
        return list(rows)

    async def lines_of_payments(self, claim_payment_ids: list[str]) -> list[Any]:
        sp = service_payment.c
        rows = await self.conn.execute(
            select(service_payment)
            .where(and_(filter_only(sp.tenant_id) == self.tenant, sp.claim_payment_id.in_(claim_payment_ids)))
            .order_by(sp.line_number)
        )
        return list(rows)

    async def match_lines(self, matches: list[dict[str, Any]]) -> None:
        """Service payments (``id``) matched to billed lines (``billed_line_id``, ``match_method``)."""
        await bulk_update(self.conn, service_payment, ("id",), matches)

    async def patient_entries(self, claim_payment_ids: list[str]) -> list[Any]:
        """(claim payment id, entry type, cents) of their patient responsibility, in ledger order."""
        le = ledger_entry.c
        rows = await self.conn.execute(
            select(le.claim_payment_id, le.entry_type, le.amount_cents)
            .where(
                and_(
                    filter_only(le.tenant_id) == self.tenant,
                    le.claim_payment_id.in_(claim_payment_ids),
                    le.entry_type.in_(PATIENT_TYPES),
                )
            )
            .order_by(le.id)
        )
        return list(rows)

    async def mark_matched(self, claim_payment_ids: list[str], now: datetime) -> None:
        cp = claim_payment.c
        await self.conn.execute(
            update(claim_payment)
            .where(and_(filter_only(cp.tenant_id) == self.tenant, cp.id.in_(claim_payment_ids)))
            .values(matched=True, held_patient_last_name=None, held_patient_first_name=None, updated_at=now)
        )

    async def touch_claims(self, claim_ids: list[str], now: datetime) -> None:
        """The payments of these claims changed ``now``: their claim's patient account became known here."""
        cp = claim_payment.c
        await self.conn.execute(
            update(claim_payment)
            .where(and_(cp.tenant_id == self.tenant, cp.claim_id.in_(claim_ids)))
            .values(updated_at=now)
        )

    async def paid_lines(self, claim_ids: list[str], billed_line_ids: list[int]) -> list[int]:
        """Which of these billed lines (of these claims) a payment is matched to."""
        cp, sp = claim_payment.c, service_payment.c
        paid = await self.conn.scalars(
            select(sp.billed_line_id)
            .join(claim_payment, cp.id == sp.claim_payment_id)
            .where(
                and_(cp.tenant_id == self.tenant, cp.claim_id.in_(claim_ids), sp.billed_line_id.in_(billed_line_ids))
            )
        )
        return [row_id for row_id in paid if row_id is not None]

    # -- reads ------------------------------------------------------------------------------------------
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

    # -- statements -------------------------------------------------------------------------------------
    async def paid_before(self, claim_ids: list[str], cutoff: datetime) -> list[Any]:
        """The payments (id, claim id, paid) posted to these claims before ``cutoff``."""
        cp = claim_payment.c
        return list(
            await self.conn.execute(
                select(cp.id, cp.claim_id, cp.paid_cents).where(
                    and_(cp.tenant_id == self.tenant, cp.claim_id.in_(claim_ids), cp.posted_at < cutoff)
                )
            )
        )

    async def contractual(self, claim_id: str, claim_payment_ids: list[str]) -> int:
        """The contractual adjustments these payments posted to the claim."""
        le = ledger_entry.c
        total = (
            await self.conn.execute(
                select(func.coalesce(func.sum(le.amount_cents), 0)).where(
                    and_(
                        le.tenant_id == self.tenant,
                        le.claim_id == claim_id,
                        le.entry_type == CONTRACTUAL,
                        le.claim_payment_id.in_(claim_payment_ids),
                    )
                )
            )
        ).scalar()
        return int(total or 0)
