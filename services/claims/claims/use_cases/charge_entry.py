"""Charge entry: claims stored from encounters, scrubbed, in ready when no error edit is found, else in draft;
and edits of claims not with the payer, scrubbed again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rcm_shared.unit import Unit

from claims.domain import state as st
from claims.domain.claim import (
    Change,
    MueParty,
    account_key,
    add_units,
    columns,
    duplicate_key,
    edits_json,
    mue_party,
    new_claim_id,
)
from claims.domain.encounter import ClaimCreate
from claims.domain.ncci import NcciTables
from claims.domain.scrubber import Edit, ScrubContext, Unresolved, day_units, has_errors, scrub
from claims.repository import ClaimsRepository
from claims.use_cases.charge_master import price_lines
from claims.use_cases.lifecycle import record, transition, what_was_billed
from claims.use_cases.references import describe_lines, resolve_references


async def units_billed(
    claims: ClaimsRepository, docs: Sequence[ClaimCreate], tables: NcciTables, exclude: str | None
) -> dict[MueParty, dict[tuple[str, date], Decimal]]:
    """The units of the documents' per-day MUE codes (MAI 2 and 3) that the tenant's other claims bill on the
    same dates, by party (``mue_party``): claims the payer has or will get; a claim with a replacement on its
    way counts once (the replacement), and ``exclude`` (the claim being scrubbed) excludes its original too.
    Nothing is read when no document has such a code."""
    wanted = [day_units(doc, tables) for doc in docs]
    dates = [day for units in wanted for _code, day in units]
    if not dates:
        return {}
    billing = [d for d, units in zip(docs, wanted, strict=True) if units]
    rows = await claims.billed_with_the_payer(
        {d.payer.payer_id for d in billing}, {d.subscriber.member_id for d in billing}, min(dates), max(dates)
    )
    skip = {exclude} | {row.original_claim_id for row in rows if row.frequency == "7"}
    if exclude is not None:
        skip |= await claims.replaced_by(exclude)
    out: dict[MueParty, dict[tuple[str, date], Decimal]] = {}
    for row in rows:
        if row.id in skip:
            continue
        other = ClaimCreate.model_validate(row.document)
        add_units(out.setdefault(mue_party(other, row.patient_account), {}), day_units(other, tables))
    return out


async def complete(unit: Unit, docs: Sequence[ClaimCreate]) -> tuple[list[ClaimCreate], list[list[Unresolved]]]:
    """The documents as stored: references to the practice's master data resolved on the date of service
    (with those that resolved to nothing, for the scrubber), lines without a charge priced and lines without a
    description described from the charge master."""
    resolved = await resolve_references(unit, docs)
    priced = await describe_lines(unit, await price_lines(unit, [doc for doc, _problems in resolved]))
    return priced, [problems for _doc, problems in resolved]


async def scrub_document(
    unit: Unit, doc: ClaimCreate, ctx: ScrubContext, exclude: str | None, account: str
) -> list[Edit]:
    claims = ClaimsRepository(unit)
    key = duplicate_key(doc)
    ctx.duplicates = (await claims.duplicates_for([key], exclude)).get(key, [])
    ctx.eligibility = (await claims.eligibility_for_many([doc])).get((doc.payer.payer_id, doc.subscriber.member_id))
    billed = await units_billed(claims, [doc], ctx.ncci, exclude)
    ctx.units_billed = billed.get(mue_party(doc, account), {})
    return scrub(doc, ctx)


async def patient_accounts(unit: Unit, docs: Sequence[ClaimCreate]) -> list[str]:
    """The account number of each document's patient, opening accounts for patients seen the first time."""
    claims = ClaimsRepository(unit)
    keys = [account_key(unit.tenant, d) for d in docs]
    known = await claims.accounts(keys)
    new = {k: "A" + uuid.uuid4().hex[:11].upper() for k in dict.fromkeys(keys) if k not in known}
    if new:
        known.update(await claims.open_accounts(new))
    return [known[k] for k in keys]


async def create_claim(
    unit: Unit, doc: ClaimCreate, ctx: ScrubContext, *, frequency: str = "1", original: Any | None = None
) -> str:
    """Store the claim, scrubbed: in ready when no error edit is found, else in draft."""
    (row,) = await create_claims(unit, [doc], ctx, frequency=frequency, original=original)
    return str(row["id"])


