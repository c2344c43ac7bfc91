"""Use cases of the held-remittance queue: an operator releases a held 835 (posted as the payer sent it) or
rejects it (it stays unposted, visible, with the note). The payer's corrected 835 for the same TRN02
supersedes a held one at ingestion (``handlers._find_duplicate``).

Each decision is one transaction: the remittance's status moves from ``held`` under a conditional update
(so a second decision, or one on a superseded remittance, finds nothing to move: a conflict), the postings
and their events (a release) and the request's audit row commit with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from rcm_shared.audit import AuditEntry, append_many
from rcm_shared.bus.outbox import Outbox
from rcm_shared.db import write_transaction
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, PaymentTrailer, ProviderAdjustment, iter_835
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from remittance.domain.posting import cents
from remittance.handlers import IngestResult, _match_deposit_for, _Poster, _take, resolve_hold
from remittance.models import audit, bus, held_set, remittance
from remittance.x12 import held_set_bytes


@dataclass(frozen=True)
class HeldClaim:
    claim_id: str
    payer_claim_control_number: str
    status_code: str
    charge_cents: int
    paid_cents: int
    adjustments_cents: int
    off_by_cents: Annotated[int, Field(description="charge - paid - adjustments: 0 when the claim foots")]


@dataclass(frozen=True)
class HeldPlb:
    provider_id: str
    reason: str
    reference: str
    amount_cents: Annotated[int, Field(description="positive: taken from the payment")]


@dataclass(frozen=True)
class HeldContents:
    claims: list[HeldClaim]
    provider_adjustments: list[HeldPlb]


def _contents(data: bytes) -> HeldContents:
    claims, plbs = [], []
    for item in iter_835(data):
        if isinstance(item, ClaimPayment):
            adjusted = item.adjustment_total()
            claims.append(
                HeldClaim(
                    item.patient_control_number,
                    item.payer_claim_control_number,
                    item.status,
                    _cents(item.charge),
                    _cents(item.paid),
                    _cents(adjusted),
                    _cents(item.charge - item.paid - adjusted),
                )
            )
        elif isinstance(item, ProviderAdjustment):
            plbs.append(HeldPlb(item.provider_id, item.reason, item.reference, _cents(item.amount)))
    return HeldContents(claims, plbs)


def _cents(amount: Decimal) -> int:
    """Cents of an amount as the payer sent it (a held set may carry one finer than a cent: rounded here,
    for the reviewer's eyes only)."""
    return int((amount * 100).to_integral_value())


async def held_contents(conn: AsyncConnection, tenant: str, remittance_id: str) -> HeldContents | None:
    """What a held 835 carries, claim by claim and PLB by PLB, as the payer sent it (nothing of it posted):
    which claim does not foot and by how much, what the PLBs take. None: no held X12 for it."""
    stored = (
        await conn.execute(
            select(held_set.c.x12_zlib).where(
                and_(held_set.c.tenant_id == tenant, held_set.c.remittance_id == remittance_id)
            )
        )
    ).scalar()
    if stored is None:
        return None
    return await asyncio.to_thread(lambda: _contents(held_set_bytes(stored)))


class ReviewError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Decision:
    actor: str  # who decided: the operator's user or client id
    note: str  # why


class _Release(_Poster):
    """Posts a held set as the payer sent it: the operator's decision stands in for the balance check."""

    pairs_earlier_reversals = True

    def __init__(self, tenant: str, header: PaymentHeader, row: Any, outbox: Outbox) -> None:
        super().__init__(tenant, header, row.file_sha256, outbox)
        self.id = row.id

    async def _hold(self) -> None:
        return None

    async def close(self, conn: AsyncConnection) -> None:
        h = self.header
        await conn.execute(
            update(remittance)
            .where(remittance.c.id == self.id)
            .values(plb_total_cents=self.plb_total, claim_count=self.totals.claims)
        )
        await _match_deposit_for(conn, self.tenant, self.id, h.trace_number, cents(h.total_paid))


async def _decide(
    conn: AsyncConnection, tenant: str, remittance_id: str, status: str, decision: Decision
) -> tuple[Any, datetime]:
    """Moves a held remittance to ``status`` with the decision (the row as it was, and when); a remittance
    not held is a conflict."""
    r = remittance.c
    row = (await conn.execute(select(remittance).where(and_(r.tenant_id == tenant, r.id == remittance_id)))).first()
    if row is None:
        raise ReviewError(404, f"no remittance {remittance_id}")
    now = datetime.now(UTC)
    moved = await conn.execute(
        update(remittance)
        .where(and_(r.tenant_id == tenant, r.id == remittance_id, r.status == "held"))
        .values(
            status=status,
            posted_at=now if status == "posted" else None,
            review_decision="released" if status == "posted" else "rejected",
            reviewed_by=decision.actor[:120],
            reviewed_at=now,
            review_note=decision.note,
        )
    )
    if moved.rowcount != 1:
        raise ReviewError(409, _not_held(row))
    await resolve_hold(
        conn, tenant, remittance_id, f"{'released' if status == 'posted' else 'rejected'}: {decision.note}", now
    )
    return row, now


def _not_held(row: Any) -> str:
    if row.status == "superseded":
        return f"remittance {row.id} was superseded by the payer's corrected 835 {row.superseded_by}"
    if row.review_decision is not None:
        return f"remittance {row.id} was {row.review_decision} by {row.reviewed_by}; it is {row.status}"
    return f"remittance {row.id} is {row.status}, not held"


async def release(
    engine: AsyncEngine,
    *,
    tenant: str,
    remittance_id: str,
    decision: Decision,
    audit_entry: AuditEntry | None = None,
    batch_size: int = 500,
    topic_prefix: str = "",
) -> IngestResult:
    """Post a held 835 as the payer sent it, once: its claims, PLBs, patient shares and their events exactly
    as an ingested set's, the decision (who, why) on the remittance, its review item resolved."""
    async with write_transaction(engine) as conn:
        row, now = await _decide(conn, tenant, remittance_id, "posted", decision)
        stored = (
            await conn.execute(select(held_set.c.x12_zlib).where(held_set.c.remittance_id == remittance_id))
        ).scalar()
        if stored is None:  # held before its X12 was kept: only the payer's corrected file can post it
            raise ReviewError(409, f"remittance {remittance_id} has no stored X12 to post; ask the payer to resend it")
        items = iter_835(await asyncio.to_thread(held_set_bytes, stored))
        header = next(items)
        assert isinstance(header, PaymentHeader), header  # iter_835 yields the set's header first
        poster = _Release(tenant, header, row, Outbox(bus, topic_prefix))
        poster.now = now  # its claim payments are posted when the remittance is
        try:
            while chunk := await asyncio.to_thread(_take, items, batch_size):
                await poster.post(conn, [i for i in chunk if isinstance(i, ClaimPayment | ProviderAdjustment)])
                if any(isinstance(i, PaymentTrailer) for i in chunk):
                    break
        except ValueError as exc:  # an amount finer than a cent: it cannot be posted as sent
            raise ReviewError(409, f"remittance {remittance_id} cannot be posted as sent: {exc}") from None
        await poster.close(conn)
        if audit_entry is not None:
            await append_many(conn, audit, [audit_entry])
    return IngestResult(
        remittance_id,
        "posted",
        row.trace_number,
        row.payer_id,
        poster.totals.claims,
        row.total_paid_cents,
        list(row.hold_reasons),
    )


async def reject(
    engine: AsyncEngine,
    *,
    tenant: str,
    remittance_id: str,
    decision: Decision,
    audit_entry: AuditEntry | None = None,
) -> None:
    """Keep a held 835 unposted, with the operator's note; the payer's corrected file still supersedes it."""
    async with write_transaction(engine) as conn:
        await _decide(conn, tenant, remittance_id, "rejected", decision)
        if audit_entry is not None:
            await append_many(conn, audit, [audit_entry])
