"""The patient side of accounts receivable, as rules: when a claim's patient share is due, what a reversal
takes back, billing cycles and aging.

A claim's patient responsibility (PR: deductible, coinsurance, copay, other) becomes due from the patient
only once every payer on it has adjudicated: a primary's PR on a claim that goes on to a secondary payer
(the claims service says so with ``next_payer_id``) is not due; the secondary's 835 says what the patient
owes. Reversals post their negative PR as far as the payment they reverse put it on the ledger, so a
reversed payment takes its patient charge back (and nothing of a share that was never due: a crossover's
still waiting, a primary's with a secondary to come) and the corrected one posts fresh.
The ledger is signed: + the patient owes, - the patient paid (or has a credit).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rcm_shared.x12.sets.x835 import FORWARDED

PRIMARY_PAID = ("1", "19")  # CLP02 codes after which claims bills the next payer
AGING = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, "90+"))


@dataclass(frozen=True, slots=True)
class PatientShare:
    """What one claim payment leaves to the patient, and what decides whether it is due yet."""

    claim_id: str
    claim_payment_id: str
    remittance_id: str
    status: str  # CLP02
    paid_cents: int
    charge_cents: int
    name: tuple[str, str | None] | None  # NM1*QC last and first name, when the 835 gave one
    entries: list[tuple[str, int]]  # patient responsibility (entry type, cents)
    due: bool = False  # due whatever payer still has to answer (a late crossover, or one taken back)


def share_of(
    payment: Any, entries: list[tuple[str, int]], name: tuple[str, str | None] | None = None, due: bool = False
) -> PatientShare:
    """The share of a stored claim payment (its claim, id, remittance, CLP02, paid and charge)."""
    return PatientShare(
        payment.claim_id,
        payment.id,
        payment.remittance_id,
        payment.status_code,
        payment.paid_cents,
        payment.charge_cents,
        name,
        entries,
        due,
    )


def waits_for_another_payer(share: PatientShare, next_payer_id: str | None) -> bool:
    """Whether the next payer's 835 (a secondary's, a crossover's) says what the patient owes of this share."""
    if share.due:
        return False
    pending_other_payer = next_payer_id and share.status in PRIMARY_PAID and share.paid_cents < share.charge_cents
    return bool(pending_other_payer) or share.status in FORWARDED


def taken_back(entries: list[tuple[str, int]], reached: dict[str, int]) -> list[tuple[str, int]]:
    """A reversal's patient entries (negative), each no larger than what its original left on the ledger."""
    out = []
    left = dict(reached)
    for entry_type, amount in entries:
        if amount >= 0:  # a reversal restating a credit: as sent
            out.append((entry_type, amount))
            continue
        take = min(-amount, max(left.get(entry_type, 0), 0))
        left[entry_type] = left.get(entry_type, 0) - take
        if take:
            out.append((entry_type, -take))
    return out


@dataclass
class Tender:
    """A patient payment or refund as asked for."""

    account_id: str
    amount_cents: int
    method: str
    reference: str | None
    received_on: date
    claim_ids: list[str]


def request_hash(kind: str, t: Tender) -> str:
    body = {"kind": kind, "account": t.account_id, "amount": t.amount_cents, "method": t.method, "claims": t.claim_ids}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def applied(order: list[str], balances: dict[str | None, int], amount: int) -> list[tuple[str | None, int]]:
    """A payment spread over claims in ``order`` (each up to its balance); the rest a credit on account."""
    left = amount
    rows: list[tuple[str | None, int]] = []
    for claim_id in order:
        owed = balances.get(claim_id, 0)
        if left <= 0 or owed <= 0:
            continue
        part = min(owed, left)
        rows.append((claim_id, part))
        left -= part
    if left:
        rows.append((None, left))  # a credit on account (refundable, or applied by the next payment run)
    return rows


GENERIC_SERVICE = "Medical service"


def service_label(procedure_code: str, description: str | None) -> str:
    """A service as the patient reads it: the practice's own words (its charge master), else a generic name
    with the procedure code (a patient can ask about a code; a claim id means nothing to them)."""
    if description and description.strip():
        return description.strip()
    return f"{GENERIC_SERVICE} (procedure code {procedure_code})"


def cycle_day(account: str) -> int:
    """The account's billing-cycle day (1-28): statements for it go out on that day of the month."""
    return int(hashlib.sha256(account.encode()).hexdigest()[:8], 16) % 28 + 1


def end_of_day(as_of: date) -> datetime:
    """The first instant after ``as_of`` (UTC): a statement as of a date counts what was posted before it."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)


def aging_bucket(age_days: int) -> str:
    return next(lbl for lo, hi, lbl in AGING if age_days >= lo and (hi is None or age_days <= hi))


def credit_off_youngest(aging: dict[str, int], on_account: int) -> None:
    """A credit on account reduces the newest balances first: taken off the youngest buckets."""
    credit = -on_account
    for _lo, _hi, label in AGING:
        taken = min(aging[label], credit)
        aging[label] -= taken
        credit -= taken
