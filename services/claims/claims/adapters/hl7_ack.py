"""HL7 v2 acknowledgments out (original mode, chapter 2): the ACK of a message, built with python-hl7 in the
message's own separators and version.

MSH swaps the message's sender and receiver (MSH-3/4 <- MSH-5/6, MSH-5/6 <- MSH-3/4; our application name
when the message named none), MSH-9 is ACK^<trigger>^ACK (ACK^<trigger> in v2.3, which has no message
structure component), MSH-10 a new control id, MSH-11/12 the message's. MSA-1 is AA, AE or AR and MSA-2 the
message's control id. Each problem is an ERR: from v2.5 on ERR-2 (segment^sequence^field^repetition^
component), ERR-3 (table 0357 code^text^HL70357), ERR-4 (E error, W warning) and ERR-8 (the words); before
v2.5, ERR-1 (segment^sequence^field^code&text&HL70357) with the words in MSA-3.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7
from hl7.util import escape

from claims.domain import hl7 as h

ACCEPT, ERROR, REJECT = "AA", "AE", "AR"
BEFORE_V25 = ("2.1", "2.2", "2.3", "2.3.1", "2.4")  # ERR-1 only; later versions (and unknown ones) ERR-2..8


@dataclass(frozen=True, slots=True)
class Problem:
    code: int
    text: str
    location: h.Location | None
    severity: str = "E"  # E error, W warning (table 0516)


def of_error(error: h.MessageError) -> Problem:
    return Problem(error.code, error.text, error.location)


def of_notice(notice: h.Notice) -> Problem:
    return Problem(notice.code, notice.text, notice.location, "W")


def new_control_id() -> str:
    return "ACK" + uuid.uuid4().hex[:17].upper()  # 20 characters: MSH-10's length in v2.5


def acknowledgment(
    message: hl7.Message,
    head: h.Header,
    code: str,
    problems: Sequence[Problem] = (),
    *,
    application: str,
    control_id: str | None = None,
    now: datetime | None = None,
) -> str:
    """The ACK's text (segments ending in CR, unframed)."""
    ack = message.create_ack(
        code,
        message_id=control_id or new_control_id(),
        application=head.receiving_application or escape(message, application),
        facility=head.receiving_facility,
    )
    msh = ack.segment("MSH")
    msh.assign_field((now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S+0000"), 7)
    component = head.encoding_characters[:1] or "^"
    trigger = escape(message, head.trigger)
    structure = "" if head.version == "2.3" else f"{component}ACK"
    msh.assign_field(f"ACK{component}{trigger}{structure}", 9)
    msh.assign_field(escape(message, head.version), 12)
    old = head.version in BEFORE_V25
    if old and problems:
        ack.segment("MSA").assign_field(escape(message, problems[0].text[:80]), 3)
    for problem in problems:
        ack.append(_err(ack, problem, old))
    return str(ack)


def _err(ack: hl7.Message, p: Problem, old: bool) -> hl7.Segment:
    seg = ack.create_segment([ack.create_field(["ERR"])])
    where = p.location
    text = escape(ack, h.CONDITION_TEXT.get(p.code, ""))
    if old:
        if where is not None:
            seg.assign_field(where.segment, 1, 1, 1)
            seg.assign_field(str(where.sequence), 1, 1, 2)
            seg.assign_field(str(where.field) if where.field else "", 1, 1, 3)
        seg.assign_field(str(p.code), 1, 1, 4, 1)
        seg.assign_field(text, 1, 1, 4, 2)
        seg.assign_field("HL70357", 1, 1, 4, 3)
        return seg
    if where is not None:
        seg.assign_field(where.segment, 2, 1, 1)
        seg.assign_field(str(where.sequence), 2, 1, 2)
        if where.field:
            seg.assign_field(str(where.field), 2, 1, 3)
            seg.assign_field("1", 2, 1, 4)
            if where.component:
                seg.assign_field(str(where.component), 2, 1, 5)
    seg.assign_field(str(p.code), 3, 1, 1)
    seg.assign_field(text, 3, 1, 2)
    seg.assign_field("HL70357", 3, 1, 3)
    seg.assign_field(p.severity, 4)
    seg.assign_field(escape(ack, p.text), 8)
    return seg
