"""What the FHIR API reads: adjudications (a claim payment with its 835's header, service lines and CAS, one
ExplanationOfBenefit each) and posted remittances (with their claim payments and PLBs, one
PaymentReconciliation each), by id or by search criteria, a page at a time."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.unit import Unit

from remittance.repository.fhir import FhirRepository
from remittance.repository.ledger import LedgerRepository

Span = tuple[datetime | None, datetime | None]  # lower <= t < upper, either end open
After = tuple[datetime, str]  # the previous page's last (sort key, id)
OPEN: Span = (None, None)


@dataclass(frozen=True)
class PaymentCriteria:
    """Which claim payments: each collection an OR of values (None: any), every criterion must hold."""

    limit: int
    claim_ids: Collection[str] | None = None
    accounts: Collection[str] | None = None
    control_numbers: Collection[str] | None = None
    statuses: Collection[str] | None = None  # active, cancelled
    created: Span = OPEN
    updated: Span = OPEN
    after: After | None = None


@dataclass(frozen=True)
class RemittanceCriteria:
    limit: int
    traces: Collection[str] | None = None
    payer_ids: Collection[str] | None = None
    created: Span = OPEN
    after: After | None = None


@dataclass
class Adjudication:
    """One claim payment (with its remittance's payer, payee, trace and payment date and its claim's patient
    account), its service lines, and its CAS adjustments (claim level: ``line_number`` None)."""

    payment: Any
    lines: list[Any] = field(default_factory=list)
    adjustments: list[Any] = field(default_factory=list)


@dataclass
class Reconciliation:
    remittance: Any
    payments: list[Any] = field(default_factory=list)
    provider_adjustments: list[Any] = field(default_factory=list)


async def _with_lines(unit: Unit, rows: list[Any]) -> list[Adjudication]:
    ledger = LedgerRepository.of(unit)
    ids = [r.id for r in rows]
    found = {r.id: Adjudication(r) for r in rows}
    for line in await ledger.lines_of(ids):
        found[line.claim_payment_id].lines.append(line)
    for adjustment in await ledger.adjustments_of(ids):
        found[adjustment.claim_payment_id].adjustments.append(adjustment)
    return [found[i] for i in ids]


async def adjudications(unit: Unit, criteria: PaymentCriteria) -> list[Adjudication]:
    rows = await FhirRepository.of(unit).claim_payments(
        claim_ids=criteria.claim_ids,
        accounts=criteria.accounts,
        control_numbers=criteria.control_numbers,
        statuses=criteria.statuses,
        created=criteria.created,
        updated=criteria.updated,
        after=criteria.after,
        limit=criteria.limit,
    )
    return await _with_lines(unit, rows)


async def adjudication(unit: Unit, payment_id: str) -> Adjudication:
    rows = await FhirRepository.of(unit).claim_payments(ids=[payment_id], limit=1)
    if not rows:
        raise NotFound(f"no claim payment {payment_id}")
    (found,) = await _with_lines(unit, rows)
    return found


async def _with_details(unit: Unit, rows: list[Any]) -> list[Reconciliation]:
    repo = FhirRepository.of(unit)
    ids = [r.id for r in rows]
    found = {r.id: Reconciliation(r) for r in rows}
    if ids:
        for payment in await repo.payments_of(ids):
            found[payment.remittance_id].payments.append(payment)
        for plb in await repo.provider_adjustments_of(ids):
            found[plb.remittance_id].provider_adjustments.append(plb)
    return [found[i] for i in ids]


async def reconciliations(unit: Unit, criteria: RemittanceCriteria) -> list[Reconciliation]:
    rows = await FhirRepository.of(unit).remittances(
        traces=criteria.traces,
        payer_ids=criteria.payer_ids,
        created=criteria.created,
        after=criteria.after,
        limit=criteria.limit,
    )
    return await _with_details(unit, rows)


async def reconciliation(unit: Unit, remittance_id: str) -> Reconciliation:
    """A posted remittance; one held, rejected or superseded posted nothing and is no reconciliation."""
    repo = FhirRepository.of(unit)
    rows = await repo.remittances(ids=[remittance_id], limit=1)
    if not rows:
        status = await repo.status_of(remittance_id)
        if status is None:
            raise NotFound(f"no remittance {remittance_id}")
        raise NotFound(
            f"remittance {remittance_id} is {status}: nothing of it is posted, so it is no PaymentReconciliation "
            f"(GET /v1/remittances/{remittance_id} shows it)"
        )
    (found,) = await _with_details(unit, rows)
    return found
