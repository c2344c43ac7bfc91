"""Acknowledgments and status from the clearinghouse (999, 277CA, 277), from the bytes received, whoever
received them: an API request, the immediate answer to a delivery, a file in the inbound folder (which
finds its tenant by the clearinghouse connection it is addressed to: ``route_acknowledgment``).

A 999 rejection names the transaction set: every claim of that set is rejected with its findings (a 999
acceptance is syntax only: the claim waits for the payer's 277CA). A 277CA accepts or rejects each claim;
a 277 status response is recorded on the claim.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rcm_shared.errors import Invalid
from rcm_shared.unit import Unit
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.routing import Pair, Route, interchange_parties, pairs, route

from claims.adapters.acknowledgments import read_acknowledgment
from claims.adapters.quarantine import Quarantined, quarantined
from claims.domain import state as st
from claims.domain.claim import Change, StatusFinding
from claims.repository import ClaimsRepository, SubmissionsRepository
from claims.repository.practice import PracticeRepository
from claims.use_cases.corrections import settle_acknowledged_requests
from claims.use_cases.lifecycle import record


@dataclass
class AckResult:
    kind: str  # 999 | 277CA | 277
    claims_updated: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # control numbers or claim ids we do not know


async def route_acknowledgment(unit: Unit, data: bytes, home: Pair, default_tenant: str) -> Route:
    """The tenant an inbound file belongs to, by the clearinghouse connection its interchanges are addressed
    with (``rcm_shared.x12.routing``, as remittance routes 835s): the tenant that registered the connection
    (``PracticeRepository.tenant_of_connection``); ``home``, the deployment's own (submitter_id, receiver_id),
    is ``default_tenant``'s. ``Route.tenant`` None: the file is no one tenant's, and why. Invalid when the
    bytes are not X12."""
    try:
        interchanges = interchange_parties(data)
    except X12Error as exc:
        raise Invalid(str(exc), title="Invalid acknowledgment", x12=exc.as_dict()) from None
    practices = PracticeRepository(unit.conn)
    owners = {pair: await practices.tenant_of_connection(*pair) for pair in pairs(interchanges)}
    return route(interchanges, owners.get, home, default_tenant)


async def quarantined_files(folder: Path, tenant: str, default_tenant: str) -> list[Quarantined]:
    """The acknowledgment files set aside because no one practice's connection claims them. They are no
    organization's: the deployment's operator (the default organization) sees them, another organization none."""
    if tenant != default_tenant:
        return []
    return await asyncio.to_thread(quarantined, folder)


async def acknowledge(unit: Unit, data: bytes) -> AckResult:
    """Apply a 999, 277CA or 277 to the claims it speaks of. Invalid (with the X12 error's members under
    ``x12``) when the bytes are none of them or do not read: nothing is applied then."""
    try:
        ack = read_acknowledgment(data)
    except X12Error as exc:
        raise Invalid(str(exc), title="Invalid acknowledgment", x12=exc.as_dict()) from None
    result = AckResult(ack.kind)
    if ack.kind == "999":
        submissions, claims = SubmissionsRepository(unit), ClaimsRepository(unit)
        statuses: list[StatusFinding] = []
        for answer in ack.sets:
            sub = await submissions.answered_by(answer.group_control, answer.transaction_control)
            if sub is None:
                result.unknown.append(f"GS06 {answer.group_control} ST02 {answer.transaction_control}")
                continue
            accepted = None if answer.accepted else False
            statuses += [
                StatusFinding(claim_id, accepted, answer.detail) for claim_id in await claims.of_submission(sub)
            ]
        found = await apply_claim_statuses(unit, statuses)
        result.claims_updated += [f.claim_id for f in statuses if f.claim_id in found]
        return result
    found = await apply_claim_statuses(unit, ack.findings)
    for f in ack.findings:
        (result.claims_updated if f.claim_id in found else result.unknown).append(f.claim_id)
    return result


async def apply_claim_status(
    unit: Unit,
    claim_id: str,
    *,
    accepted: bool | None,
    detail: dict[str, Any],
    payer_claim_control_number: str | None = None,
) -> bool:
    """Record a 999/277CA/277 finding on a claim and move it to accepted or rejected when it says so."""
    found = await apply_claim_statuses(unit, [StatusFinding(claim_id, accepted, detail, payer_claim_control_number)])
    return claim_id in found


async def apply_claim_statuses(unit: Unit, findings: Sequence[StatusFinding]) -> set[str]:
    """``apply_claim_status`` for the findings of a whole file, in order, with a handful of statements: the
    claims are read at once, each finding applied in memory, then the status records, the claim rows, the
    transitions and their events are written in one statement each. Returns the claim ids found."""
    ids = {f.claim_id for f in findings}
    if not ids:
        return set()
    claims = ClaimsRepository(unit)
    rows = await claims.get_many(ids, document=False)
    now = datetime.now(UTC)
    records: list[dict[str, Any]] = []
    changes: list[Change] = []
    requests: list[str] = []  # voids and replacements the payer accepted
    for f in findings:
        row = rows.get(f.claim_id)
        if row is None:
            continue
        records.append(
            {
                "claim_id": f.claim_id,
                "source": f.detail["source"],
                "summary": f.detail.get("summary") or "",
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
    await claims.add_status_records(records)
    touched = dict.fromkeys(r["claim_id"] for r in records)
    columns = ["state", "status_detail", "payer_claim_control_number", "updated_at"]
    await claims.put_many([rows[claim_id] for claim_id in touched], columns)
    if changes:
        await record(unit, changes)
    await settle_acknowledged_requests(unit, requests)
    return set(touched)
