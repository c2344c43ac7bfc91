"""A claim's moves through its lifecycle: each one checked against the state table, recorded in the claim's
history (who, what, when, why) and announced as a status-changed event in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1
from rcm_shared.unit import Actor, Unit

from claims.domain import state as st
from claims.domain.claim import Change, cents, provider_name
from claims.domain.encounter import ClaimCreate
from claims.repository import ClaimsRepository


async def record(unit: Unit, changes: Sequence[Change], actors: Sequence[Actor] | None = None) -> None:
    """The history rows and status-changed events of transitions already applied to the claim rows.

    Each change is (the claim's columns after the change, old state, new state, reason, event extras); the
    unit's actor made them all, or ``actors`` names the actor of each change.
    """
    now = datetime.now(UTC)
    rows, events = [], []
    for (after, old, new, reason, extra), actor in zip(changes, actors or [unit.actor] * len(changes), strict=True):
        claim_id = after["id"]
        rows.append(
            {
                "tenant_id": unit.tenant,
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
        events.append(unit.acting_as(actor).event(payload, claim_id))
    await ClaimsRepository(unit).add_transitions(rows)
    await unit.emit_many(events)


async def transition(
    unit: Unit,
    row: Any,
    target: str,
    *,
    reason: str | None = None,
    values: dict[str, Any] | None = None,
    event_extra: dict[str, Any] | None = None,
) -> None:
    """Move a claim to ``target`` (refused if illegal), record who/what/when/why, emit the event."""
    st.check(row.state, target)
    now = datetime.now(UTC)
    values = dict(values or {})
    await ClaimsRepository(unit).update(row.id, {**values, "state": target}, now=now)
    after = {**row._mapping, **values, "state": target}
    await record(unit, [(after, row.state, target, reason, event_extra or {})])


async def close_claim(unit: Unit, claim_id: str) -> Any:
    """Close a claim (done with the payer); returns it as stored."""
    claims = ClaimsRepository(unit)
    await transition(unit, await claims.get(claim_id, lock=True), st.CLOSED, reason="closed")
    return await claims.get(claim_id)


def billed_lines(claim_id: str, doc: ClaimCreate) -> list[BilledLine]:
    """The claim's lines as its status events carry them (their control numbers are the 837's REF*6R). A
    line's place of service is its own, else the claim's facility code on a professional claim (the 837P's
    CLM05-1 stands for every line without SV105). An institutional claim's lines carry none: its facility
    code is a type of bill, and the 837I has no place of service to send."""
    professional = doc.kind == "professional"
    return [
        BilledLine(
            line_number=n,
            line_control_number=f"{claim_id}-{n}",
            procedure_code=line.procedure_code or line.revenue_code or "",
            modifiers=list(line.modifiers),
            service_date=line.service_date,
            units=str(line.units),
            charge_cents=cents(line.amount),
            description=line.description,
            place_of_service=(line.place_of_service or doc.facility_code) if professional else None,
        )
        for n, line in enumerate(doc.lines, start=1)
    ]


def what_was_billed(claim_id: str, doc: ClaimCreate) -> dict[str, Any]:
    """The members of a status event that describe the claim's services: its lines and its provider's name.
    Sent when the claim is entered or edited (the denials service expects a payment from them at once) and
    when it is submitted."""
    return {"lines": billed_lines(claim_id, doc), "provider_name": provider_name(doc)}
