"""Crossovers: a payer that processed a claim and forwarded it to the next payer itself (CLP02 19-21, the
carrier in NM1*TT), as Medicare does to a Medigap or Medicaid plan. No claim goes from us to that payer;
its own 835 answers the same claim id.

Until that answer, the forwarding payment's patient responsibility is not due from the patient (the
crossover payer may pay it). The answer's CAS says what the patient still owes and carries the forwarding
payer's part as CARC 23 (impact of prior payer adjudication); on the claim's ledger the answer is posted
with offsets (no CAS group) that take back that CARC 23 and the forwarded payment's patient share, so the
claim's totals count every dollar once: charge = payments + contractual + patient share still owed.
An answer that is late (``release_late``) makes the forwarded payment's patient share due; a later answer
takes it back from the patient's ledger and posts its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rcm_shared.bus.outbox import Outbox
from rcm_shared.x12.sets.x835 import FORWARDED, ClaimPayment
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from remittance.domain.posting import PATIENT_TYPES, REVERSAL, Entry
from remittance.models import claim_payment, ledger_entry, remittance
from remittance.patients import PatientShare, post_shares

PENDING, RELEASED, ANSWERED = "pending", "released", "answered"
PRIOR_PAYER = "23"  # CARC 23: the impact of prior payer(s) adjudication, including payments and adjustments


@dataclass
class Forwarded:
    """A forwarded claim payment still waiting for the crossover payer's answer."""

    id: str
    claim_id: str
    payer_id: str  # the forwarding payer
    state: str  # pending | released
    patient: list[tuple[str, int]]  # its patient responsibility (entry type, cents)


def row_values(c: ClaimPayment) -> dict[str, Any]:
    """The crossover columns of a claim payment row as posted."""
    tt = c.crossover_carrier
    return {
        "crossover_payer_id": tt.get("id") if c.forwarded else None,
        "crossover_payer_name": (tt.get("name") or "")[:60] or None if c.forwarded else None,
        "crossover_state": PENDING if c.forwarded else None,
        "crossover_of": None,
    }


class AnsweredMeanwhile(RuntimeError):
    """A forwarded payment changed its crossover state after this posting read it (``waiting`` locks it on
    PostgreSQL, so this guards the invariant): the posting is rolled back rather than bill its patient
    share twice or leave it unbilled."""


async def waiting(conn: AsyncConnection, tenant: str, claim_ids: Sequence[str], payer_id: str) -> dict[str, Forwarded]:
    """The forwarded payments of these claims that another payer than ``payer_id`` forwarded and that no
    crossover answer has come for yet, by claim id (the latest one of a claim).

    On PostgreSQL the payments are locked until the posting commits: a statement run's ``release_late``
    cannot bill a share this answer is about to take over (it skips them), and one that did first makes
    this read wait for it and see the payment released (its share is then taken back)."""
    cp, r = claim_payment.c, remittance.c
    found: dict[str, Forwarded] = {}
    ids = list(set(claim_ids))
    for start in range(0, len(ids), 500):
        stmt = (
            select(cp.id, cp.claim_id, cp.crossover_state, r.payer_id)
            .join(remittance, r.id == cp.remittance_id)
            .where(
                and_(
                    cp.tenant_id == tenant,
                    cp.claim_id.in_(ids[start : start + 500]),
                    cp.crossover_state.in_((PENDING, RELEASED)),
                    cp.reversed_by.is_(None),
                    r.payer_id != payer_id,
                )
            )
            .order_by(cp.posted_at, cp.id)
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=claim_payment)
        rows = await conn.execute(stmt)
        for row in rows:
            found[row.claim_id] = Forwarded(row.id, row.claim_id, row.payer_id, row.crossover_state, [])
    if found:
        shares = await patient_share(conn, [f.id for f in found.values()])
        for f in found.values():
            f.patient.extend(shares[f.id])
    return found


