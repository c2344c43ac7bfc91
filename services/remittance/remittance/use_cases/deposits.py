"""Bank deposits (EFT or check), matched to the remittance with the same trace number and amount, and the
reconciliation of the two."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.errors import Conflict
from rcm_shared.ids import new_id
from rcm_shared.unit import Actor, Unit, Units

from remittance.repository.deposits import DepositRepository


@dataclass
class DepositResult:
    id: str
    trace_number: str
    amount_cents: int
    deposit_date: date
    remittance_id: str | None
    created: bool


async def record_deposit(
    units: Units,
    *,
    tenant: str,
    trace_number: str,
    amount_cents: int,
    deposit_date: date,
    actor: Actor | None = None,
) -> DepositResult:
    """A bank deposit (EFT or check), matched to the remittance with the same trace number and amount. The
    same deposit again is answered as recorded (``created`` False)."""
    async with units.write(tenant, actor or Actor("api")) as unit:
        deposits = DepositRepository.of(unit)
        existing = await deposits.by_trace(trace_number)
        if existing is not None:
            return DepositResult(
                existing.id,
                existing.trace_number,
                existing.amount_cents,
                existing.deposit_date,
                existing.remittance_id,
                created=False,
            )
        match = await deposits.posted_remittance(trace_number, amount_cents)
        deposit_id = new_id()
        await deposits.add(deposit_id, trace_number, amount_cents, deposit_date, match, datetime.now(UTC))
        return DepositResult(deposit_id, trace_number, amount_cents, deposit_date, match, created=True)


async def deposit(
    units: Units, *, tenant: str, trace_number: str, amount_cents: int, deposit_date: date, actor: Actor
) -> DepositResult:
    """``record_deposit``, refusing a deposit of this trace number recorded before with other values."""
    result = await record_deposit(
        units,
        tenant=tenant,
        trace_number=trace_number,
        amount_cents=amount_cents,
        deposit_date=deposit_date,
        actor=actor,
    )
    if not result.created and (result.amount_cents, result.deposit_date) != (amount_cents, deposit_date):
        raise Conflict(f"deposit {trace_number} was recorded with other values")
    return result


async def reconciliation(unit: Unit) -> tuple[list[Any], list[Any]]:
    """Deposits matching no remittance, and posted remittances paid to the bank matching no deposit."""
    return await DepositRepository.of(unit).reconciliation()
