"""Patient payments and refunds, each posted once per idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rcm_shared.errors import Conflict, Invalid
from rcm_shared.ids import new_id
from rcm_shared.unit import Unit

from remittance.domain.patients import Tender, applied, request_hash
from remittance.repository.billed import BilledRepository
from remittance.repository.patients import PatientRepository
from remittance.use_cases.patient_ledger import balance_events


class PatientError(Invalid):
    """A request the ledger cannot take (unknown account, more than owed or held in credit, ...)."""

    default_title = "Unprocessable Content"


class IdempotencyConflict(Conflict):
    """The idempotency key was used before for a different request."""


@dataclass
class Tendered:
    payment_id: str
    new: bool  # False: the key recorded it before, nothing was posted again
    balance_cents: int  # the account's balance after it


async def _replay(unit: Unit, key: str, hashed: str) -> str | None:
    row = await PatientRepository.of(unit).tender(key)
    if row is not None and row.request_hash != hashed:
        raise IdempotencyConflict(f"Idempotency-Key {key!r} was used for a different request")
    return None if row is None else str(row.id)


async def _record_tender(unit: Unit, kind: str, t: Tender, key: str) -> tuple[str, bool]:
    """The payment row, or the one the key already recorded (then nothing is posted again)."""
    hashed = request_hash(kind, t)
    existing = await _replay(unit, key, hashed)
    if existing is not None:
        return existing, False
    payment_id = new_id()
    recorded = await PatientRepository.of(unit).add_tender(
        id=payment_id,
        account_id=t.account_id,
        kind=kind,
        method=t.method,
        reference=t.reference,
        amount_cents=t.amount_cents,
        received_on=t.received_on,
        idempotency_key=key,
        request_hash=hashed,
        created_at=datetime.now(UTC),
    )
    if not recorded:  # the same key, concurrently: the other request won
        existing = await _replay(unit, key, hashed)
        assert existing is not None
        return existing, False
    return payment_id, True


async def _known_account(unit: Unit, account: str) -> None:
    if not (
        await BilledRepository.of(unit).has_account(account) or await PatientRepository.of(unit).has_entries(account)
    ):
        raise PatientError(f"no patient account {account}")


async def _tendered(unit: Unit, account: str, payment_id: str, new: bool) -> Tendered:
    balance = (await PatientRepository.of(unit).balances([account])).get(account, 0)
    return Tendered(payment_id, new, balance)


async def apply_payment(unit: Unit, t: Tender, key: str) -> Tendered:
    """Post a patient payment once per idempotency key: to the named claims first (in the order given),
    then to the oldest open claims; what is left stays on account as a credit."""
    if t.amount_cents <= 0:
        raise PatientError("a payment amount must be positive")
    await _known_account(unit, t.account_id)
    payment_id, new = await _record_tender(unit, "payment", t, key)
    if not new:
        return await _tendered(unit, t.account_id, payment_id, False)
    patients = PatientRepository.of(unit)
    balances = await patients.claim_balances(t.account_id)
    unknown = [c for c in t.claim_ids if c not in balances]
    if unknown:
        raise PatientError(f"claim(s) {', '.join(unknown)} have no patient balance on account {t.account_id}")
    order = [*t.claim_ids, *(c for c in balances if c is not None and c not in t.claim_ids)]
    now = datetime.now(UTC)
    rows = applied(order, balances, t.amount_cents)
    await patients.add_entries(
        [
            {
                "tenant_id": unit.tenant,
                "account_id": t.account_id,
                "claim_id": claim_id,
                "entry_type": "payment",
                "amount_cents": -amount,
                "remittance_id": None,
                "claim_payment_id": None,
                "payment_id": payment_id,
                "created_at": now,
            }
            for claim_id, amount in rows
        ]
    )
    claims = [c for c, _a in rows if c]
    await balance_events(unit, {t.account_id: -t.amount_cents}, "payment", {t.account_id: claims})
    return await _tendered(unit, t.account_id, payment_id, True)


async def refund_credit(unit: Unit, t: Tender, key: str) -> Tendered:
    """Pay back (part of) a credit balance: never more than the account's credit."""
    if t.amount_cents <= 0:
        raise PatientError("a refund amount must be positive")
    await _known_account(unit, t.account_id)
    existing = await _replay(unit, key, request_hash("refund", t))
    if existing is not None:
        return await _tendered(unit, t.account_id, existing, False)
    patients = PatientRepository.of(unit)
    credit = -(await patients.balances([t.account_id])).get(t.account_id, 0)
    if t.amount_cents > credit:
        raise PatientError(
            f"the refund ({t.amount_cents / 100:.2f}) is more than the account's credit ({max(credit, 0) / 100:.2f})"
        )
    payment_id, new = await _record_tender(unit, "refund", t, key)
    if not new:
        return await _tendered(unit, t.account_id, payment_id, False)
    await patients.add_entries(
        [
            {
                "tenant_id": unit.tenant,
                "account_id": t.account_id,
                "claim_id": None,
                "entry_type": "refund",
                "amount_cents": t.amount_cents,
                "remittance_id": None,
                "claim_payment_id": None,
                "payment_id": payment_id,
                "created_at": datetime.now(UTC),
            }
        ]
    )
    await balance_events(unit, {t.account_id: t.amount_cents}, "refund")
    return await _tendered(unit, t.account_id, payment_id, True)
