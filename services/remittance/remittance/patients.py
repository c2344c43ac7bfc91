"""The patient side of accounts receivable: patient balances, patient payments and refunds, statements.

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
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rcm_shared.bus.outbox import Outbox, staged
from rcm_shared.db import bulk_insert
from rcm_shared.ids import new_id
from rcm_shared.payloads.remittance import PatientBalanceChangedV1, StatementIssuedV1
from rcm_shared.x12.sets.x835 import FORWARDED, ClaimPayment
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from remittance.domain.posting import CONTRACTUAL, PATIENT_TRANSFER, PATIENT_TYPES, REVERSAL, Entry, cents
from remittance.models import (
    billed_claim,
    bus,
    claim_payment,
    ledger_entry,
    patient_account,
    patient_ledger,
    patient_payment,
    statement,
    statement_run,
)

SOURCE = "/remittance"
PRIMARY_PAID = ("1", "19")  # CLP02 codes after which claims bills the next payer
AGING = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, "90+"))


class PatientError(ValueError):
    """A request the ledger cannot take (unknown account, more than owed or held in credit, ...)."""


class IdempotencyConflict(PatientError):
    """The idempotency key was used before for a different request."""


# -- from the 835 -----------------------------------------------------------------------------------------
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


async def post_patient_share(
    conn: AsyncConnection,
    outbox: Outbox,
    tenant: str,
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
    await post_shares(conn, outbox, tenant, shares, now)


async def post_shares(
    conn: AsyncConnection, outbox: Outbox, tenant: str, shares: Sequence[PatientShare], now: datetime
) -> None:
    """Post each share to its claim's patient account (from the billed claim) unless the claim is unknown
    (no account: its payment is in review) or another payer has yet to adjudicate it."""
    ids = list({share.claim_id for share in shares})
    b = billed_claim.c
    known = {
        row.claim_id: row
        for row in await conn.execute(
            select(b.claim_id, b.patient_account, b.next_payer_id).where(
                and_(b.tenant_id == tenant, b.claim_id.in_(ids), b.patient_account.is_not(None))
            )
        )
    }
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
        pending_other_payer = (
            billed.next_payer_id and share.status in PRIMARY_PAID and share.paid_cents < share.charge_cents
        )
        if not share.due and (pending_other_payer or share.status in FORWARDED):
            continue  # the next payer's 835 says what the patient owes (a crossover's: remittance.crossover)
        entries = share.entries
        if share.claim_payment_id in reversal_ids:
            if reached is None:
                reached = await _reached_ledger(conn, tenant, reversals, known, rows)
            entries = _taken_back(share.entries, reached.get(share.claim_payment_id, {}))
        for entry_type, amount_cents in entries:
            rows.append(
                {
                    "tenant_id": tenant,
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
    if names:
        await bulk_insert(
            conn,
            patient_account,
            [
                {"tenant_id": tenant, "account_id": a, "last_name": n[0], "first_name": n[1], "updated_at": now}
                for a, n in names.items()
            ],
            skip_conflicts=True,
        )
    if rows:
        await bulk_insert(conn, patient_ledger, rows)
        changes: dict[str, int] = defaultdict(int)
        for r in rows:
            changes[r["account_id"]] += r["amount_cents"]
        await _balance_events(conn, outbox, tenant, changes, "insurance", touched)


async def _reached_ledger(
    conn: AsyncConnection,
    tenant: str,
    reversals: Sequence[PatientShare],
    known: dict[str, Any],
    batch: Sequence[dict[str, Any]],
) -> dict[str, dict[str, int]]:
    """Per reversal (its claim payment id), what the payment it reverses put on the patient's ledger, by
    entry type: nothing when its share was never due (a crossover still waiting, a primary with a
    secondary to come) or when no original was found; ``batch`` holds the rows about to be posted with it."""
    cp, p = claim_payment.c, patient_ledger.c
    original_of = {
        rid: oid
        for rid, oid in await conn.execute(
            select(cp.id, cp.reversal_of).where(
                and_(cp.id.in_([s.claim_payment_id for s in reversals]), cp.reversal_of.is_not(None))
            )
        )
    }
    posted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if original_of:
        accounts = list({known[s.claim_id].patient_account for s in reversals})
        for payment_id, entry_type, amount in await conn.execute(
            select(p.claim_payment_id, p.entry_type, func.sum(p.amount_cents))
            .where(
                and_(
                    p.tenant_id == tenant,
                    p.account_id.in_(accounts),
                    p.claim_payment_id.in_(list(original_of.values())),
                )
            )
            .group_by(p.claim_payment_id, p.entry_type)
        ):
            posted[payment_id][entry_type] += int(amount or 0)
        for row in batch:
            if row["claim_payment_id"] in original_of.values():
                posted[row["claim_payment_id"]][row["entry_type"]] += row["amount_cents"]
    return {rid: dict(posted[oid]) for rid, oid in original_of.items()}


def _taken_back(entries: list[tuple[str, int]], reached: dict[str, int]) -> list[tuple[str, int]]:
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


async def _balance_events(
    conn: AsyncConnection,
    outbox: Outbox,
    tenant: str,
    changes: dict[str, int],
    cause: str,
    claims: dict[str, list[str]] | None = None,
) -> None:
    balances = await account_balances(conn, tenant, list(changes))
    events = [
        staged(
            PatientBalanceChangedV1(
                account_id=account,
                balance_cents=balances.get(account, 0),
                change_cents=change,
                cause=cause,
                claim_ids=sorted(set((claims or {}).get(account, []))),
            ),
            source=SOURCE,
            tenant_id=tenant,
            key=account,
        )
        for account, change in changes.items()
        if change
    ]
    await outbox.add_many(conn, events)


# -- balances ---------------------------------------------------------------------------------------------
async def account_balances(conn: AsyncConnection, tenant: str, accounts: list[str]) -> dict[str, int]:
    p = patient_ledger.c
    out: dict[str, int] = {}
    for start in range(0, len(accounts), 500):
        rows = await conn.execute(
            select(p.account_id, func.sum(p.amount_cents))
            .where(and_(p.tenant_id == tenant, p.account_id.in_(accounts[start : start + 500])))
            .group_by(p.account_id)
        )
        out.update({a: int(total or 0) for a, total in rows})
    return out


async def claim_balances(conn: AsyncConnection, tenant: str, account: str) -> dict[str | None, int]:
    """Per claim (None: on account) the patient balance, oldest claim first."""
    p = patient_ledger.c
    rows = await conn.execute(
        select(p.claim_id, func.sum(p.amount_cents), func.min(p.id))
        .where(and_(p.tenant_id == tenant, p.account_id == account))
        .group_by(p.claim_id)
        .order_by(func.min(p.id))
    )
    return {claim_id: int(total or 0) for claim_id, total, _first in rows}


async def pending_with_insurance(conn: AsyncConnection, tenant: str, account: str) -> list[str]:
    """Claims of the account whose payers are not all done: nothing of them is shown as patient due."""
    b = billed_claim.c
    rows = await conn.execute(
        select(b.claim_id).where(
            and_(
                b.tenant_id == tenant,
                b.patient_account == account,
                b.state.in_(("submitted", "accepted", "appealed")),
            )
        )
    )
    waiting = [claim_id for (claim_id,) in rows]
    # a primary whose secondary claim is still out: the secondary is listed above; list the primary too
    # (no query for an empty list: an empty IN list reads the tenant's every billed claim on SQLite)
    originals: list[str | None] = (
        list(
            await conn.scalars(
                select(b.original_claim_id).where(
                    and_(b.tenant_id == tenant, b.claim_id.in_(waiting), b.original_claim_id.is_not(None))
                )
            )
        )
        if waiting
        else []
    )
    # a claim a payer forwarded (a crossover) whose crossover payer has not answered, nor been late
    cp = claim_payment.c
    crossovers = await conn.execute(
        select(cp.claim_id)
        .join(billed_claim, and_(b.tenant_id == cp.tenant_id, b.claim_id == cp.claim_id))
        .where(
            and_(
                cp.tenant_id == tenant,
                b.patient_account == account,
                cp.crossover_state == "pending",
                cp.reversed_by.is_(None),  # a payment taken back forwards nothing
            )
        )
    )
    return sorted(set(waiting) | {c for c in originals if c} | {c for (c,) in crossovers})


@dataclass
class Tender:
    account_id: str
    amount_cents: int
    method: str
    reference: str | None
    received_on: date
    claim_ids: list[str]


def _request_hash(kind: str, t: Tender) -> str:
    body = {"kind": kind, "account": t.account_id, "amount": t.amount_cents, "method": t.method, "claims": t.claim_ids}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


async def _replay(conn: AsyncConnection, tenant: str, key: str, request_hash: str) -> Any | None:
    row = (
        await conn.execute(
            select(patient_payment).where(
                and_(patient_payment.c.tenant_id == tenant, patient_payment.c.idempotency_key == key)
            )
        )
    ).first()
    if row is not None and row.request_hash != request_hash:
        raise IdempotencyConflict(f"Idempotency-Key {key!r} was used for a different request")
    return row


async def _record_tender(conn: AsyncConnection, tenant: str, kind: str, t: Tender, key: str) -> tuple[str, bool]:
    """The payment row, or the one the key already recorded (then nothing is posted again)."""
    request_hash = _request_hash(kind, t)
    existing = await _replay(conn, tenant, key, request_hash)
    if existing is not None:
        return existing.id, False
    payment_id = new_id()
    try:
        async with conn.begin_nested():
            await conn.execute(
                patient_payment.insert().values(
                    id=payment_id,
                    tenant_id=tenant,
                    account_id=t.account_id,
                    kind=kind,
                    method=t.method,
                    reference=t.reference,
                    amount_cents=t.amount_cents,
                    received_on=t.received_on,
                    idempotency_key=key,
                    request_hash=request_hash,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:  # the same key, concurrently: the other request won
        existing = await _replay(conn, tenant, key, request_hash)
        assert existing is not None
        return existing.id, False
    return payment_id, True


async def _known_account(conn: AsyncConnection, tenant: str, account: str) -> None:
    b, p = billed_claim.c, patient_ledger.c
    found = (
        await conn.execute(select(b.id).where(and_(b.tenant_id == tenant, b.patient_account == account)).limit(1))
    ).first() or (
        await conn.execute(select(p.id).where(and_(p.tenant_id == tenant, p.account_id == account)).limit(1))
    ).first()
    if found is None:
        raise PatientError(f"no patient account {account}")


async def apply_payment(conn: AsyncConnection, outbox: Outbox, tenant: str, t: Tender, key: str) -> tuple[str, bool]:
    """Post a patient payment once per idempotency key: to the named claims first (in the order given),
    then to the oldest open claims; what is left stays on account as a credit. Returns (payment id, new)."""
    if t.amount_cents <= 0:
        raise PatientError("a payment amount must be positive")
    await _known_account(conn, tenant, t.account_id)
    payment_id, new = await _record_tender(conn, tenant, "payment", t, key)
    if not new:
        return payment_id, False
    balances = await claim_balances(conn, tenant, t.account_id)
    unknown = [c for c in t.claim_ids if c not in balances]
    if unknown:
        raise PatientError(f"claim(s) {', '.join(unknown)} have no patient balance on account {t.account_id}")
    order = [*t.claim_ids, *(c for c in balances if c is not None and c not in t.claim_ids)]
    left = t.amount_cents
    now = datetime.now(UTC)
    rows: list[tuple[str | None, int]] = []
    for claim_id in order:
        owed = balances.get(claim_id, 0)
        if left <= 0 or owed <= 0:
            continue
        applied = min(owed, left)
        rows.append((claim_id, applied))
        left -= applied
    if left:
        rows.append((None, left))  # a credit on account (refundable, or applied by the next payment run)
    await bulk_insert(
        conn,
        patient_ledger,
        [
            {
                "tenant_id": tenant,
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
        ],
    )
    claims = [c for c, _a in rows if c]
    await _balance_events(conn, outbox, tenant, {t.account_id: -t.amount_cents}, "payment", {t.account_id: claims})
    return payment_id, True


async def refund_credit(conn: AsyncConnection, outbox: Outbox, tenant: str, t: Tender, key: str) -> tuple[str, bool]:
    """Pay back (part of) a credit balance: never more than the account's credit."""
    if t.amount_cents <= 0:
        raise PatientError("a refund amount must be positive")
    await _known_account(conn, tenant, t.account_id)
    request_hash = _request_hash("refund", t)
    existing = await _replay(conn, tenant, key, request_hash)
    if existing is not None:
        return existing.id, False
    credit = -(await account_balances(conn, tenant, [t.account_id])).get(t.account_id, 0)
    if t.amount_cents > credit:
        raise PatientError(
            f"the refund ({t.amount_cents / 100:.2f}) is more than the account's credit ({max(credit, 0) / 100:.2f})"
        )
    payment_id, new = await _record_tender(conn, tenant, "refund", t, key)
    if not new:
        return payment_id, False
    await bulk_insert(
        conn,
        patient_ledger,
        [
            {
                "tenant_id": tenant,
                "account_id": t.account_id,
                "claim_id": None,
                "entry_type": "refund",
                "amount_cents": t.amount_cents,
                "remittance_id": None,
                "claim_payment_id": None,
                "payment_id": payment_id,
                "created_at": datetime.now(UTC),
            }
        ],
    )
    await _balance_events(conn, outbox, tenant, {t.account_id: t.amount_cents}, "refund")
    return payment_id, True


