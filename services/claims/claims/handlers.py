"""Use cases of the claims service. One use case, one transaction; events go through the outbox."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from rcm_shared.bus.outbox import Outbox, staged
from rcm_shared.db import bulk_insert, bulk_update, filter_only
from rcm_shared.dialects import insert_ignore
from rcm_shared.errors import NotFound
from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1
from rcm_shared.payloads.denials import AppealSentV1, ClaimCorrection, DenialMoveUndoneV1, DenialResolvedV1
from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.x12.carc import CONTRACTUAL_CARCS, is_contractual
from rcm_shared.x12.sets.x835 import FORWARDED
from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from claims.domain import state as st
from claims.domain.encounter import ClaimCreate
from claims.domain.ncci import NcciTables
from claims.domain.scrubber import Edit, Eligibility, ScrubContext, day_units, has_errors, scrub
from claims.models import (
    bus,
    claim,
    claim_status_record,
    claim_transition,
    denial_move,
    eligibility_snapshot,
    patient_account,
)

SOURCE = "/claims"


CROSSOVER_PENDING, CROSSOVER_ANSWERED = "pending", "answered"  # claim.crossover_state


class Refused(Exception):
    """A request the claim's standing with the payer does not allow yet; the message says why and what to do."""


# A void or replacement (frequency 8/7) in these states is still open: the payer has not acted on it yet.
OPEN_REQUEST = (st.DRAFT, st.READY, st.SUBMITTED, st.ACCEPTED)
SENT_REQUEST = (st.SUBMITTED, st.ACCEPTED)


def new_claim_id() -> str:
    return "C" + uuid.uuid4().hex[:15].upper()  # 16 characters: CLM01 allows 20


