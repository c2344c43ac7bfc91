"""The FHIR API's reads: claim payments (one ExplanationOfBenefit each) and posted remittances (one
PaymentReconciliation each) by their search parameters, the latest posted first, in keyset pages. Pages are
ordered by when each was posted, which never changes: ordered by a payment's last change (a reversal pairs
with it, its patient account becomes known), a payment the client has not reached yet would move ahead of
the cursor while it pages and never be seen.

Only posted remittances are read: a held, rejected or superseded one posted nothing (its claim payments
were never written), so it is no PaymentReconciliation and has no ExplanationOfBenefits.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select

from remittance.domain.posting import REVERSAL
from remittance.models import billed_claim, claim_payment, provider_adjustment, remittance
from remittance.repository import Repository

POSTED = "posted"
Span = tuple[datetime | None, datetime | None]  # lower <= t < upper, either end open
After = tuple[datetime, str]  # the keyset of the last row of the previous page: (sort column, id)

# What an ExplanationOfBenefit carries from its remittance (the 835's header) and from the billed claim.
_HEADER = (
    remittance.c.payer_id,
    remittance.c.payer_name,
    remittance.c.payee_id,
    remittance.c.payee_id_qualifier,
    remittance.c.payee_name,
    remittance.c.trace_number,
    remittance.c.payment_date,
    remittance.c.posted_at.label("remittance_posted_at"),  # the EOBs' order: when their 835 was posted
    billed_claim.c.patient_account,
)


def _within(column: Any, span: Span) -> list[ColumnElement[bool]]:
    lower, upper = span
    return [
        *([column >= lower] if lower is not None else []),
        *([column < upper] if upper is not None else []),
    ]


def _before(column: Any, ident: Any, after: After | None) -> list[ColumnElement[bool]]:
    """Rows after the cursor in (column desc, id desc) order. ``column <= key`` on its own is a range an index
    on (tenant, column, id) reads from the cursor on; the OR alone (a MULTI-INDEX OR on SQLite) would gather
    every earlier row and sort them."""
    if after is None:
        return []
    key, last_id = after
    return [column <= key, or_(column < key, ident < last_id)]


def cancelled() -> ColumnElement[bool]:
    """A payment that is no standing adjudication: the payer's reversal (CLP02 22), or a payment it reversed."""
    cp = claim_payment.c
    return or_(cp.status_code == REVERSAL, cp.reversed_by.is_not(None))


def _moment(column: ColumnElement[Any], narrow: bool) -> ColumnElement[Any]:
    """A column as the order, the cursor and the filters use it. A claim's (an account's, a control
    number's) few payments are found by their own index and sorted; given the bare column, SQLite (no
    statistics) walks the tenant's payments in that column's index instead (the order's, or _lastUpdated's),
    testing each. The same value as an expression no index holds keeps it off that walk; PostgreSQL weighs
    both with its statistics either way."""
    return func.coalesce(column, column) if narrow else column


