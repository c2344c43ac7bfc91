"""The held-remittance queue: an operator releases a held 835 (posted as the payer sent it) or rejects it
(it stays unposted, visible, with the note). The payer's corrected 835 for the same TRN02 supersedes a held
one at ingestion (``use_cases.ingestion``).

Each decision is one transaction: the remittance's status moves from ``held`` under a conditional update
(so a second decision, or one on a superseded remittance, finds nothing to move: a conflict), the postings
and their events (a release) and the request's audit row commit with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rcm_shared.audit import AuditEntry
from rcm_shared.errors import Conflict, NotFound
from rcm_shared.unit import Actor, Unit, Units
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, PaymentTrailer, ProviderAdjustment, iter_835

from remittance.adapters.x12 import held_contents as contents_of
from remittance.adapters.x12 import held_set_bytes
from remittance.domain.held import HeldContents
from remittance.repository.remittances import RemittanceRepository
from remittance.repository.reviews import ReviewRepository
from remittance.use_cases.ingestion import IngestResult, take
from remittance.use_cases.posting import Poster


class ReviewError(Conflict):
    """A decision the remittance cannot take: it is not held (``status`` 409)."""

    status = 409

    @property
    def detail(self) -> str:
        return str(self)


class NoRemittance(NotFound, ReviewError):
    """A decision on a remittance that is not there (in this tenant)."""

    status = 404


@dataclass(frozen=True)
class Decision:
    actor: str  # who decided: the operator's user or client id
    note: str  # why


async def held_contents(unit: Unit, remittance_id: str) -> HeldContents | None:
    """What a held 835 carries, claim by claim and PLB by PLB, as the payer sent it (nothing of it posted):
    which claim does not foot and by how much, what the PLBs take. None: no held X12 for it."""
    stored = await RemittanceRepository.of(unit).held_set(remittance_id)
    if stored is None:
        return None
    return await asyncio.to_thread(contents_of, stored)


async def held_set(unit: Unit, remittance_id: str) -> tuple[Any, HeldContents]:
    """A held remittance and what it carries (``held_contents``)."""
    row = await RemittanceRepository.of(unit).get_remittance(remittance_id)
    contents = await held_contents(unit, remittance_id) if row is not None else None
    if contents is None:
        raise NotFound(f"no held 835 {remittance_id}")
    return row, contents


class _Release(Poster):
    """Posts a held set as the payer sent it: the operator's decision stands in for the balance check."""

    pairs_earlier_reversals = True

    async def _hold(self) -> None:
        return None


async def _decide(unit: Unit, remittance_id: str, status: str, decision: Decision) -> tuple[Any, datetime]:
    """Moves a held remittance to ``status`` with the decision (the row as it was, and when); a remittance
    not held is a conflict."""
    repo = RemittanceRepository.of(unit)
    row = await repo.get_remittance(remittance_id)
    if row is None:
        raise NoRemittance(f"no remittance {remittance_id}")
    now = datetime.now(UTC)
    moved = await repo.decide_held(
        remittance_id,
        status=status,
        posted_at=now if status == "posted" else None,
        review_decision="released" if status == "posted" else "rejected",
        reviewed_by=decision.actor[:120],
        reviewed_at=now,
        review_note=decision.note,
    )
    if not moved:
        raise ReviewError(_not_held(row))
    note = f"{'released' if status == 'posted' else 'rejected'}: {decision.note}"
    await ReviewRepository.of(unit).resolve_hold(remittance_id, note, now)
    return row, now


def _not_held(row: Any) -> str:
    if row.status == "superseded":
        return f"remittance {row.id} was superseded by the payer's corrected 835 {row.superseded_by}"
    if row.review_decision is not None:
        return f"remittance {row.id} was {row.review_decision} by {row.reviewed_by}; it is {row.status}"
    return f"remittance {row.id} is {row.status}, not held"


async def release(
    units: Units,
    *,
    tenant: str,
    remittance_id: str,
    decision: Decision,
    audit_entry: AuditEntry | None = None,
    actor: Actor | None = None,
    batch_size: int = 500,
) -> IngestResult:
    """Post a held 835 as the payer sent it, once: its claims, PLBs, patient shares and their events exactly
    as an ingested set's, the decision (who, why) on the remittance, its review item resolved."""
    async with units.write(tenant, actor or Actor(decision.actor)) as unit:
        row, now = await _decide(unit, remittance_id, "posted", decision)
        stored = await RemittanceRepository.of(unit).held_set(remittance_id)
        if stored is None:  # held before its X12 was kept: only the payer's corrected file can post it
            raise ReviewError(f"remittance {remittance_id} has no stored X12 to post; ask the payer to resend it")
        items = iter_835(await asyncio.to_thread(held_set_bytes, stored))
        header = next(items)
        assert isinstance(header, PaymentHeader), header  # iter_835 yields the set's header first
        poster = _Release(unit, header, row.id)
        poster.now = now  # its claim payments are posted when the remittance is
        try:
            while chunk := await asyncio.to_thread(take, items, batch_size):
                await poster.post([i for i in chunk if isinstance(i, ClaimPayment | ProviderAdjustment)])
                if any(isinstance(i, PaymentTrailer) for i in chunk):
                    break
        except ValueError as exc:  # an amount finer than a cent: it cannot be posted as sent
            raise ReviewError(f"remittance {remittance_id} cannot be posted as sent: {exc}") from None
        await poster.close()
        if audit_entry is not None:
            await RemittanceRepository.of(unit).append_audit(audit_entry)
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
    units: Units,
    *,
    tenant: str,
    remittance_id: str,
    decision: Decision,
    audit_entry: AuditEntry | None = None,
    actor: Actor | None = None,
) -> None:
    """Keep a held 835 unposted, with the operator's note; the payer's corrected file still supersedes it."""
    async with units.write(tenant, actor or Actor(decision.actor)) as unit:
        await _decide(unit, remittance_id, "rejected", decision)
        if audit_entry is not None:
            await RemittanceRepository.of(unit).append_audit(audit_entry)
