"""HL7 v2 acknowledgments out (original mode, chapter 2): the ACK of a message in its own separators and
version, written from the message's header alone.

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
    head: h.Header,
    code: str,
    problems: Sequence[Problem] = (),
    *,
    application: str,
    control_id: str | None = None,
    now: datetime | None = None,
) -> str:
    """The ACK's text (segments ending in CR, unframed), written from the message's header alone: whatever
    else the message holds, its ACK can be written."""
    fs, enc = head.field_separator, head.encoding_characters
    chars = (enc + "^~\\&"[len(enc) :])[:4]
    component, repetition, esc, sub = chars[0], chars[1], chars[2], chars[3]
    escapes = [(esc, "E"), (fs, "F"), (component, "S"), (repetition, "R"), (sub, "T")]  # the escape first

    def text(value: str) -> str:
        """A value in the message's separators: theirs escaped (HL7 2.7.4); other characters as they are,
        the ACK being written in UTF-8 like the message read (python-hl7's escape spells characters past
        U+00FF in a way its own reader does not read back)."""
        for char, name in escapes:
            value = value.replace(char, f"{esc}{name}{esc}")
        return value

    structure = "" if head.version == "2.3" else f"{component}ACK"
    msh = [
        "MSH",
        enc,
        head.receiving_application or text(application),
        head.receiving_facility,
        head.sending_application,
        head.sending_facility,
        (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S+0000"),
        "",
        f"ACK{component}{text(head.trigger)}{structure}",
        control_id or new_control_id(),
        text(head.processing_id),
        text(head.version),
    ]
    old = head.version in BEFORE_V25
    msa = ["MSA", code, text(head.control_id)]
    if old and problems:
        msa.append(text(problems[0].text[:80]))
    segments = [fs.join(msh), fs.join(msa)]
    for p in problems:
        where = p.location
        condition = [str(p.code), text(h.CONDITION_TEXT.get(p.code, "")), "HL70357"]
        if old:
            place = [where.segment, str(where.sequence), str(where.field or "")] if where else ["", "", ""]
            segments.append(fs.join(["ERR", component.join([*place, sub.join(condition)])]))
            continue
        location = ""
        if where is not None:
            parts = [where.segment, str(where.sequence)]
            if where.field:
                parts += [str(where.field), "1"] + ([str(where.component)] if where.component else [])
            location = component.join(parts)
        err = ["ERR", "", location, component.join(condition), p.severity, "", "", "", text(p.text)]
        segments.append(fs.join(err))
    return "\r".join(segments) + "\r"