async def create_claims(
    unit: Unit,
    docs: Sequence[ClaimCreate],
    ctx: ScrubContext,
    *,
    frequency: str = "1",
    original: Any | None = None,
    linked_only: bool = False,  # link to the original (a secondary claim) without replacing it
) -> list[dict[str, Any]]:
    """Charge entry for a batch: a handful of round trips whatever its size (duplicates, eligibility,
    claims, history, events), each claim scrubbed and stored in its entry state (ready or draft) with one
    transition. The documents are completed first (``complete``): the stored document holds the references
    resolved, the priced charges and the lines' descriptions. Returns the claim rows as inserted (every
    column but those a new claim leaves empty: submission, adjudication, contractual amounts)."""
    docs, unresolved = await complete(unit, docs)
    claims = ClaimsRepository(unit)
    keys = [duplicate_key(doc) for doc in docs]
    known = await claims.duplicates_for(keys, exclude=original.id if original is not None else None)
    coverage = await claims.eligibility_for_many(docs)
    accounts = await patient_accounts(unit, docs)
    billed = (  # a void bills no units: it takes the original's back
        await units_billed(claims, docs, ctx.ncci, exclude=original.id if original is not None else None)
        if frequency != "8"
        else {}
    )
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    changes: list[Change] = []
    for doc, key, account, problems in zip(docs, keys, accounts, unresolved, strict=True):
        claim_id = new_claim_id()
        ctx.unresolved = problems
        ctx.duplicates = list(known.get(key, []))
        ctx.eligibility = coverage.get((doc.payer.payer_id, doc.subscriber.member_id))
        party = mue_party(doc, account)
        ctx.units_billed = dict(billed.get(party, {}))
        edits = scrub(doc, ctx)
        if frequency == "1":
            known.setdefault(key, []).append(claim_id)  # a second copy in the same batch is a duplicate too
            if not has_errors(edits):  # bound for the payer: the batch's later claims add to its units
                add_units(billed.setdefault(party, {}), day_units(doc, ctx.ncci))
        values = {
            "id": claim_id,
            "tenant_id": unit.tenant,
            "frequency": frequency,
            "original_claim_id": original.id if original is not None else None,
            "paid_cents": 0,
            "patient_responsibility_cents": 0,
            "payer_claim_control_number": (
                original.payer_claim_control_number if original is not None and not linked_only else None
            ),
            "edits": edits_json(edits),
            "status_detail": {},
            "patient_account": account,
            **columns(doc),
        }
        clean = not has_errors(edits)
        state, reason = (st.READY, st.ENTERED_CLEAN) if clean else (st.DRAFT, st.ENTERED)
        rows.append({**values, "state": state, "created_at": now, "updated_at": now})
        changes.append(({**values, "state": state}, None, state, reason, what_was_billed(claim_id, doc)))
    await claims.insert_many(rows)
    await record(unit, changes)
    return rows


async def update_claim(unit: Unit, claim_id: str, doc: ClaimCreate, ctx: ScrubContext) -> Any:
    """Edit a draft, ready or rejected claim: scrubbed again, ready or draft by its edits. Returns it as stored."""
    claims = ClaimsRepository(unit)
    row = await claims.get(claim_id, lock=True)
    if row.state not in (st.DRAFT, st.READY, st.REJECTED):
        raise st.IllegalTransition(row.state, st.DRAFT)
    (doc,), (ctx.unresolved,) = await complete(unit, [doc])
    (account,) = await patient_accounts(unit, [doc])
    edits = await scrub_document(unit, doc, ctx, exclude=claim_id, account=account)
    values = {**columns(doc), "edits": edits_json(edits), "patient_account": account}
    target = st.DRAFT if has_errors(edits) else st.READY
    if row.state == target:
        await claims.update(claim_id, values)
    else:
        await transition(
            unit,
            row,
            target,
            reason="claim edited and scrubbed",
            values=values,
            event_extra=what_was_billed(claim_id, doc),
        )
    return await claims.get(claim_id)
