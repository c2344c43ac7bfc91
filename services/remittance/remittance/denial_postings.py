"""Postings of the denials work: a denied amount billed to the patient, or written off.

A denial resolved as billed_patient moves its amount out of insurance A/R to the patient's account (a
``patient_transfer`` line of the patient ledger, on the claim, so statements show it as the patient's share);
one written off leaves insurance A/R as an adjustment. Both are recorded in ``denial_posting`` once per denial
and kind: a resolution delivered again, under any event id, posts nothing more.

A move stands on the payer's adjudication the denial came from. The payer's later word on the claim (a
payment, a reversal, a void or replacement of it) replaces that adjudication, and what it leaves to the
patient is posted with it: the move is undone, once (a ``transfer_undone`` / ``write_off_undone`` posting
of the opposite amount, a reversing patient ledger entry). "Later" is an answer announced after the move
was posted here; claims applies the same rule to the claim's columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rcm_shared.bus.outbox import Outbox
from rcm_shared.dialects import insert_ignore
from rcm_shared.payloads.denials import DenialResolvedV1
from sqlalchemy import and_, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from remittance.domain.posting import PATIENT_TRANSFER, WRITE_OFF
from remittance.models import billed_claim, denial_posting, patient_ledger, review_item
from remittance.patients import _balance_events


async def on_denial_resolved(conn: AsyncConnection, outbox: Outbox, tenant: str, event: DenialResolvedV1) -> None:
    """Post the money a denial's resolution moved (nothing for a recovered or closed denial)."""
    moves = [
        (kind, cents)
        for kind, cents in ((PATIENT_TRANSFER, event.patient_transfer_cents), (WRITE_OFF, event.written_off_cents))
        if cents
    ]
    if not moves:
        return
    b = billed_claim.c
    account = (
        await conn.execute(select(b.patient_account).where(and_(b.tenant_id == tenant, b.claim_id == event.claim_id)))
    ).scalar()
    now = datetime.now(UTC)
    for kind, cents in moves:
        posted = await conn.execute(
            insert_ignore(
                conn,
                denial_posting,
                {
                    "tenant_id": tenant,
                    "denial_id": event.denial_id,
                    "claim_id": event.claim_id,
                    "line_number": event.line_number,
                    "kind": kind,
                    "amount_cents": cents,
                    "account_id": account if kind == PATIENT_TRANSFER else None,
                    "posted_at": now,
                },
            )
        )
        if not posted.rowcount or kind != PATIENT_TRANSFER:
            continue
        if account is None:  # no patient account known for the claim: a person posts it
            await conn.execute(
                insert(review_item).values(
                    tenant_id=tenant,
                    remittance_id=None,
                    kind="unposted_patient_transfer",
                    claim_id=event.claim_id,
                    detail=f"denial {event.denial_id} billed {cents / 100:.2f} to the patient, but claim "
                    f"{event.claim_id} has no patient account here",
                    status="open",
                    created_at=now,
                )
            )
            continue
        await conn.execute(
            insert(patient_ledger).values(
                tenant_id=tenant,
                account_id=account,
                claim_id=event.claim_id,
                entry_type=PATIENT_TRANSFER,
                amount_cents=cents,
                remittance_id=None,
                claim_payment_id=None,
                payment_id=None,
                created_at=now,
            )
        )
        await _balance_events(conn, outbox, tenant, {account: cents}, "denial", {account: [event.claim_id]})


TRANSFER_UNDONE, WRITE_OFF_UNDONE = "transfer_undone", "write_off_undone"
UNDONE = {PATIENT_TRANSFER: TRANSFER_UNDONE, WRITE_OFF: WRITE_OFF_UNDONE}


async def undo_denial_postings(
    conn: AsyncConnection, outbox: Outbox, tenant: str, answers: Sequence[tuple[str, datetime]]
) -> int:
    """Undo the denial postings of claims the payer answered again: ``answers`` are (claim id, when the
    answer was announced); a move posted before its claim's answer is undone. Returns the moves undone."""
    latest: dict[str, datetime] = {}
    for claim_id, at in answers:
        latest[claim_id] = max(at, latest.get(claim_id, at))
    if not latest:
        return 0
    d = denial_posting.c
    where: ColumnElement[bool] = and_(d.tenant_id == tenant, d.claim_id.in_(set(latest)))
    rows = list(await conn.execute(select(denial_posting).where(where)))
    done = {(r.denial_id, r.kind) for r in rows}
    now = datetime.now(UTC)
    changes: dict[str, int] = {}
    claims: dict[str, list[str]] = {}
    undone = 0
    for move in rows:
        kind = UNDONE.get(move.kind)
        if kind is None or (move.denial_id, kind) in done or move.posted_at >= latest[move.claim_id]:
            continue
        posted = await conn.execute(
            insert_ignore(
                conn,
                denial_posting,
                {
                    "tenant_id": tenant,
                    "denial_id": move.denial_id,
                    "claim_id": move.claim_id,
                    "line_number": move.line_number,
                    "kind": kind,
                    "amount_cents": -move.amount_cents,
                    "account_id": move.account_id,
                    "posted_at": now,
                },
            )
        )
        if not posted.rowcount:
            continue  # undone meanwhile by the same answer delivered again
        undone += 1
        if move.kind != PATIENT_TRANSFER or move.account_id is None:
            continue  # a write-off leaves insurance A/R only; a transfer never posted to an account has no entry
        await conn.execute(
            insert(patient_ledger).values(
                tenant_id=tenant,
                account_id=move.account_id,
                claim_id=move.claim_id,
                entry_type=PATIENT_TRANSFER,
                amount_cents=-move.amount_cents,
                remittance_id=None,
                claim_payment_id=None,
                payment_id=None,
                created_at=now,
            )
        )
        changes[move.account_id] = changes.get(move.account_id, 0) - move.amount_cents
        claims.setdefault(move.account_id, []).append(move.claim_id)
    if changes:
        await _balance_events(conn, outbox, tenant, changes, "denial", claims)
    return undone
