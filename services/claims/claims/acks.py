"""Acknowledgments and status from the clearinghouse: 999, 277CA (005010X214) and 277 (005010X212).

A 999 rejection names the transaction set (our ST02 in our GS06) and the segments at fault: every claim
of that set is rejected with those findings. A 277CA speaks per claim (TRN02 = our CLM01): accepted
claims get the payer's claim control number, rejected ones the STC codes. A 277 status response is
recorded on the claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.sets.x276 import ClaimStatus, read_277
from rcm_shared.x12.sets.x999 import read_999
from sqlalchemy import and_, select

from claims.handlers import Actor, ClaimsUnit, StatusFinding, apply_claim_statuses
from claims.models import claim, submission

# IK304 segment syntax error codes and IK403 element error codes (X12 999), as plain words.
SEGMENT_ERRORS = {
    "1": "unrecognized segment",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
}
ELEMENT_ERRORS = {
    "1": "required element missing",
    "2": "conditional required element missing",
    "3": "too many elements",
    "4": "element too short",
    "5": "element too long",
    "6": "invalid character",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
}


@dataclass
class AckResult:
    kind: str  # 999 | 277CA | 277
    claims_updated: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # control numbers or claim ids we do not know


def _set_of(path: Path) -> tuple[str, str]:
    for header, _segment in X12Reader(path, lenient_envelope=True):
        return header.set_id, header.implementation
    raise X12Error("no transaction set in the file", code="empty")


async def ingest_ack(unit: ClaimsUnit, path: Path, actor: Actor) -> AckResult:
    set_id, implementation = _set_of(path)
    if set_id == "999":
        return await _apply_999(unit, path, actor)
    if set_id == "277":
        return await _apply_277(unit, path, actor, "277CA" if implementation.startswith("005010X214") else "277")
    raise X12Error(f"transaction set {set_id} is not an acknowledgment (999, 277CA or 277)", code="wrong_set")


async def _apply_999(unit: ClaimsUnit, path: Path, actor: Actor) -> AckResult:
    result = AckResult("999")
    statuses: list[StatusFinding] = []
    for group in read_999(path, lenient_envelope=True):
        for ack in group.sets:
            sub = (
                await unit.conn.execute(
                    select(submission.c.id).where(
                        and_(
                            submission.c.tenant_id == unit.tenant,
                            submission.c.group_control == group.group_control_number,
                            submission.c.transaction_control == ack.control_number,
                        )
                    )
                )
            ).scalar()
            if sub is None:
                result.unknown.append(f"GS06 {group.group_control_number} ST02 {ack.control_number}")
                continue
            findings = [
                {
                    "segment": e.segment_id,
                    "position": e.position,
                    "problem": SEGMENT_ERRORS.get(e.code, e.code),
                    "elements": [
                        {"element": p, "problem": ELEMENT_ERRORS.get(code, code), "value": v}
                        for p, code, v in e.element_errors
                    ],
                }
                for e in ack.errors
            ]
            summary = "999 accepted" if ack.accepted else f"999 rejected the transaction set ({', '.join(ack.codes)})"
            detail = {"source": "999", "summary": summary, "findings": findings, "codes": ack.codes}
            ids = await unit.conn.execute(
                select(claim.c.id).where(and_(claim.c.tenant_id == unit.tenant, claim.c.submission_id == sub))
            )
            # A 999 acceptance is syntax only: the claim waits for the payer's 277CA.
            statuses += [StatusFinding(claim_id, None if ack.accepted else False, detail) for (claim_id,) in ids]
    found = await apply_claim_statuses(unit, statuses, actor)
    result.claims_updated += [f.claim_id for f in statuses if f.claim_id in found]
    return result


def _status_detail(source: str, s: ClaimStatus) -> dict[str, Any]:
    codes = [f"{x.category}:{x.code}" + (f":{x.entity}" if x.entity else "") for x in s.statuses]
    return {
        "source": source,
        "summary": f"{source} {' '.join(codes)}".strip(),
        "codes": codes,
        "payer_claim_control_number": s.payer_claim_control_number,
        "statuses": [
            {
                "category": x.category,
                "code": x.code,
                "entity": x.entity,
                "date": x.effective_date.isoformat() if x.effective_date else None,
                "charge": str(x.charge) if x.charge is not None else None,
                "paid": str(x.paid) if x.paid is not None else None,
            }
            for x in s.statuses
        ],
    }


async def _apply_277(unit: ClaimsUnit, path: Path, actor: Actor, kind: str) -> AckResult:
    result = AckResult(kind)
    findings = []
    for status in read_277(path, lenient_envelope=True):
        if status.level != "claim":
            continue
        accepted = status.accepted if kind == "277CA" else None
        findings.append(
            StatusFinding(
                status.claim_id or status.trace_number,
                accepted,
                _status_detail(kind, status),
                status.payer_claim_control_number if accepted else None,
            )
        )
    found = await apply_claim_statuses(unit, findings, actor)
    for f in findings:
        (result.claims_updated if f.claim_id in found else result.unknown).append(f.claim_id)
    return result
