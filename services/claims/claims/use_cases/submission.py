"""Submission: ready claims -> 837 interchanges per payer and claim type, recorded pending delivery; and the
276 status inquiry about one claim, recorded the same way.

Building and recording happen in the caller's transaction (claims move to submitted, the interchange is
kept); delivery (``use_cases.delivery``) happens after the commit and is retried by the worker until it
succeeds, so a crash never loses a submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rcm_shared.errors import Invalid, NotFound
from rcm_shared.ids import new_id
from rcm_shared.unit import Unit
from rcm_shared.x12.writer import TransactionSet

from claims.adapters.x12_out import Envelope, batch_837, inquiry_276, interchange, to_837
from claims.config import ClaimsSettings
from claims.domain import state as st
from claims.domain.encounter import ClaimCreate
from claims.repository import ClaimsRepository, SubmissionsRepository
from claims.use_cases.lifecycle import record, transition, what_was_billed
from claims.use_cases.references import payer_ids_at, sender_envelope

# The edit a claim carries when its 837 cannot be built (a void without the payer's claim number, ...).
UNBUILDABLE = "SUB001"
HELD_REASON = "held back from submission: the 837 cannot be built (see the claim's edits)"


@dataclass
class Prepared:
    """An interchange recorded, pending delivery."""

    submission_id: str
    payer_id: str
    claim_ids: list[str]
    x12: str


@dataclass(frozen=True)
class Held:
    """A ready claim that could not be built into an 837: back to draft, with the reason in its edits."""

    claim_id: str
    reason: str


@dataclass
class Batch:
    """What a submission prepared, and the claims it held back."""

    asked_for: bool  # particular claims were asked for (not every ready one)
    prepared: list[Prepared] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)

    def refuse_if_all_held(self) -> None:
        """The claims asked for were all held (back in draft, the reason in their edits): nothing was sent.
        For the caller to raise once the holds are committed."""
        if self.asked_for and self.held and not self.prepared:
            raise Invalid(
                "; ".join(f"{h.claim_id}: {h.reason}" for h in self.held),
                title="Claim held",
                held=[{"claim_id": h.claim_id, "reason": h.reason} for h in self.held],
            )


async def hold(unit: Unit, row: Any, reason: str) -> Held:
    """Back to draft with the reason as an error edit: the claim leaves the batch, the others go. The
    history and the event say only that it was held (the reason may quote the claim's data)."""
    edit = {"rule": UNBUILDABLE, "severity": "error", "field": "claim", "message": reason}
    edits = [e for e in row.edits or [] if e.get("rule") != UNBUILDABLE] + [edit]
    await transition(unit, row, st.DRAFT, reason=HELD_REASON, values={"edits": edits})
    return Held(row.id, reason)


async def submit(
    unit: Unit, settings: ClaimsSettings, claim_ids: list[str] | None, adapter_name: str, *, hold_s: float
) -> Batch:
    """Prepare the submission (``prepare``) of the claims asked for (every ready claim when None), left to the
    caller to deliver for ``hold_s`` seconds, after which the worker delivers what is still pending."""
    batch = Batch(asked_for=claim_ids is not None)
    batch.prepared = await prepare(unit, settings, claim_ids, adapter_name, batch.held)
    await hold_for_caller(unit, batch.prepared, hold_s)
    return batch


async def hold_for_caller(unit: Unit, prepared: list[Prepared], seconds: float) -> None:
    """The caller (an API request) delivers these itself right after its commit: the worker leaves them
    alone for ``seconds``, then retries any still pending (the request failed or its process died)."""
    if prepared and seconds > 0:
        await SubmissionsRepository(unit).hold_for_caller([p.submission_id for p in prepared], seconds)


async def prepare(
    unit: Unit,
    settings: ClaimsSettings,
    claim_ids: list[str] | None,
    adapter_name: str,
    held: list[Held] | None = None,
) -> list[Prepared]:
    """Group ready claims by payer and type into 837 interchanges; claims move to submitted. Each claim is
    built on its own merits: one that cannot be built is held (``hold``, appended to ``held``) and the rest
    of its batch goes. ``NoConnection`` when the tenant has no clearinghouse connection to send under,
    raised before anything is written: the claims stay ready."""
    held = [] if held is None else held
    claims = ClaimsRepository(unit)
    if claim_ids is not None:
        found = await claims.get_rows(claim_ids)
        missing = [cid for cid in claim_ids if cid not in found]
        if missing:
            raise NotFound(f"no claim {missing[0]}")
        rows = [found[cid] for cid in dict.fromkeys(claim_ids)]
        for row in rows:
            if row.state != st.READY:
                raise st.IllegalTransition(row.state, st.SUBMITTED)
    else:
        rows = await claims.ready()
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.payer_id, row.kind), []).append(row)
    if not groups:
        return []
    prepared: list[Prepared] = []
    now = datetime.now(UTC)
    envelope = await sender_envelope(unit, settings, now.date())  # the tenant's: a batch holds its claims only
    for (payer_id, kind), candidates in groups.items():
        docs: dict[str, ClaimCreate] = {}
        built: dict[str, Any] = {}
        members = []
        for r in candidates:
            try:
                docs[r.id] = ClaimCreate.model_validate(r.document)
            except (ValueError, TypeError) as exc:
                held.append(await hold(unit, r, str(exc)))
        at_connection = await payer_ids_at(unit, docs, envelope)
        for r in candidates:
            if r.id not in docs:
                continue
            try:
                built[r.id] = to_837(
                    docs[r.id],
                    claim_id=r.id,
                    frequency=r.frequency,
                    payer_claim_control_number=r.payer_claim_control_number,
                    payer_id=at_connection.get(r.id),
                )
            except (ValueError, TypeError) as exc:
                held.append(await hold(unit, r, str(exc)))
                continue
            members.append(r)
        if not members:
            continue
        controls = await SubmissionsRepository(unit).interchange_numbers()
        reference = f"{controls[1]:09d}"
        try:
            ts = batch_837([built[r.id] for r in members], envelope, reference, now.date(), kind)
        except (ValueError, TypeError):
            # some claim of the group cannot be written: find it (them) one by one, hold them, send the rest
            buildable = []
            for r in members:
                try:
                    batch_837([built[r.id]], envelope, reference, now.date(), kind)
                except (ValueError, TypeError) as exc:
                    held.append(await hold(unit, r, str(exc)))
                    continue
                buildable.append(r)
            members = buildable
            if not members:
                continue  # the control numbers drawn are skipped: X12 asks for unique ones, not consecutive
            ts = batch_837([built[r.id] for r in members], envelope, reference, now.date(), kind)
        sent = await _record_interchange(
            unit, envelope, ts, controls, payer_id, [r.id for r in members], kind, adapter_name, now
        )
        values = {"submission_id": sent.submission_id, "submitted_at": now}
        await claims.update_many([r.id for r in members], {**values, "state": st.SUBMITTED, "updated_at": now})
        reason = f"sent in interchange {controls[0]:09d}"
        changes = [
            (
                {**r._mapping, **values, "state": st.SUBMITTED},
                st.READY,
                st.SUBMITTED,
                reason,
                what_was_billed(r.id, docs[r.id]),
            )
            for r in members
        ]
        await record(unit, changes)
        prepared.append(sent)
    return prepared


