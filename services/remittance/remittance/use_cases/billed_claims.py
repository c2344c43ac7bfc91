"""What claims billed, from its ``claim.status_changed`` events: the claims and their lines 835 payments are
matched to; then the payments that came before their claim are matched (``use_cases.matching``).

The events come in consumer batches that mix tenants, so these use cases take the batch's connection and
(tenant, event) pairs; the events they emit go out through each tenant's unit on that connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.unit import Actor
from sqlalchemy.ext.asyncio import AsyncConnection

from remittance.repository.billed import CLAIM_COLUMNS, BilledBatch
from remittance.repository.ledger import LedgerRepository
from remittance.use_cases import service_units
from remittance.use_cases.matching import reconcile_late_claims

ACTOR = Actor("event:claim.status_changed")  # a batch of events: no one of them is the cause


async def on_claim_status_changed(
    conn: AsyncConnection, tenant: str, event: ClaimStatusChangedV1, topic_prefix: str = ""
) -> None:
    """Remember what was billed (claim and lines) so that 835 payments can be matched to it."""
    await on_claim_status_changes(conn, [(tenant, event)], topic_prefix)


async def on_claim_status_changes(
    conn: AsyncConnection,
    events: Sequence[tuple[str, ClaimStatusChangedV1]],
    topic_prefix: str = "",
) -> None:
    """``on_claim_status_changed`` for (tenant, event) pairs in order, in six statements whatever their
    number: the claims' rows are read at once, every event is applied to them in memory, and the result is
    written back (new rows inserted, changed rows updated, the lines of a claim replaced by those of its
    last event that has lines: ``_store_billed_lines``), and one more per tenant whose claims' patient
    accounts became known (their payments' EOBs change). Payments that came before their claim's lines are
    then reconciled."""
    if not events:
        return
    now = datetime.now(UTC)
    batch = BilledBatch(conn)
    rows = await batch.stored({tenant for tenant, _event in events}, {event.claim_id for _tenant, event in events})
    stored = set(rows)
    accounts_before = {key: row.get("patient_account") for key, row in rows.items()}
    lines: dict[tuple[str, str], list[Any]] = {}
    for tenant, event in events:
        key = (tenant, event.claim_id)
        dates = [line.service_date for line in event.lines if line.service_date]
        patient = {
            "patient_account": event.patient_account,
            "next_payer_id": event.next_payer_id,
            "original_claim_id": event.original_claim_id,
        }
        row = rows.get(key)
        if row is None:
            rows[key] = {
                "tenant_id": tenant,
                "claim_id": event.claim_id,
                "payer_id": event.payer_id,
                "charge_cents": event.charge_cents or 0,
                "state": event.new_state,
                "updated_at": now,
                "service_from": min(dates) if dates else None,
                "provider_name": event.provider_name,
                **patient,
            }
        else:
            row.update(state=event.new_state, updated_at=now)
            if event.charge_cents is not None:
                row["charge_cents"] = event.charge_cents
            if event.patient_account:
                row.update(patient)
            if dates:
                row["service_from"] = min(dates)
            if event.provider_name:  # an event that names no provider keeps the one named before
                row["provider_name"] = event.provider_name
        if event.lines:
            lines[key] = event.lines
    fresh = [row for key, row in rows.items() if key not in stored]
    if fresh:
        for row_id, tenant, claim_id in await batch.add(fresh):
            rows[(tenant, claim_id)]["id"] = row_id
    touched = [key for _tenant, event in events if (key := (_tenant, event.claim_id)) in stored]
    if touched:
        await batch.update(
            [
                {"tenant_id": rows[key]["tenant_id"], "id": rows[key]["id"], **{c: rows[key][c] for c in CLAIM_COLUMNS}}
                for key in dict.fromkeys(touched)
            ]
        )
    await _touch_payments_of_new_accounts(conn, rows, accounts_before, now)
    if lines:
        await _store_billed_lines(batch, {key: (rows[key]["id"], billed) for key, billed in lines.items()})
        late: dict[str, set[str]] = {}
        for tenant, claim_id in lines:
            late.setdefault(tenant, set()).add(claim_id)
        units = service_units(topic_prefix=topic_prefix)
        for tenant, ids in late.items():
            await reconcile_late_claims(units.on(conn, tenant, ACTOR), ids, now)


async def _touch_payments_of_new_accounts(
    conn: AsyncConnection,
    rows: dict[tuple[str, str], dict[str, Any]],
    before: dict[tuple[str, str], str | None],
    now: datetime,
) -> None:
    """A claim whose patient account became known (or changed) changes the patient its payments'
    ExplanationOfBenefits name: they are marked changed, so a client syncing by ``_lastUpdated`` sees it."""
    changed: dict[str, list[str]] = {}
    for (tenant, claim_id), row in rows.items():
        if row.get("patient_account") and row.get("patient_account") != before.get((tenant, claim_id)):
            changed.setdefault(tenant, []).append(claim_id)
    for tenant, claim_ids in changed.items():
        await LedgerRepository(conn, tenant).touch_claims(claim_ids, now)


async def _store_billed_lines(batch: BilledBatch, lines: dict[tuple[str, str], tuple[int, list[Any]]]) -> None:
    """Each claim's billed lines ((tenant, claim id) -> billed claim id and the lines of its last submission)
    in place of those stored.

    A claim is billed again after a rejection, its lines perhaps edited; a payment may already be matched to
    its earlier lines (a payer paying what its clearinghouse rejected). So a line keeps its row, and its id,
    where its line control number is the same (its fields updated), and a line no longer billed is removed
    unless a payment is matched to it: that line stays, as billed then. A claim billed for the first time
    (the usual case) costs one SELECT that finds nothing, and the insert."""
    claim_of = {row_id: key for key, (row_id, _billed) in lines.items()}
    stored: dict[tuple[int, str], int] = {}
    gone: dict[int, tuple[str, str]] = {}  # stored line -> its claim, until billed again
    for row_id, billed_claim_id, control in await batch.lines(list(claim_of)):
        gone[row_id] = claim_of[billed_claim_id]
        if control is not None:
            stored.setdefault((billed_claim_id, control), row_id)
    new, changed = [], []
    for billed_claim_id, billed in lines.values():
        for line in billed:
            values = {
                "line_control_number": line.line_control_number,
                "procedure_code": line.procedure_code,
                "service_date": line.service_date,
                "units": line.units,
                "charge_cents": line.charge_cents,
                "description": line.description,
            }
            row_id = stored.get((billed_claim_id, line.line_control_number))
            if row_id in gone:  # the same line billed again (not twice in one submission)
                del gone[row_id]
                changed.append({"id": row_id, **values})
            else:
                new.append({"billed_claim_id": billed_claim_id, **values})
    if gone:
        # the payments of those claims (found by claim: no index on the line a payment is matched to)
        for tenant in {tenant for tenant, _claim in gone.values()}:
            claims = list({claim for t, claim in gone.values() if t == tenant})
            for row_id in await LedgerRepository(batch.conn, tenant).paid_lines(claims, list(gone)):
                gone.pop(row_id, None)
    await batch.replace_lines(list(gone), changed, new)