# -- statements -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Practice:
    name: str
    address: str
    phone: str
    pay_online: str
    pay_by_mail: str


def cycle_day(account: str) -> int:
    """The account's billing-cycle day (1-28): statements for it go out on that day of the month."""
    return int(hashlib.sha256(account.encode()).hexdigest()[:8], 16) % 28 + 1


async def _chain(conn: AsyncConnection, tenant: str, claim_id: str) -> list[str]:
    """The claim and the claims before it (a secondary's primary): one visit, several payers."""
    out = [claim_id]
    b = billed_claim.c
    while len(out) < 5:
        prior = (
            await conn.execute(select(b.original_claim_id).where(and_(b.tenant_id == tenant, b.claim_id == out[-1])))
        ).scalar()
        if not prior or prior in out:
            break
        out.append(prior)
    return out


def end_of_day(as_of: date) -> datetime:
    """The first instant after ``as_of`` (UTC): a statement as of a date counts what was posted before it."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)


async def statement_document(
    conn: AsyncConnection, tenant: str, account: str, as_of: date, practice: Practice
) -> dict[str, Any] | None:
    """The statement of one account as of a date, or None when the account owed nothing by then.

    Only what was posted by the end of ``as_of`` counts (patient entries, payers' payments and contractual
    adjustments): a statement as of an earlier date shows the account as it stood then, never a balance
    younger than its own date.
    """
    cutoff = end_of_day(as_of)
    p = patient_ledger.c
    entries = list(
        await conn.execute(
            select(p.claim_id, p.entry_type, p.amount_cents, p.created_at)
            .where(and_(p.tenant_id == tenant, p.account_id == account, p.created_at < cutoff))
            .order_by(p.id)
        )
    )
    balance = sum(e.amount_cents for e in entries)
    if balance <= 0:
        return None
    name = (
        await conn.execute(
            select(patient_account.c.last_name, patient_account.c.first_name).where(
                and_(patient_account.c.tenant_id == tenant, patient_account.c.account_id == account)
            )
        )
    ).first()
    by_claim: dict[str, list[Any]] = defaultdict(list)
    on_account = 0
    for e in entries:
        if e.claim_id is None:
            on_account += e.amount_cents
        else:
            by_claim[e.claim_id].append(e)
    visits = []
    aging = {label: 0 for _lo, _hi, label in AGING}
    for claim_id, rows in by_claim.items():
        owed = {t: sum(r.amount_cents for r in rows if r.entry_type == t) for t in sorted(PATIENT_TYPES)}
        transferred = sum(r.amount_cents for r in rows if r.entry_type == PATIENT_TRANSFER)
        if transferred:  # a denied amount billed to the patient: no longer the payer's adjustment, the patient's
            owed[PATIENT_TRANSFER] = transferred
        paid = -sum(r.amount_cents for r in rows if r.entry_type == "payment")
        visit_balance = sum(r.amount_cents for r in rows)
        if visit_balance == 0 and not any(owed.values()):
            continue
        chain = await _chain(conn, tenant, claim_id)
        cp = claim_payment.c
        payments = list(
            await conn.execute(
                select(cp.id, cp.claim_id, cp.paid_cents).where(
                    and_(cp.tenant_id == tenant, cp.claim_id.in_(chain), cp.posted_at < cutoff)
                )
            )
        )
        b = billed_claim.c
        first = (
            await conn.execute(
                select(b.charge_cents, b.service_from).where(and_(b.tenant_id == tenant, b.claim_id == chain[-1]))
            )
        ).first()
        charge = first.charge_cents if first else 0
        insurance_paid = sum(x.paid_cents for x in payments)
        responsibility = sum(owed.values())
        le = ledger_entry.c
        contractual = (
            await conn.execute(
                select(func.coalesce(func.sum(le.amount_cents), 0)).where(
                    and_(
                        le.tenant_id == tenant,
                        le.claim_id == chain[-1],
                        le.entry_type == CONTRACTUAL,
                        le.claim_payment_id.in_([x.id for x in payments]),
                    )
                )
            )
        ).scalar()
        # the 835 posted the denied amount as the payer's adjustment (CO: contractual); billed to the patient,
        # it is taken off the adjustments so that the line still adds up to its charge
        contractual = max(int(contractual or 0) - transferred, 0)
        visits.append(
            {
                "claim_id": claim_id,
                "service_date": first.service_from.isoformat() if first and first.service_from else None,
                "charge_cents": charge,
                "insurance_paid_cents": insurance_paid,
                "contractual_adjustment_cents": int(contractual or 0),
                # what is neither paid, written off by contract, nor owed by the patient: other payers'
                # adjustments (a secondary's write-off), so that the line adds up to its charge
                "other_adjustment_cents": charge - insurance_paid - int(contractual or 0) - responsibility,
                "patient_responsibility_cents": owed,
                "patient_paid_cents": paid,
                "balance_cents": visit_balance,
            }
        )
        if visit_balance > 0:
            since = min(r.created_at for r in rows).date()
            age = (as_of - since).days
            label = next(lbl for lo, hi, lbl in AGING if age >= lo and (hi is None or age <= hi))
            aging[label] += visit_balance
    if on_account < 0:  # a credit reduces the newest balances first: take it off the youngest bucket
        credit = -on_account
        for _lo, _hi, label in AGING:
            taken = min(aging[label], credit)
            aging[label] -= taken
            credit -= taken
    return {
        "account_id": account,
        "patient": {"last_name": name.last_name, "first_name": name.first_name} if name else None,
        "practice": {"name": practice.name, "address": practice.address, "phone": practice.phone},
        "statement_date": as_of.isoformat(),
        "due_date": (as_of + timedelta(days=21)).isoformat(),
        "visits": visits,
        "on_account_cents": on_account,
        "aging_cents": aging,
        "amount_due_cents": balance,
        "how_to_pay": [practice.pay_online, practice.pay_by_mail, f"Call {practice.phone} to pay by card."],
    }


def render_pdf(doc: dict[str, Any]) -> bytes:
    """The statement as a one-page-per-screenful PDF (fpdf2, core fonts)."""
    from fpdf import FPDF

    def money(cents: int) -> str:
        return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.2f}"

    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    practice = doc["practice"]
    pdf.cell(0, 8, practice["name"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 5, practice["address"], new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"Billing questions: {practice['phone']}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, "PATIENT STATEMENT", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    patient = doc["patient"] or {}
    who = " ".join(x for x in (patient.get("first_name"), patient.get("last_name")) if x) or "Patient"
    pdf.cell(0, 5, f"Statement for: {who}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"Account: {doc['account_id']}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0,
        5,
        f"Statement date: {doc['statement_date']}   Please pay by: {doc['due_date']}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    widths = (24, 28, 24, 24, 24, 30, 22, 20)
    heads = ("Date", "Claim", "Charge", "Ins. paid", "Adjusted", "You owe", "You paid", "Balance")
    pdf.set_font("Helvetica", "B", 8)
    for w, h in zip(widths, heads, strict=True):
        pdf.cell(w, 6, h, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for v in doc["visits"]:
        owed = sum(v["patient_responsibility_cents"].values())
        adjusted = v["contractual_adjustment_cents"] + v["other_adjustment_cents"]
        cells = (
            v["service_date"] or "",
            v["claim_id"],
            money(v["charge_cents"]),
            money(v["insurance_paid_cents"]),
            money(adjusted),
            money(owed),
            money(v["patient_paid_cents"]),
            money(v["balance_cents"]),
        )
        for w, text in zip(widths, cells, strict=True):
            pdf.cell(w, 6, text, border=1)
        pdf.ln()
        detail = ", ".join(f"{k} {money(c)}" for k, c in v["patient_responsibility_cents"].items() if c)
        if detail:
            pdf.cell(0, 5, f"    Your share: {detail}", new_x="LMARGIN", new_y="NEXT")
    if doc["on_account_cents"]:
        pdf.cell(0, 6, f"Payments on account (credit): {money(doc['on_account_cents'])}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(
        0,
        6,
        "Aging: " + "   ".join(f"{k} days {money(c)}" for k, c in doc["aging_cents"].items()),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, f"AMOUNT DUE: {money(doc['amount_due_cents'])}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, "How to pay:", new_x="LMARGIN", new_y="NEXT")
    for line in doc["how_to_pay"]:
        pdf.cell(0, 5, f"  - {line}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


async def run_statements(
    conn: AsyncConnection,
    outbox: Outbox,
    tenant: str,
    as_of: date,
    practice: Practice,
    cycle: int | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """Statements for every account with a balance due by the end of ``as_of`` (on its cycle day, when given)."""
    p = patient_ledger.c
    owing = [
        a
        for a, total in await conn.execute(
            select(p.account_id, func.sum(p.amount_cents))
            .where(and_(p.tenant_id == tenant, p.created_at < end_of_day(as_of)))
            .group_by(p.account_id)
        )
        if (total or 0) > 0 and (cycle is None or cycle_day(a) == cycle)
    ]
    run_id = new_id()
    now = datetime.now(UTC)
    issued = []
    for account in sorted(owing):
        doc = await statement_document(conn, tenant, account, as_of, practice)
        if doc is None:
            continue
        statement_id = new_id()
        doc["statement_id"] = statement_id
        await conn.execute(
            statement.insert().values(
                id=statement_id,
                tenant_id=tenant,
                run_id=run_id,
                account_id=account,
                statement_date=as_of,
                amount_due_cents=doc["amount_due_cents"],
                document=doc,
                pdf=render_pdf(doc),
                created_at=now,
            )
        )
        event = StatementIssuedV1(
            statement_id=statement_id,
            run_id=run_id,
            account_id=account,
            statement_date=as_of,
            amount_due_cents=doc["amount_due_cents"],
            due_date=date.fromisoformat(doc["due_date"]),
            visits=len(doc["visits"]),
        )
        await outbox.emit(conn, event, source=SOURCE, tenant_id=tenant, key=account)
        issued.append({"id": statement_id, "account_id": account, "amount_due_cents": doc["amount_due_cents"]})
    await conn.execute(
        statement_run.insert().values(
            id=run_id,
            tenant_id=tenant,
            as_of=as_of,
            cycle_day=cycle,
            statements=len(issued),
            amount_due_cents=sum(i["amount_due_cents"] for i in issued),
            created_at=now,
        )
    )
    return run_id, issued


def outbox(topic_prefix: str) -> Outbox:
    return Outbox(bus, topic_prefix)