def duplicate_key(doc: ClaimCreate) -> str:
    """Same patient, payer, dates and procedures = a duplicate (whatever the charges)."""
    person = doc.patient_person
    parts = [
        doc.payer.payer_id,
        doc.subscriber.member_id,
        person.last_name.upper(),
        str(person.birth_date),
        *sorted(
            f"{ln.procedure_code}|{'-'.join(ln.modifiers)}|{ln.service_date}|{ln.revenue_code}" for ln in doc.lines
        ),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# Whose units a per-day MUE adds up: the same payer, member, patient (account) and billing provider.
MueParty = tuple[str, str, str, str]


def mue_party(doc: ClaimCreate, account: str | None) -> MueParty:
    return (doc.payer.payer_id, doc.subscriber.member_id, account or "", doc.billing_provider.npi)


def cents(value: Any) -> int:
    return int((value * 100).to_integral_value())


def edits_json(edits: list[Edit]) -> list[dict[str, str]]:
    return [e.__dict__ for e in edits]


@dataclass
class Actor:
    name: str  # a user or client id, or event:<type>:<event id>
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None  # the span acting, when it is not the current one (a batch handler's)


class ClaimsUnit:
    """The claims aggregate's persistence and its events, bound to one connection and tenant."""

    def __init__(self, conn: AsyncConnection, tenant: str, topic_prefix: str = "") -> None:
        self.conn = conn
        self.tenant = tenant
        self.outbox = Outbox(bus, topic_prefix)

    async def get(self, claim_id: str, *, lock: bool = False) -> Any:
        stmt = select(claim).where(and_(claim.c.tenant_id == self.tenant, claim.c.id == claim_id))
        if lock and self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        if row is None:
            raise NotFound(f"no claim {claim_id}")
        return row

    async def get_many(self, ids: set[str], *, document: bool = True) -> dict[str, dict[str, Any]]:
        """The claims of these ids (those that exist), as column dicts to change in memory and ``put_many``;
        locked on PostgreSQL like ``get(lock=True)``. Without the last scrub's edits and status findings (JSON
        no caller of this reads), and without the claim document unless asked."""
        skip = {"edits", "status_detail"} | (set() if document else {"document"})
        stmt = select(*(col for col in claim.c if col.name not in skip)).where(
            and_(filter_only(claim.c.tenant_id) == self.tenant, claim.c.id.in_(ids))
        )
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return {row.id: dict(row._mapping) for row in await self.conn.execute(stmt)}

    async def documents(self, ids: set[str]) -> dict[str, Any]:
        """The claim documents (the encounters as entered) of these ids."""
        found = await self.conn.execute(
            select(claim.c.id, claim.c.document).where(
                and_(filter_only(claim.c.tenant_id) == self.tenant, claim.c.id.in_(ids))
            )
        )
        return dict(found.tuples().all())

    async def put_many(self, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
        """Write these columns of claim rows (from ``get_many``) back, in one statement (``bulk_update``)."""
        await bulk_update(
            self.conn,
            claim,
            ("tenant_id", "id"),
            [{"tenant_id": self.tenant, "id": row["id"], **{c: row[c] for c in columns}} for row in rows],
        )

    async def transition(
        self,
        row: Any,
        target: str,
        actor: Actor,
        *,
        reason: str | None = None,
        values: dict[str, Any] | None = None,
        event_extra: dict[str, Any] | None = None,
    ) -> None:
        """Move a claim to ``target`` (refused if illegal), record who/what/when/why, emit the event."""
        current = row.state if row is not None else None
        if current is not None:
            st.check(current, target)
        now = datetime.now(UTC)
        values = dict(values or {})
        if row is None:
            await self.conn.execute(insert(claim).values(**values, state=target, created_at=now, updated_at=now))
            after = {**values, "state": target}
        else:
            await self.conn.execute(
                update(claim)
                .where(and_(claim.c.tenant_id == self.tenant, claim.c.id == row.id))
                .values(**values, state=target, updated_at=now)
            )
            after = {**row._mapping, **values, "state": target}
        await self.record([(after, current, target, reason, event_extra or {})], actor)

    async def record(
        self,
        changes: Sequence[tuple[dict[str, Any], str | None, str, str | None, dict[str, Any]]],
        actor: Actor | Sequence[Actor],
    ) -> None:
        """The history rows and status-changed events of transitions already applied to the claim rows.

        Each change is (the claim's columns after the change, old state, new state, reason, event extras);
        ``actor`` made them all, or is a list with the actor of each change.
        """
        now = datetime.now(UTC)
        rows, events = [], []
        actors = [actor] * len(changes) if isinstance(actor, Actor) else actor
        for (after, old, new, reason, extra), actor in zip(changes, actors, strict=True):
            claim_id = after["id"]
            rows.append(
                {
                    "tenant_id": self.tenant,
                    "claim_id": claim_id,
                    "from_state": old,
                    "to_state": new,
                    "actor": actor.name,
                    "reason": reason,
                    "at": now,
                }
            )
            payload = ClaimStatusChangedV1(
                claim_id=claim_id,
                old_state=old,
                new_state=new,
                changed_at=now,
                reason=reason,
                payer_id=after["payer_id"],
                charge_cents=after["charge_cents"],
                paid_cents=after["paid_cents"],
                patient_responsibility_cents=after["patient_responsibility_cents"],
                frequency=after["frequency"],
                payer_claim_control_number=after["payer_claim_control_number"],
                original_claim_id=after.get("original_claim_id"),
                patient_account=after.get("patient_account"),
                next_payer_id=after.get("next_payer_id"),
                **extra,
            )
            events.append(
                staged(
                    payload,
                    source=SOURCE,
                    tenant_id=self.tenant,
                    key=claim_id,
                    correlation_id=actor.correlation_id,
                    causation_id=actor.causation_id,
                    traceparent=actor.traceparent,
                )
            )
        await bulk_insert(self.conn, claim_transition, rows)
        await self.outbox.add_many(self.conn, events)

    async def duplicates_for(self, keys: Sequence[str], exclude: str | None) -> dict[str, list[str]]:
        c = claim.c
        rows = await self.conn.execute(
            select(c.duplicate_key, c.id).where(
                and_(
                    c.tenant_id == self.tenant,
                    c.duplicate_key.in_(set(keys)),
                    c.state.not_in((st.VOID, st.CORRECTED)),
                    c.frequency == "1",
                )
            )
        )
        out: dict[str, list[str]] = {}
        for key, claim_id in rows:
            if claim_id != exclude:
                out.setdefault(key, []).append(claim_id)
        return out

    async def eligibility_for_many(self, docs: Sequence[ClaimCreate]) -> dict[tuple[str, str], Eligibility]:
        e = eligibility_snapshot.c
        members = {d.subscriber.member_id for d in docs}
        payers = {d.payer.payer_id for d in docs}  # the index is (tenant, payer, member)
        rows = await self.conn.execute(
            select(eligibility_snapshot)
            .where(and_(e.tenant_id == self.tenant, e.payer_id.in_(payers), e.member_id.in_(members)))
            .order_by(e.checked_at)
        )
        latest: dict[tuple[str, str], Eligibility] = {}
        for row in rows:  # ordered by time: the last one wins
            latest[(row.payer_id, row.member_id)] = Eligibility(
                row.status, row.check_id, row.coverage_start, row.coverage_end
            )
        return latest

    async def units_billed(
        self, docs: Sequence[ClaimCreate], tables: NcciTables, exclude: str | None
    ) -> dict[MueParty, dict[tuple[str, date], Decimal]]:
        """The units of the documents' per-day MUE codes (MAI 2 and 3) that the tenant's other claims bill
        on the same dates, by party (``mue_party``): claims the payer has or will get, so neither drafts
        nor void requests, voided or replaced claims; a claim with a replacement on its way counts once (the
        replacement), and ``exclude`` (the claim being scrubbed) excludes its original too. Nothing is read
        when no document has such a code."""
        wanted = [day_units(doc, tables) for doc in docs]
        dates = [day for units in wanted for _code, day in units]
        if not dates:
            return {}
        c = claim.c
        found = await self.conn.execute(
            select(c.id, c.patient_account, c.document, c.frequency, c.original_claim_id).where(
                and_(
                    c.tenant_id == self.tenant,
                    c.payer_id.in_({d.payer.payer_id for d, units in zip(docs, wanted, strict=True) if units}),
                    c.member_id.in_({d.subscriber.member_id for d, units in zip(docs, wanted, strict=True) if units}),
                    c.service_from <= max(dates),
                    c.service_to >= min(dates),
                    c.state.not_in((st.DRAFT, st.VOID, st.CORRECTED)),
                    c.frequency != "8",
                )
            )
        )
        rows = list(found)
        skip = {exclude} | {row.original_claim_id for row in rows if row.frequency == "7"}
        if exclude is not None:
            skip |= set(
                (
                    await self.conn.execute(
                        select(c.original_claim_id).where(
                            and_(c.tenant_id == self.tenant, c.id == exclude, c.frequency == "7")
                        )
                    )
                ).scalars()
            )
        out: dict[MueParty, dict[tuple[str, date], Decimal]] = {}
        for row in rows:
            if row.id in skip:
                continue
            other = ClaimCreate.model_validate(row.document)
            billed = out.setdefault(mue_party(other, row.patient_account), {})
            for key, units in day_units(other, tables).items():
                billed[key] = billed.get(key, Decimal(0)) + units
        return out


async def scrub_document(
    unit: ClaimsUnit, doc: ClaimCreate, ctx: ScrubContext, exclude: str | None, account: str
) -> list[Edit]:
    key = duplicate_key(doc)
    ctx.duplicates = (await unit.duplicates_for([key], exclude)).get(key, [])
    ctx.eligibility = (await unit.eligibility_for_many([doc])).get((doc.payer.payer_id, doc.subscriber.member_id))
    billed = await unit.units_billed([doc], ctx.ncci, exclude)
    ctx.units_billed = billed.get(mue_party(doc, account), {})
    return scrub(doc, ctx)


def _columns(doc: ClaimCreate) -> dict[str, Any]:
    return {
        "kind": "P" if doc.kind == "professional" else "I",
        "payer_id": doc.payer.payer_id,
        "member_id": doc.subscriber.member_id,
        "service_from": doc.service_from,
        "service_to": doc.service_to,
        "charge_cents": cents(doc.total_charge),
        "duplicate_key": duplicate_key(doc),
        "document": doc.model_dump(mode="json"),
        "next_payer_id": (
            doc.secondary_payer.payer_id
            if doc.secondary_payer is not None and doc.payer.responsibility == "P"
            else None
        ),
    }


def account_key(tenant: str, doc: ClaimCreate) -> str:
    person = doc.patient or doc.subscriber
    parts = (
        tenant,
        person.last_name.strip().upper(),
        (person.first_name or "").strip().upper(),
        str(person.birth_date),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


async def patient_accounts(unit: ClaimsUnit, docs: Sequence[ClaimCreate]) -> list[str]:
    """The account number of each document's patient, opening accounts for patients seen the first time."""
    keys = [account_key(unit.tenant, d) for d in docs]
    a = patient_account.c
    known: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        found = await unit.conn.execute(
            select(a.match_key, a.id).where(
                and_(a.tenant_id == unit.tenant, a.match_key.in_(set(keys[start : start + 500])))
            )
        )
        known.update({k: i for k, i in found})
    new = {k: "A" + uuid.uuid4().hex[:11].upper() for k in dict.fromkeys(keys) if k not in known}
    if new:
        now = datetime.now(UTC)
        rows = [{"id": i, "tenant_id": unit.tenant, "match_key": k, "created_at": now} for k, i in new.items()]
        await bulk_insert(unit.conn, patient_account, rows, skip_conflicts=True)
        # a concurrent entry may have opened the same patient's account first: take the stored ones
        stored = await unit.conn.execute(
            select(a.match_key, a.id).where(and_(a.tenant_id == unit.tenant, a.match_key.in_(list(new))))
        )
        known.update({k: i for k, i in stored})
    return [known[k] for k in keys]


async def create_claim(
    unit: ClaimsUnit,
    doc: ClaimCreate,
    ctx: ScrubContext,
    actor: Actor,
    *,
    frequency: str = "1",
    original: Any | None = None,
) -> str:
    """Store the claim, scrubbed: in ready when no error edit is found, else in draft."""
    (row,) = await create_claims(unit, [doc], ctx, actor, frequency=frequency, original=original)
    return str(row["id"])


async def create_claims(
    unit: ClaimsUnit,
    docs: Sequence[ClaimCreate],
    ctx: ScrubContext,
    actor: Actor,
    *,
    frequency: str = "1",
    original: Any | None = None,
    linked_only: bool = False,  # link to the original (a secondary claim) without replacing it
) -> list[dict[str, Any]]:
    """Charge entry for a batch: a handful of round trips whatever its size (duplicates, eligibility,
    claims, history, events), each claim scrubbed and stored in its entry state (ready or draft) with one
    transition. Returns the claim rows as inserted (every column but those a new claim leaves empty:
    submission, adjudication, contractual amounts)."""
    keys = [duplicate_key(doc) for doc in docs]
    known = await unit.duplicates_for(keys, exclude=original.id if original is not None else None)
    coverage = await unit.eligibility_for_many(docs)
    accounts = await patient_accounts(unit, docs)
    billed = (  # a void bills no units: it takes the original's back
        await unit.units_billed(docs, ctx.ncci, exclude=original.id if original is not None else None)
        if frequency != "8"
        else {}
    )
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    changes: list[tuple[dict[str, Any], str | None, str, str | None, dict[str, Any]]] = []
    for doc, key, account in zip(docs, keys, accounts, strict=True):
        claim_id = new_claim_id()
        ctx.duplicates = list(known.get(key, []))
        ctx.eligibility = coverage.get((doc.payer.payer_id, doc.subscriber.member_id))
        party = mue_party(doc, account)
        ctx.units_billed = dict(billed.get(party, {}))
        edits = scrub(doc, ctx)
        if frequency == "1":
            known.setdefault(key, []).append(claim_id)  # a second copy in the same batch is a duplicate too
            if not has_errors(edits):  # bound for the payer: the batch's later claims add to its units
                day = billed.setdefault(party, {})
                for unit_key, units in day_units(doc, ctx.ncci).items():
                    day[unit_key] = day.get(unit_key, Decimal(0)) + units
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
            **_columns(doc),
        }
        clean = not has_errors(edits)
        state, reason = (st.READY, st.ENTERED_CLEAN) if clean else (st.DRAFT, st.ENTERED)
        rows.append({**values, "state": state, "created_at": now, "updated_at": now})
        changes.append(({**values, "state": state}, None, state, reason, {}))
    await bulk_insert(unit.conn, claim, rows)
    await unit.record(changes, actor)
    return rows


async def update_claim(unit: ClaimsUnit, claim_id: str, doc: ClaimCreate, ctx: ScrubContext, actor: Actor) -> None:
    row = await unit.get(claim_id, lock=True)
    if row.state not in (st.DRAFT, st.READY, st.REJECTED):
        raise st.IllegalTransition(row.state, st.DRAFT)
    (account,) = await patient_accounts(unit, [doc])
    edits = await scrub_document(unit, doc, ctx, exclude=claim_id, account=account)
    values = {**_columns(doc), "edits": edits_json(edits), "patient_account": account}
    target = st.DRAFT if has_errors(edits) else st.READY
    if row.state == target:
        await unit.conn.execute(
            update(claim)
            .where(and_(claim.c.tenant_id == unit.tenant, claim.c.id == claim_id))
            .values(**values, updated_at=datetime.now(UTC))
        )
    else:
        await unit.transition(row, target, actor, reason="claim edited and scrubbed", values=values)


def billed_lines(claim_id: str, doc: ClaimCreate) -> list[BilledLine]:
    return [
        BilledLine(
            line_number=n,
            line_control_number=f"{claim_id}-{n}",
            procedure_code=line.procedure_code or line.revenue_code or "",
            modifiers=list(line.modifiers),
            service_date=line.service_date,
            units=str(line.units),
            charge_cents=cents(line.charge),
        )
        for n, line in enumerate(doc.lines, start=1)
    ]


async def correct_claim(
    unit: ClaimsUnit,
    claim_id: str,
    ctx: ScrubContext,
    actor: Actor,
    *,
    doc: ClaimCreate | None = None,
    correction: ClaimCorrection | None = None,
    void: bool = False,
) -> str:
    """A replacement (frequency 7) or void (frequency 8) claim for one the payer already has. The original
    keeps its state until the payer acts on the request (``settle_acknowledged_requests``, ``on_reversed``)."""
    original = await unit.get(claim_id, lock=True)
    base = doc or ClaimCreate.model_validate(original.document)
    if correction is not None:
        base = apply_correction(base, correction)
    if original.state in (st.DRAFT, st.READY) or (original.state == st.REJECTED and void):
        # Never reached the payer: nothing to replace there.
        if void:
            await unit.transition(original, st.VOID, actor, reason="voided before submission")
            return str(original.id)
        raise st.IllegalTransition(original.state, st.CORRECTED)
    kind = "void" if void else "replacement"
    st.check(original.state, st.VOID if void else st.CORRECTED)
    if not original.payer_claim_control_number:
        # The 837 of a void or replacement names the payer's claim control number (REF*F8); without it the
        # payer cannot tell which claim to act on, and the interchange cannot be built.
        if original.state == st.REJECTED:
            raise Refused(
                f"claim {claim_id} was rejected before the payer numbered it: there is nothing at the payer to "
                f"replace; correct the claim (PUT /v1/claims/{claim_id}) and submit it again"
            )
        raise Refused(
            f"the payer has not numbered claim {claim_id} yet (no 277CA acceptance or 835 so far): a {kind} "
            "must name the payer's claim control number (REF*F8); ask again once the payer has acknowledged it"
        )
    pending = await open_requests(unit, {str(original.id)}, OPEN_REQUEST)
    if original.id in pending:
        other = pending[original.id]
        what = "void" if other.frequency == "8" else "replacement"
        raise Refused(
            f"claim {claim_id} already has a {what} in progress (claim {other.id}, {other.state}): "
            "wait for the payer's answer to it"
        )
    return await create_claim(unit, base, ctx, actor, frequency="8" if void else "7", original=original)


async def open_requests(unit: ClaimsUnit, original_ids: set[str], states: Sequence[str]) -> dict[str, Any]:
    """The void or replacement (frequency 8/7) of each of these claims in one of ``states``, by original id
    (the latest one, when there are several)."""
    if not original_ids:
        return {}
    c = claim.c
    rows = await unit.conn.execute(
        select(c.id, c.state, c.frequency, c.original_claim_id, c.created_at).where(
            and_(
                c.tenant_id == unit.tenant,
                c.original_claim_id.in_(original_ids),
                c.frequency.in_(("7", "8")),
                c.state.in_(states),
            )
        )
    )
    # ordered here: an ORDER BY makes SQLite walk the tenant's claims in the list's index instead
    return {row.original_claim_id: row for row in sorted(rows, key=lambda r: r.created_at)}


async def settle_acknowledged_requests(unit: ClaimsUnit, request_ids: Sequence[str], actor: Actor) -> None:
    """The payer accepted these voids or replacements (277CA). A replacement supersedes its original now;
    a void takes effect now when the original carries no money to take back, else with the payer's
    reversal of it (an 835, ``on_reversed``)."""
    for request_id in request_ids:
        request = await unit.get(request_id, lock=True)
        try:
            original = await unit.get(request.original_claim_id, lock=True)
        except NotFound:
            continue
        if request.frequency == "7":
            if st.CORRECTED in st.TRANSITIONS[original.state]:
                reason = f"replacement claim {request.id} accepted by the payer"
                await unit.transition(original, st.CORRECTED, actor, reason=reason)
        elif not original.paid_cents and not original.patient_responsibility_cents:
            await void_with(unit, original, request, actor, "accepted by the payer, nothing paid to take back")


async def void_with(unit: ClaimsUnit, original: Any, request: Any, actor: Actor, why: str, **values: Any) -> None:
    """The payer acted on a void: the original and its frequency-8 claim are both done."""
    if st.VOID in st.TRANSITIONS[original.state]:
        await unit.transition(original, st.VOID, actor, reason=f"void claim {request.id} {why}", values=values)
    request = await unit.get(request.id, lock=True)
    if st.VOID in st.TRANSITIONS[request.state]:
        await unit.transition(request, st.VOID, actor, reason=f"void of claim {original.id} {why}")


def apply_correction(doc: ClaimCreate, correction: ClaimCorrection) -> ClaimCreate:
    data = doc.model_dump(mode="json")
    if correction.prior_authorization is not None:
        data["prior_authorization"] = correction.prior_authorization
    if correction.referral_number is not None:
        data["referral_number"] = correction.referral_number
    if correction.diagnoses is not None:
        data["diagnoses"] = correction.diagnoses
    for fix in correction.lines:
        if not 1 <= fix.line_number <= len(data["lines"]):
            raise ValueError(f"correction names line {fix.line_number}; the claim has {len(data['lines'])}")
        line = data["lines"][fix.line_number - 1]
        for key in ("procedure_code", "modifiers", "units", "diagnosis_pointers"):
            value = getattr(fix, key)
            if value is not None:
                line[key] = value
    return ClaimCreate.model_validate(data)


# -- events consumed -------------------------------------------------------------------------------------
def _adjudicated_state(event: ClaimAdjudicatedV1) -> str:
    if event.status_code == "4" or (event.paid_cents == 0 and event.patient_responsibility_cents == 0):
        # Denied. A claim the deductible took whole (paid 0, all patient share) is processed, not denied.
        return st.DENIED
    if any(a.group in ("CO", "OA", "PI") and a.reason not in CONTRACTUAL_CARCS for a in event.adjustments):
        return st.PARTIALLY_PAID  # something was denied; a line left to the patient (deductible) is not
    return st.PAID


async def on_adjudicated_many(
    unit: ClaimsUnit, items: Sequence[tuple[ClaimAdjudicatedV1, Actor]], secondary_ctx: ScrubContext | None = None
) -> None:
    """Move each claim to paid / partially paid / denied (reversals, 22, are handled by on_reversed), for
    many events of the unit's tenant in order: the claims are read at once, the events applied in memory,
    then the claim rows, transitions and events written in one statement each. A claim with a secondary
    payer is then billed to it (``bill_secondary``), unless its payer forwarded it there itself (a
    crossover, CLP02 19-21): the crossover carrier is recorded and its own 835 answers the same claim."""
    items = [(event, actor) for event, actor in items if event.status_code != "22"]
    ids = {event.claim_id for event, _actor in items}
    if not ids:
        return
    rows = await unit.get_many(ids, document=False)
    before = {claim_id: dict(row) for claim_id, row in rows.items()}
    touched: dict[str, None] = {}
    changes: list[tuple[dict[str, Any], str | None, str, str | None, dict[str, Any]]] = []
    actors, secondaries = [], []
    unsent: list[tuple[ClaimAdjudicatedV1, str]] = []  # 835s for claims in draft or ready, recorded on them
    for event, actor in items:
        row = rows.get(event.claim_id)
        if row is None:
            continue  # a payment for a claim this tenant never billed: remittance keeps it for review
        if event.reversed_already:
            # a held 835 released after the payer's reversal of this payment: the reversal took the money off
            # the claim when it came, and set the state and patient share (a correction after it, its own);
            # the payment only nets with it. A claim nothing else answered is with the payer: accepted.
            row.update(
                paid_cents=row["paid_cents"] + event.paid_cents,
                payer_claim_control_number=event.payer_claim_control_number or row["payer_claim_control_number"],
                updated_at=datetime.now(UTC),
            )
            touched[row["id"]] = None
            if row["state"] == st.SUBMITTED:
                row["state"] = st.ACCEPTED
                reason = f"835 {event.remittance_id}: a payment the payer has reversed already"
                changes.append((dict(row), st.SUBMITTED, st.ACCEPTED, reason, {}))
                actors.append(actor)
            continue
        contractual = sum(a.amount_cents for a in event.adjustments if is_contractual(a.group, a.reason))
        if event.crossover_answer:
            # the crossover payer's 835: its payment adds up, what it leaves to the patient replaces the
            # forwarding payer's; its CARC 23 (the prior payer's part) is no denial of this claim
            row.update(
                paid_cents=row["paid_cents"] + event.paid_cents,
                contractual_cents=row["contractual_cents"] + contractual,
                patient_responsibility_cents=event.patient_responsibility_cents,
                crossover_state=CROSSOVER_ANSWERED,
                updated_at=datetime.now(UTC),
            )
            touched[row["id"]] = None
            continue
        if event.status_code in FORWARDED:
            row.update(
                crossover_payer_id=event.crossover_payer_id or row["next_payer_id"],
                crossover_payer_name=(event.crossover_payer_name or "")[:60] or None,
                crossover_state=CROSSOVER_PENDING,
            )
        target = _adjudicated_state(event)
        values = {
            "paid_cents": row["paid_cents"] + event.paid_cents,
            "contractual_cents": row["contractual_cents"] + contractual,
            "patient_responsibility_cents": event.patient_responsibility_cents,
            "payer_claim_control_number": event.payer_claim_control_number or row["payer_claim_control_number"],
            "adjudicated_at": datetime.now(UTC),
            # the date the payer paid, as its 835 says (BPR16), not when the 835 reached us
            "paid_on": row["paid_on"] or (event.payment_date if event.paid_cents > 0 else None),
        }
        if row["state"] == target:  # a restated or second payment: amounts change, the state does not
            row.update(values)
            touched[row["id"]] = None
            continue
        keeps_state = (st.CORRECTED, st.VOID, st.DRAFT, st.READY)
        if row["state"] in keeps_state or (row["state"] == st.CLOSED and not event.paid_cents):
            # Superseded, or not with the payer as we see it (never sent, or edited since: draft, ready): the
            # money is the payer's word still, the state stays, and an unsent claim's 835 is recorded on it
            # for a person to see. A closed claim stays closed when the payer pays nothing more; a payment
            # reopens it (below), the payer changed its money.
            row.update(values)
            touched[row["id"]] = None
            if row["state"] in (st.DRAFT, st.READY):
                unsent.append((event, row["state"]))
            continue
        st.check(row["state"], target)
        old = row["state"]
        row.update(values, state=target, updated_at=datetime.now(UTC))
        touched[row["id"]] = None
        reason = f"835 {event.remittance_id}: status {event.status_code}, paid {event.paid_cents / 100:.2f}"
        codes = [f"{a.group}-{a.reason}" for a in event.adjustments]
        changes.append((dict(row), old, target, reason, {"reason_codes": codes}))
        actors.append(actor)
        if secondary_ctx is not None and row["next_payer_id"] and event.status_code not in FORWARDED:
            secondaries.append((before[row["id"]], event, actor))
    if touched:
        columns = ["paid_cents", "contractual_cents", "patient_responsibility_cents", "payer_claim_control_number"]
        crossovers = ["crossover_payer_id", "crossover_payer_name", "crossover_state"]
        await unit.put_many(
            [rows[claim_id] for claim_id in touched],
            [*columns, "adjudicated_at", "paid_on", "state", "updated_at", *crossovers],
        )
    if changes:
        await unit.record(changes, actors)
    if unsent:
        await bulk_insert(
            unit.conn,
            claim_status_record,
            [
                {
                    "tenant_id": unit.tenant,
                    "claim_id": event.claim_id,
                    "source": "835",
                    "summary": (
                        f"835 {event.remittance_id} for the claim while it is {state}: status {event.status_code}, "
                        f"paid {event.paid_cents / 100:.2f}; the money is applied, the state kept"
                    ),
                    "codes": [f"{a.group}-{a.reason}" for a in event.adjustments],
                    "at": datetime.now(UTC),
                }
                for event, state in unsent
            ],
        )
    if secondaries:  # the documents of the claims billed on to a secondary payer only (a JSON read each)
        assert secondary_ctx is not None
        documents = await unit.documents({row["id"] for row, _event, _actor in secondaries})
        for row, event, actor in secondaries:
            await bill_secondary(
                unit, SimpleNamespace(**row, document=documents[row["id"]]), event, secondary_ctx, actor
            )


async def bill_secondary(
    unit: ClaimsUnit, row: Any, event: ClaimAdjudicatedV1, ctx: ScrubContext, actor: Actor
) -> str | None:
    """After the primary adjudicates, the claim to the secondary payer, with the primary's adjudication
    as COB (2320/2430). Built once; returns its id (None when there is no secondary payer or nothing left)."""
    doc = ClaimCreate.model_validate(row.document)
    second = doc.secondary_payer
    if second is None or doc.payer.responsibility != "P" or event.status_code != "1":
        return None  # 19-21: the payer forwarded the claim to the next payer itself (a crossover)
    if event.paid_cents >= event.charge_cents:
        return None  # nothing left for the secondary
    existing = await unit.conn.execute(
        select(claim.c.id).where(
            and_(
                claim.c.tenant_id == unit.tenant,
                claim.c.original_claim_id == row.id,
                claim.c.payer_id == second.payer_id,
            )
        )
    )
    if existing.first() is not None:
        return None
    paid_on = event.payment_date or datetime.now(UTC).date()
    data = doc.model_dump(mode="json")

    def adjustments(line_number: int | None) -> list[dict[str, Any]]:
        return [
            {"group": a.group, "reason": a.reason, "amount": f"{a.amount_cents / 100:.2f}"}
            for a in event.adjustments
            if a.line_number == line_number
        ]

    data["prior_payers"] = [
        {
            **doc.payer.model_dump(mode="json"),
            "subscriber": doc.subscriber.model_dump(mode="json"),
            "relationship": "18",
            "paid": f"{event.paid_cents / 100:.2f}",
            "paid_date": paid_on.isoformat(),
            "remaining_patient_liability": f"{event.patient_responsibility_cents / 100:.2f}",
            "adjustments": adjustments(None),
        }
    ]
    paid_by_line = {ln.line_number: ln.paid_cents for ln in event.lines}
    for n, line in enumerate(data["lines"], start=1):
        line["prior_payments"] = [
            {
                "paid": f"{paid_by_line.get(n, 0) / 100:.2f}",
                "paid_date": paid_on.isoformat(),
                "adjustments": adjustments(n),
            }
        ]
    data["payer"] = {
        k: second.model_dump(mode="json")[k] for k in ("payer_id", "name", "responsibility", "filing_indicator")
    }
    data["subscriber"] = second.subscriber.model_dump(mode="json")
    data["secondary_payer"] = None
    (new,) = await create_claims(unit, [ClaimCreate.model_validate(data)], ctx, actor, original=row, linked_only=True)
    return str(new["id"])


async def on_reversed(unit: ClaimsUnit, event: ClaimReversedV1, actor: Actor) -> None:
    """A payer reversal: the claim reopens (accepted; a closed one too: what the payer took back is owed and
    followed up again), or, when it answers a void or replacement sent for the claim, the claim is void or
    corrected."""
    try:
        row = await unit.get(event.claim_id, lock=True)
        if row.frequency == "8" and row.original_claim_id:
            # the payer echoed the void's own claim id (CLM01) on its reversal: a void carries no money, the
            # payment taken back is the original's (the void names it by the payer's number, REF*F8)
            row = await unit.get(row.original_claim_id, lock=True)
    except NotFound:
        return
    values: dict[str, Any] = {"paid_cents": row.paid_cents + event.reversed_paid_cents}
    if values["paid_cents"] == 0:  # the payment is undone whole: its adjustments and patient share with it
        values.update(contractual_cents=0, patient_responsibility_cents=0, paid_on=None)
    request = (await open_requests(unit, {str(row.id)}, SENT_REQUEST)).get(row.id)
    reopens = row.state == st.CLOSED and request is None
    if row.state not in st.ANSWERED_BY_PAYER and not reopens:
        # Superseded (the state stays); closed with a void or replacement sent before it was closed (a closed
        # claim is neither voided nor replaced here: the state stays for a person to settle the request); or
        # the payment it takes back has not reached the claim yet (held in an unbalanced 835). The money
        # follows the payer either way, so that the payment applied later nets with it.
        await unit.conn.execute(
            update(claim)
            .where(and_(claim.c.tenant_id == unit.tenant, claim.c.id == row.id))
            .values(**values, updated_at=datetime.now(UTC))
        )
        return
    why = f"payer reversed its payment ({event.remittance_id})"
    if request is not None and request.frequency == "8":
        await void_with(unit, row, request, actor, f"honoured: {why}", **values)
    elif request is not None:
        reason = f"{why} for replacement claim {request.id}"
        await unit.transition(row, st.CORRECTED, actor, reason=reason, values=values)
    else:
        await unit.transition(row, st.ACCEPTED, actor, reason=why, values=values)


async def on_denial_move_undone(unit: ClaimsUnit, event: DenialMoveUndoneV1, actor: Actor) -> None:
    """The payer's later word took back a denial's move (denials decides it): what the move took out of the
    claim's insurance balance is owed by the payer again. Once per denial, whatever event id it comes under
    (``denial_move.undone_at``); nothing when the move itself never reached the claim."""
    try:
        row = await unit.get(event.claim_id, lock=True)
    except NotFound:
        return
    m = denial_move.c
    done = await unit.conn.execute(
        update(denial_move)
        .where(and_(m.tenant_id == unit.tenant, m.denial_id == event.denial_id, m.undone_at.is_(None)))
        .values(undone_at=datetime.now(UTC))
    )
    if not done.rowcount:
        return
    await unit.conn.execute(
        update(claim)
        .where(and_(claim.c.tenant_id == unit.tenant, claim.c.id == row.id))
        .values(
            patient_transfer_cents=row.patient_transfer_cents - event.patient_transfer_cents,
            written_off_cents=row.written_off_cents - event.written_off_cents,
            updated_at=datetime.now(UTC),
        )
    )


async def on_denial_resolved(unit: ClaimsUnit, event: DenialResolvedV1, actor: Actor) -> None:
    """A denial billed to the patient or written off takes its amount out of the claim's insurance balance;
    once the last open denial on a claim is resolved so (or closed), the claim is done with the payer (a
    recovered denial needs nothing: the payment itself moves the claim, nor does one superseded by the payer's
    corrected adjudication). A denial's money is moved once, whatever event id its resolution comes under
    (``denial_move``)."""
    moved = event.patient_transfer_cents or event.written_off_cents
    settles = event.outcome not in ("recovered", "superseded")
    if not moved and (not event.claim_settled or not settles):
        return
    try:
        row = await unit.get(event.claim_id, lock=True)
    except NotFound:
        return
    if moved:
        stored = await unit.conn.execute(
            insert_ignore(
                unit.conn,
                denial_move,
                {
                    "tenant_id": unit.tenant,
                    "denial_id": event.denial_id,
                    "claim_id": event.claim_id,
                    "source_remittance_id": event.source_remittance_id,
                    "patient_transfer_cents": event.patient_transfer_cents,
                    "written_off_cents": event.written_off_cents,
                    "moved_at": datetime.now(UTC),
                },
            )
        )
        if not stored.rowcount:
            return  # this denial's resolution came before, under another event id: its money is moved once
    values = {
        "patient_transfer_cents": row.patient_transfer_cents + event.patient_transfer_cents,
        "written_off_cents": row.written_off_cents + event.written_off_cents,
    }
    closes = event.claim_settled and settles
    if closes and row.state in (st.DENIED, st.PARTIALLY_PAID, st.APPEALED):
        reason = f"denial {event.denial_id} {event.outcome}"
        await unit.transition(row, st.CLOSED, actor, reason=reason, values=values)
    elif moved:
        await unit.conn.execute(
            update(claim)
            .where(and_(claim.c.tenant_id == unit.tenant, claim.c.id == row.id))
            .values(**values, updated_at=datetime.now(UTC))
        )


async def on_appeal_sent(unit: ClaimsUnit, event: AppealSentV1, actor: Actor) -> None:
    """An appeal of a denial on the claim went to the payer: the claim is under appeal until the payer's next
    835 for it (paid, partly paid or denied again). A claim already under appeal, or one that has moved on
    (replaced, voided, closed), stays as it is."""
    try:
        row = await unit.get(event.claim_id, lock=True)
    except NotFound:
        return
    if st.APPEALED not in st.TRANSITIONS.get(row.state, frozenset()):
        return
    reason = f"appeal of denial {event.denial_id} sent; the payer answers by {event.answer_by.isoformat()}"
    await unit.transition(row, st.APPEALED, actor, reason=reason)


async def on_eligibility(conn: AsyncConnection, tenant: str, event: EligibilityCheckCompletedV1) -> None:
    # insert_ignore: the same check announced twice (another event id) is stored once.
    await conn.execute(
        insert_ignore(
            conn,
            eligibility_snapshot,
            dict(
                tenant_id=tenant,
                check_id=event.check_id,
                payer_id=event.payer_id,
                member_id=event.member_id,
                status=event.status,
                coverage_start=event.coverage_start,
                coverage_end=event.coverage_end,
                service_date=event.service_date,
                checked_at=datetime.now(UTC),
            ),
        )
    )


# -- acknowledgments -------------------------------------------------------------------------------------
async def record_status(unit: ClaimsUnit, claim_id: str, source: str, summary: str, codes: list[str]) -> None:
    """One acknowledgment or status answer received (999, 277CA, 277) or one inquiry sent (276)."""
    await unit.conn.execute(
        insert(claim_status_record).values(
            tenant_id=unit.tenant,
            claim_id=claim_id,
            source=source,
            summary=summary[:2000],
            codes=codes,
            at=datetime.now(UTC),
        )
    )


@dataclass(frozen=True, slots=True)
class StatusFinding:
    """A 999/277CA/277 finding on one claim: accepted (True), rejected (False) or neither (None)."""

    claim_id: str
    accepted: bool | None
    detail: dict[str, Any]
    payer_claim_control_number: str | None = None


async def apply_claim_status(
    unit: ClaimsUnit,
    claim_id: str,
    *,
    accepted: bool | None,
    detail: dict[str, Any],
    actor: Actor,
    payer_claim_control_number: str | None = None,
) -> bool:
    """Record a 999/277CA/277 finding on a claim and move it to accepted or rejected when it says so."""
    found = await apply_claim_statuses(
        unit, [StatusFinding(claim_id, accepted, detail, payer_claim_control_number)], actor
    )
    return claim_id in found


async def apply_claim_statuses(unit: ClaimsUnit, findings: Sequence[StatusFinding], actor: Actor) -> set[str]:
    """``apply_claim_status`` for the findings of a whole file, in order, with a handful of statements: the
    claims are read at once, each finding applied in memory, then the status records, the claim rows, the
    transitions and their events are written in one statement each. Returns the claim ids found."""
    ids = {f.claim_id for f in findings}
    if not ids:
        return set()
    rows = await unit.get_many(ids, document=False)
    now = datetime.now(UTC)
    records, changes = [], []
    requests: list[str] = []  # voids and replacements the payer accepted
    for f in findings:
        row = rows.get(f.claim_id)
        if row is None:
            continue
        records.append(
            {
                "tenant_id": unit.tenant,
                "claim_id": f.claim_id,
                "source": f.detail["source"],
                "summary": (f.detail.get("summary") or "")[:2000],
                "codes": f.detail.get("codes") or [],
                "at": now,
            }
        )
        row["status_detail"] = f.detail
        if f.payer_claim_control_number:
            row["payer_claim_control_number"] = f.payer_claim_control_number
        target = None if f.accepted is None else (st.ACCEPTED if f.accepted else st.REJECTED)
        if target is None or row["state"] != st.SUBMITTED:
            continue  # late or informational (e.g. an acceptance after the payment): recorded, state unchanged
        st.check(row["state"], target)
        old, row["state"], row["updated_at"] = row["state"], target, now
        changes.append((dict(row), old, target, f.detail.get("summary"), {"reason_codes": f.detail.get("codes", [])}))
        if target == st.ACCEPTED and row["frequency"] in ("7", "8") and row["original_claim_id"]:
            requests.append(row["id"])
    if not records:
        return set()
    await bulk_insert(unit.conn, claim_status_record, records)
    touched = dict.fromkeys(r["claim_id"] for r in records)
    columns = ["state", "status_detail", "payer_claim_control_number", "updated_at"]
    await unit.put_many([rows[claim_id] for claim_id in touched], columns)
    if changes:
        await unit.record(changes, actor)
    await settle_acknowledged_requests(unit, requests, actor)
    return set(touched)
