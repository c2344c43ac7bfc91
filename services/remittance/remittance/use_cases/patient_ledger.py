"""The patient ledger: the patient's share of what payers adjudicated posted to the claim's patient
account once due (``domain.patients``), and the balances it makes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.payloads.remittance import PatientBalanceChangedV1
from rcm_shared.unit import Unit
from rcm_shared.x12.sets.x835 import ClaimPayment

from remittance.domain.patients import PatientShare, taken_back, waits_for_another_payer
from remittance.domain.posting import PATIENT_TYPES, REVERSAL, Entry, cents
from remittance.repository.billed import BilledRepository
from remittance.repository.patients import PatientRepository


async def post_patient_share(
    unit: Unit,
    remittance_id: str,
    claims: Sequence[ClaimPayment],
    entries: Sequence[list[Entry]],
    claim_payment_ids: Sequence[str],
    now: datetime,
) -> None:
    """Patient charges of the claim payments just posted, for claims no other payer still has to adjudicate."""
    shares = [
        PatientShare(
            c.patient_control_number,
            cp_id,
            remittance_id,
            c.status,
            cents(c.paid),
            cents(c.charge),
            (c.patient["last"], c.patient.get("first")) if c.patient.get("last") else None,
            [(e.entry_type, e.amount_cents) for e in es if e.entry_type in PATIENT_TYPES and e.amount_cents],
        )
        for c, es, cp_id in zip(claims, entries, claim_payment_ids, strict=True)
    ]
    await post_shares(unit, shares, now)


async def post_shares(unit: Unit, shares: Sequence[PatientShare], now: datetime) -> None:
    """Post each share to its claim's patient account (from the billed claim) unless the claim is unknown
    (no account: its payment is in review) or another payer has yet to adjudicate it."""
    known = await BilledRepository.of(unit).accounts(list({share.claim_id for share in shares}))
    rows: list[dict[str, Any]] = []
    names: dict[str, tuple[str, str | None]] = {}
    touched: dict[str, list[str]] = defaultdict(list)
    reversals = [s for s in shares if s.status == REVERSAL and not s.due and s.claim_id in known]
    reversal_ids = {s.claim_payment_id for s in reversals}
    reached: dict[str, dict[str, int]] | None = None
    # reversals last: they take back what their original posted, in this batch too
    for share in sorted(shares, key=lambda s: s.claim_payment_id in reversal_ids):
        billed = known.get(share.claim_id)
        if billed is None:
            continue  # a claim we know nothing about (no account): its payment is in review already
        if share.name:
            names[billed.patient_account] = share.name
        if waits_for_another_payer(share, billed.next_payer_id):
            continue  # the next payer's 835 says what the patient owes (a crossover's: domain.crossover)
        entries = share.entries
        if share.claim_payment_id in reversal_ids:
            if reached is None:
                reached = await _reached_ledger(unit, reversals, known, rows)
            entries = taken_back(share.entries, reached.get(share.claim_payment_id, {}))
        for entry_type, amount_cents in entries:
            rows.append(
                {
                    "tenant_id": unit.tenant,
                    "account_id": billed.patient_account,
                    "claim_id": share.claim_id,
                    "entry_type": entry_type,
                    "amount_cents": amount_cents,
                    "remittance_id": share.remittance_id,
                    "claim_payment_id": share.claim_payment_id,
                    "payment_id": None,
                    "created_at": now,
                }
            )
            touched[billed.patient_account].append(share.claim_id)
    patients = PatientRepository.of(unit)
    if names:
        await patients.name_accounts(names, now)
    if rows:
        await patients.add_entries(rows)
        changes: dict[str, int] = defaultdict(int)
        for r in rows:
            changes[r["account_id"]] += r["amount_cents"]
        await balance_events(unit, changes, "insurance", touched)


async def _reached_ledger(
    unit: Unit, reversals: Sequence[PatientShare], known: dict[str, Any], batch: Sequence[dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """Per reversal (its claim payment id), what the payment it reverses put on the patient's ledger, by
    entry type: nothing when its share was never due (a crossover still waiting, a primary with a
    secondary to come) or when no original was found; ``batch`` holds the rows about to be posted with it."""
    patients = PatientRepository.of(unit)
    original_of = await patients.reversed_originals([s.claim_payment_id for s in reversals])
    posted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if original_of:
        accounts = list({known[s.claim_id].patient_account for s in reversals})
        for payment_id, entry_type, amount in await patients.posted_by_payment(accounts, list(original_of.values())):
            posted[payment_id][entry_type] += int(amount or 0)
        for row in batch:
            if row["claim_payment_id"] in original_of.values():
                posted[row["claim_payment_id"]][row["entry_type"]] += row["amount_cents"]
    return {rid: dict(posted[oid]) for rid, oid in original_of.items()}


async def balance_events(
    unit: Unit, changes: dict[str, int], cause: str, claims: dict[str, list[str]] | None = None
) -> None:
    """``patient.balance_changed`` for each account these changes moved, with its balance after them."""
    balances = await PatientRepository.of(unit).balances(list(changes))
    await unit.emit_many(
        [
            unit.event(
                PatientBalanceChangedV1(
                    account_id=account,
                    balance_cents=balances.get(account, 0),
                    change_cents=change,
                    cause=cause,
                    claim_ids=sorted(set((claims or {}).get(account, []))),
                ),
                key=account,
            )
            for account, change in changes.items()
            if change
        ]
    )


@dataclass
class Account:
    account_id: str
    balance_cents: int
    per_claim: dict[str | None, int]  # None: on account
    pending_with_insurance: list[str]


async def patient_account(unit: Unit, account: str) -> Account:
    """An account's balance by claim, and the claims whose payers are not all done (nothing of them is
    shown as patient due)."""
    per_claim = await PatientRepository.of(unit).claim_balances(account)
    pending = await pending_with_insurance(unit, account)
    if not per_claim and not pending:
        raise NotFound(f"no patient account {account}", title="Not Found")
    return Account(account, sum(per_claim.values()), per_claim, pending)


async def pending_with_insurance(unit: Unit, account: str) -> list[str]:
    """Claims of the account whose payers are not all done."""
    billed = BilledRepository.of(unit)
    waiting = await billed.waiting_for_payers(account)
    # a primary whose secondary claim is still out: the secondary is listed above; list the primary too
    # (no query for an empty list: an empty IN list reads the tenant's every billed claim on SQLite)
    originals = await billed.originals(waiting) if waiting else []
    crossovers = await PatientRepository.of(unit).crossovers_pending(account)
    return sorted(set(waiting) | {c for c in originals if c} | set(crossovers))
