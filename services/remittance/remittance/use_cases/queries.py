"""What the API reads: remittances, their claim payments, what was posted to a claim, review items, totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.errors import Conflict, NotFound
from rcm_shared.unit import Unit

from remittance.repository.ledger import LedgerRepository
from remittance.repository.remittances import RemittanceRepository
from remittance.repository.reviews import ReviewRepository


async def remittances(
    unit: Unit,
    *,
    payer_id: str | None,
    status: Sequence[str] | None,
    since: date | None,
    until: date | None,
    limit: int,
    offset: int,
) -> list[Any]:
    return await RemittanceRepository.of(unit).list_remittances(
        payer_id=payer_id, status=status, since=since, until=until, limit=limit, offset=offset
    )


async def remittance(unit: Unit, remittance_id: str) -> tuple[Any, list[Any]]:
    """One remittance and its provider adjustments."""
    repo = RemittanceRepository.of(unit)
    row = await repo.get_remittance(remittance_id)
    if row is None:
        raise NotFound(f"no remittance {remittance_id}")
    return row, await repo.provider_adjustments(remittance_id)


@dataclass
class Payments:
    """Claim payments with their service lines and CAS adjustments (by claim payment id)."""

    rows: list[Any]
    lines: list[Any]
    adjustments: list[Any]


async def _payments(unit: Unit, rows: list[Any]) -> Payments:
    ledger = LedgerRepository.of(unit)
    ids = [r.id for r in rows]
    return Payments(rows, await ledger.lines_of(ids), await ledger.adjustments_of(ids))


async def remittance_claims(unit: Unit, remittance_id: str, limit: int, offset: int) -> Payments:
    if await RemittanceRepository.of(unit).get_remittance(remittance_id) is None:
        raise NotFound(f"no remittance {remittance_id}")
    rows = await LedgerRepository.of(unit).claim_payments(remittance_id=remittance_id, limit=limit, offset=offset)
    return await _payments(unit, rows)


@dataclass
class ClaimPostings:
    payments: Payments
    ledger: list[Any]
    denial_postings: list[Any]


async def claim_postings(unit: Unit, claim_id: str) -> ClaimPostings:
    """Everything posted to one claim: payments, ledger entries, denial postings."""
    repo = LedgerRepository.of(unit)
    rows = await repo.claim_payments(claim_id=claim_id, limit=1000)
    ledger = await repo.ledger_for_claim(claim_id)
    if not rows and not ledger:
        raise NotFound(f"nothing posted to claim {claim_id}")
    payments = await _payments(unit, rows)
    return ClaimPostings(payments, ledger, await repo.denial_postings(claim_id))


async def review_items(unit: Unit, *, status: Sequence[str], kind: str | None, limit: int, offset: int) -> list[Any]:
    return await ReviewRepository.of(unit).items(status=status, kind=kind, limit=limit, offset=offset)


async def resolve_review_item(unit: Unit, item_id: int, note: str) -> Any:
    """An open review item resolved with a person's note (resolved already: answered as it is)."""
    repo = ReviewRepository.of(unit)
    moved = await repo.resolve_open(item_id, note, datetime.now(UTC))
    row = await repo.item(item_id)
    if row is None:
        raise NotFound(f"no review item {item_id}")
    if not moved and row.status != "resolved":
        raise Conflict(f"review item {item_id} is {row.status}")
    return row


async def payer_totals(unit: Unit, since: date | None, until: date | None) -> list[Any]:
    return await RemittanceRepository.of(unit).payer_totals(since, until)
