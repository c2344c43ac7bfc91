"""X12 documents in: acknowledgments and status from the clearinghouse, 999, 277CA (005010X214) and 277
(005010X212), read from the bytes received into the findings they state.

A 999 speaks per transaction set (our ST02 in our GS06), with the segments at fault; a 277CA per claim
(TRN02 = our CLM01): accepted claims get the payer's claim control number, rejected ones the STC codes. A
277 status response is recorded on the claim, whatever it says. (Whose a file is, by its envelope ids:
``rcm_shared.x12.routing``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.sets.x276 import ClaimStatus, read_277
from rcm_shared.x12.sets.x999 import read_999

from claims.domain.claim import StatusFinding

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


@dataclass(frozen=True)
class SetAnswer:
    """A 999's answer on one transaction set we sent: accepted (syntax only) or rejected, with the findings."""

    group_control: str
    transaction_control: str
    accepted: bool
    detail: dict[str, Any]


@dataclass
class Acknowledgment:
    """What a 999 (``sets``) or a 277CA/277 (``findings``) says."""

    kind: str  # 999 | 277CA | 277
    sets: list[SetAnswer] = field(default_factory=list)
    findings: list[StatusFinding] = field(default_factory=list)


def read_acknowledgment(data: bytes) -> Acknowledgment:
    """The findings of a 999, 277CA or 277; X12Error when the bytes are none of them or do not read."""
    set_id, implementation = _set_of(data)
    if set_id == "999":
        return Acknowledgment("999", sets=_sets_999(data))
    if set_id == "277":
        kind = "277CA" if implementation.startswith("005010X214") else "277"
        return Acknowledgment(kind, findings=_findings_277(data, kind))
    raise X12Error(f"transaction set {set_id} is not an acknowledgment (999, 277CA or 277)", code="wrong_set")


def _set_of(data: bytes) -> tuple[str, str]:
    for header, _segment in X12Reader(data, lenient_envelope=True):
        return header.set_id, header.implementation
    raise X12Error("no transaction set in the file", code="empty")


def _sets_999(data: bytes) -> list[SetAnswer]:
    answers = []
    for group in read_999(data, lenient_envelope=True):
        for ack in group.sets:
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
            answers.append(SetAnswer(group.group_control_number, ack.control_number, ack.accepted, detail))
    return answers


def _findings_277(data: bytes, kind: str) -> list[StatusFinding]:
    findings = []
    for status in read_277(data, lenient_envelope=True):
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
    return findings


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