async def patient_share(conn: AsyncConnection, payment_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    """The patient responsibility the payer's CAS gave each of these claim payments, as (entry type, cents)
    in ledger order; the offsets posted without a CAS group are not the payer's word and stay out."""
    le = ledger_entry.c
    found: dict[str, list[tuple[str, int]]] = {i: [] for i in payment_ids}
    for payment_id, entry_type, amount in await conn.execute(
        select(le.claim_payment_id, le.entry_type, le.amount_cents)
        .where(
            and_(
                le.claim_payment_id.in_(payment_ids),
                le.entry_type.in_(PATIENT_TYPES),
                le.group_code.is_not(None),
            )
        )
        .order_by(le.id)
    ):
        if amount:
            found[payment_id].append((entry_type, amount))
    return found


@dataclass
class EarlyAnswer:
    """A crossover payer's payment that was posted before the forwarded payment it answers (the forwarding
    payer's 835 was held, then released): posted as an ordinary payment, its CARC 23 still on the ledger."""

    id: str
    prior_payer: list[tuple[str, int]]  # its CARC 23 ledger entries (entry type, cents)


async def answered_already(
    conn: AsyncConnection, tenant: str, claims: Sequence[ClaimPayment], payer_id: str
) -> dict[str, EarlyAnswer]:
    """For the forwarded payments among ``claims`` (this 835's, from ``payer_id``), the crossover payer's
    answer already posted for the same claim, by claim id: a payment from the carrier NM1*TT names (from
    another payer when it names none) that is no reversal, no forward, answers nothing yet and stands."""
    forwarded = {c.patient_control_number: c.crossover_carrier.get("id") for c in claims if c.forwarded}
    if not forwarded:
        return {}
    cp, r, le = claim_payment.c, remittance.c, ledger_entry.c
    found: dict[str, EarlyAnswer] = {}
    rows = await conn.execute(
        select(cp.id, cp.claim_id, r.payer_id)
        .join(remittance, r.id == cp.remittance_id)
        .where(
            and_(
                cp.tenant_id == tenant,
                cp.claim_id.in_(list(forwarded)),
                cp.status_code.not_in((REVERSAL, *FORWARDED)),
                cp.reversed_by.is_(None),
                cp.crossover_of.is_(None),
                r.payer_id != payer_id,
            )
        )
        .order_by(cp.posted_at, cp.id)
    )
    for row in rows:
        carrier = forwarded[row.claim_id]
        if carrier is None or row.payer_id == carrier:
            found[row.claim_id] = EarlyAnswer(row.id, [])  # the latest
    if found:
        by_id = {a.id: a for a in found.values()}
        for payment_id, entry_type, amount in await conn.execute(
            select(le.claim_payment_id, le.entry_type, le.amount_cents)
            .where(
                and_(
                    le.claim_payment_id.in_(list(by_id)),
                    le.reason_code == PRIOR_PAYER,
                    le.group_code.in_(("OA", "CO", "PI")),
                )
            )
            .order_by(le.id)
        ):
            by_id[payment_id].prior_payer.append((entry_type, amount))
    return found


def early_offsets(entries: list[Entry], answer: EarlyAnswer) -> list[Entry]:
    """``offsets`` of an answer posted before its forwarded payment, posted with the forwarded payment: the
    answer's CARC 23 and this payment's patient share (what the answer left to the patient replaces it)."""
    out = [Entry(entry_type, -amount, None, PRIOR_PAYER) for entry_type, amount in answer.prior_payer]
    out += [
        Entry(e.entry_type, -e.amount_cents, None, None)
        for e in entries
        if e.entry_type in PATIENT_TYPES and e.group_code is not None and e.amount_cents
    ]
    return out


def answers(c: ClaimPayment, forwarded: Forwarded) -> bool:
    """Whether this payment is the crossover payer's answer to the forwarded one (``waiting`` already left out
    the forwarding payer's own restatements), not a reversal."""
    return c.status != REVERSAL


def offsets(c: ClaimPayment, entries: list[Entry], forwarded: Forwarded) -> list[Entry]:
    """Ledger entries (no CAS group) that keep the claim's totals whole when the answer posts: its CARC 23
    (the forwarding payer's part, already posted) and the forwarded payment's patient share (superseded by
    what the answer leaves to the patient) are taken back."""
    out = [
        Entry(e.entry_type, -e.amount_cents, None, PRIOR_PAYER, e.line_index)
        for e in entries
        if e.reason_code == PRIOR_PAYER and e.group_code in ("OA", "CO", "PI")
    ]
    out += [Entry(entry_type, -amount, None, None) for entry_type, amount in forwarded.patient]
    return out


def taken_back(answer: ClaimPayment, remittance_id: str, forwarded: Forwarded) -> PatientShare | None:
    """A released forwarded payment's patient share, taken back from the patient when the answer comes (the
    answer's own patient share is posted as any payment's). Posted under the forwarded payment (from the
    answer's remittance): what that payment leaves on the patient's ledger is then what a reversal of it may
    take back, and the answer's own share is all a reversal of the answer finds."""
    if forwarded.state != RELEASED or not forwarded.patient:
        return None
    return PatientShare(
        answer.patient_control_number,
        forwarded.id,
        remittance_id,
        answer.status,
        0,
        0,
        None,
        [(entry_type, -amount) for entry_type, amount in forwarded.patient],
        due=True,
    )


async def mark_answered(conn: AsyncConnection, answered: dict[str, str], read: dict[str, str]) -> None:
    """The forwarded payments (id -> the answering payment's id) have their crossover answer. Each moves from
    the state this posting read (``read``, by id; pending when not named: one posted in this transaction)
    under a conditional update: a payment another transaction moved meanwhile raises ``AnsweredMeanwhile``."""
    cp = claim_payment.c
    for forwarded_id, answer_id in answered.items():
        was = read.get(forwarded_id, PENDING)
        moved = await conn.execute(
            update(claim_payment)
            .where(and_(cp.id == forwarded_id, cp.crossover_state == was))
            .values(crossover_state=ANSWERED)
        )
        if moved.rowcount != 1:
            raise AnsweredMeanwhile(f"forwarded payment {forwarded_id} is no longer {was}")
        await conn.execute(update(claim_payment).where(cp.id == answer_id).values(crossover_of=forwarded_id))


async def release_late(
    conn: AsyncConnection, outbox: Outbox, tenant: str, as_of: date, wait_days: int, now: datetime
) -> list[str]:
    """The forwarded payments whose crossover answer is later than ``wait_days`` after their payment date
    (the claims follow-up lists them from the same day): their patient share is posted, due from the
    patient. Returns the claim ids released.

    Lateness is judged as of ``as_of`` but never after ``now``: a run dated ahead must not bill today what
    the crossover payer still has time to pay. Each payment moves from pending under a conditional update
    and only the rows this call moved are posted, so two runs at once post a share once; on PostgreSQL a
    payment another transaction holds (a run, or a posting of its crossover answer) is left to it."""
    cp, r = claim_payment.c, remittance.c
    cutoff = min(as_of, now.date()) - timedelta(days=wait_days)
    late = (
        await conn.execute(
            select(
                cp.id,
                cp.claim_id,
                cp.remittance_id,
                cp.status_code,
                cp.paid_cents,
                cp.charge_cents,
                cp.posted_at,
                r.payment_date,
            )
            .join(remittance, r.id == cp.remittance_id)
            .where(and_(cp.tenant_id == tenant, cp.crossover_state == PENDING, cp.reversed_by.is_(None)))
        )
    ).all()
    late = [p for p in late if (p.payment_date or p.posted_at.date()) < cutoff]
    if not late:
        return []
    ids = [p.id for p in late]
    if conn.dialect.name == "postgresql":
        # a payment locked by a posting (its crossover answer: ``waiting``) or by another run is skipped: the
        # answer takes it over, the other run bills it; a run never waits on a posting, so the two cannot
        # deadlock over the order they lock payments in
        locked = select(cp.id).where(cp.id.in_(ids)).with_for_update(skip_locked=True)
        ids = list((await conn.execute(locked)).scalars())
    moved = set(
        (
            await conn.execute(
                update(claim_payment)
                .where(and_(cp.id.in_(ids), cp.crossover_state == PENDING))
                .values(crossover_state=RELEASED)
                .returning(cp.id)
            )
        ).scalars()
    )
    late = [p for p in late if p.id in moved]  # another run released the rest meanwhile
    if not late:
        return []
    entries = await patient_share(conn, [p.id for p in late])
    shares = [
        PatientShare(
            p.claim_id,
            p.id,
            p.remittance_id,
            p.status_code,
            p.paid_cents,
            p.charge_cents,
            None,
            entries[p.id],
            due=True,
        )
        for p in late
    ]
    await post_shares(conn, outbox, tenant, shares, now)
    return sorted({p.claim_id for p in late})