async def _record_interchange(
    unit: Unit,
    envelope: Envelope,
    ts: TransactionSet,
    controls: tuple[int, int, int],
    payer_id: str,
    claim_ids: list[str],
    kind: str,
    adapter: str,
    now: datetime,
) -> Prepared:
    """The interchange carrying ``ts`` under the control numbers drawn, recorded as a pending submission."""
    text, transaction_control = interchange(ts, envelope, controls)
    submission_id = new_id()
    await SubmissionsRepository(unit).add(
        {
            "id": submission_id,
            "payer_id": payer_id,
            "kind": kind,
            "adapter": adapter,
            "interchange_control": f"{controls[0]:09d}",
            "group_control": str(controls[1]),
            "transaction_control": transaction_control,
            "claim_count": len(claim_ids),
            "x12": text,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
    )
    return Prepared(submission_id, payer_id, claim_ids, text)


async def prepare_status_inquiry(unit: Unit, settings: ClaimsSettings, claim_id: str) -> Prepared:
    """A 276 claim status inquiry for one submitted claim, recorded like a submission (kind 'S');
    ``NoConnection`` before anything is written when the tenant has no clearinghouse connection."""
    row = await ClaimsRepository(unit).get(claim_id)
    if row.submitted_at is None:
        raise st.IllegalTransition(row.state, "status inquiry")
    now = datetime.now(UTC)
    envelope = await sender_envelope(unit, settings, now.date())
    doc = ClaimCreate.model_validate(row.document)
    submissions = SubmissionsRepository(unit)
    trace_number = f"{claim_id}-{await submissions.next_control('TRN276')}"
    controls = await submissions.interchange_numbers()
    ts = inquiry_276(
        doc,
        envelope,
        claim_id=claim_id,
        trace_number=trace_number,
        payer_claim_control_number=row.payer_claim_control_number,
        reference=f"{controls[1]:09d}",
        created=now.date(),
        payer_id=(await payer_ids_at(unit, {claim_id: doc}, envelope)).get(claim_id),
    )
    sent = await _record_interchange(unit, envelope, ts, controls, doc.payer.payer_id, [claim_id], "S", "", now)
    summary = f"status inquiry sent (trace {trace_number})"
    await ClaimsRepository(unit).add_status_records(
        [{"claim_id": claim_id, "source": "276", "summary": summary, "codes": [], "at": now}]
    )
    return sent


async def status_inquiry(unit: Unit, settings: ClaimsSettings, claim_id: str, *, hold_s: float) -> Prepared:
    """A 276 about one claim (``prepare_status_inquiry``), left to the caller to deliver for ``hold_s`` seconds."""
    prepared = await prepare_status_inquiry(unit, settings, claim_id)
    await hold_for_caller(unit, [prepared], hold_s)
    return prepared