class FhirRepository(Repository):
    async def claim_payments(
        self,
        *,
        ids: Collection[str] | None = None,
        claim_ids: Collection[str] | None = None,
        accounts: Collection[str] | None = None,
        control_numbers: Collection[str] | None = None,
        statuses: Collection[str] | None = None,
        created: Span = (None, None),
        updated: Span = (None, None),
        after: After | None = None,
        limit: int,
    ) -> list[Any]:
        """Claim payments with their 835's header and the claim's patient account, the latest posted 835 first
        (its posted_at, the payment's id: a key that never changes; walked in ix_remittance_tenant_posted's
        order, so claim_payment needs no index of its own on posted_at, which SQLite would then prefer for the
        posting's reads by claim). ``statuses``: active and/or cancelled (``cancelled()``);
        ``updated``: when each last changed (a filter only)."""
        cp, r, b = claim_payment.c, remittance.c, billed_claim.c
        narrow = claim_ids is not None or accounts is not None or control_numbers is not None
        # Unnarrowed, the tenant's 835s are walked in posting order and each one's payments read by
        # ix_claim_payment_remittance: the tenant is matched on the payment as an expression, or SQLite would walk
        # the tenant's payments in some index of claim_payment led by tenant_id and sort them all.
        cond: list[ColumnElement[bool]] = [
            _moment(cp.tenant_id, not narrow) == self.tenant,
            r.tenant_id == self.tenant,
            r.status == POSTED,
        ]
        if ids is not None:
            cond.append(cp.id.in_(ids))
        if claim_ids is not None:
            cond.append(cp.claim_id.in_(claim_ids))
        if accounts is not None:  # the accounts' claims first (ix_billed_claim_tenant_account), then their payments
            mine = select(b.claim_id).where(b.tenant_id == self.tenant, b.patient_account.in_(accounts))
            cond.append(cp.claim_id.in_(mine))
        if control_numbers is not None:
            cond.append(cp.payer_claim_control_number.in_(control_numbers))
        if statuses is not None:
            wanted = [
                *([not_(cancelled())] if "active" in statuses else []),
                *([cancelled()] if "cancelled" in statuses else []),
            ]
            cond.append(or_(*wanted) if wanted else false())
        posted, updated_at = _moment(r.posted_at, narrow), _moment(cp.updated_at, narrow)
        cond += _within(posted, created) + _within(updated_at, updated) + _before(posted, cp.id, after)
        query = (
            select(claim_payment, *_HEADER)
            .select_from(
                claim_payment.join(remittance, r.id == cp.remittance_id).outerjoin(
                    billed_claim, and_(b.tenant_id == cp.tenant_id, b.claim_id == cp.claim_id)
                )
            )
            .where(and_(*cond))
            .order_by(posted.desc(), cp.id.desc())
            .limit(limit)
        )
        return list(await self.conn.execute(query))

    async def remittances(
        self,
        *,
        ids: Collection[str] | None = None,
        traces: Collection[str] | None = None,
        payer_ids: Collection[str] | None = None,
        created: Span = (None, None),
        after: After | None = None,
        limit: int,
    ) -> list[Any]:
        """Posted remittances, the latest posted first (a posted remittance does not change: its posting
        time is when it last did)."""
        r = remittance.c
        cond: list[ColumnElement[bool]] = [r.tenant_id == self.tenant, r.status == POSTED]
        if ids is not None:
            cond.append(r.id.in_(ids))
        if traces is not None:
            cond.append(r.trace_number.in_(traces))
        if payer_ids is not None:
            cond.append(r.payer_id.in_(payer_ids))
        cond += _within(r.posted_at, created) + _before(r.posted_at, r.id, after)
        rows = await self.conn.execute(
            select(remittance).where(and_(*cond)).order_by(r.posted_at.desc(), r.id.desc()).limit(limit)
        )
        return list(rows)

    async def status_of(self, remittance_id: str) -> str | None:
        r = remittance.c
        found: str | None = (
            await self.conn.execute(select(r.status).where(and_(r.tenant_id == self.tenant, r.id == remittance_id)))
        ).scalar()
        return found

    async def payments_of(self, remittance_ids: list[str]) -> list[Any]:
        """What each claim payment of these remittances paid, by claim id."""
        cp = claim_payment.c
        rows = await self.conn.execute(
            select(cp.id, cp.remittance_id, cp.claim_id, cp.payer_claim_control_number, cp.paid_cents)
            .where(and_(cp.tenant_id == self.tenant, cp.remittance_id.in_(remittance_ids)))
            .order_by(cp.claim_id, cp.id)
        )
        return list(rows)

    async def provider_adjustments_of(self, remittance_ids: list[str]) -> list[Any]:
        p = provider_adjustment.c
        rows = await self.conn.execute(
            select(provider_adjustment)
            .where(and_(p.tenant_id == self.tenant, p.remittance_id.in_(remittance_ids)))
            .order_by(p.id)
        )
        return list(rows)
