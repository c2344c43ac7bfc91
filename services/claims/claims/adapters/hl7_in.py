"""HL7 v2 messages in (v2.3 to v2.5.1): the MLLP frame's text parsed by python-hl7 (``hl7``) into the
domain's values (``domain.hl7``). Each problem raises ``MessageError`` naming its segment, field and component
and its table 0357 code; the header's problems are rejections (AR), the content's errors (AE).

Fields read: MSH-3..12; PID-3 (the MR repetition, else the first), -5, -7, -8, -11; GT1-3, -5, -8, -9;
IN1-1, -3, -4, -8, -16..19, -36, -43, -49 and IN2-6/-8 (Medicare/Medicaid numbers when IN1-36 and -49 are
empty); MRG-1; PV1-3.4, -19; FT1-1, -2, -4, -6, -7, -10, -11, -12, -19, -20, -21, -25, -26; DG1-3, -15.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import hl7

from claims.adapters.hl7_tree import Unreadable, decode, parse, repetitions, value
from claims.domain import codesets
from claims.domain import hl7 as h

__all__ = ["Unreadable", "adt", "check_header", "dft", "header", "read", "registration"]

X12_DELIMITERS = re.compile(r"[*~^:|\\]")
MAX_AMOUNT = Decimal("99999999.99")  # the largest line amount taken (an 837 SV102 holds it; BigInteger cents too)
SEXES = {"F": "F", "M": "M"}


def read(frame: bytes) -> hl7.Message:
    """The frame's message tree; ``Unreadable`` when it has no header to answer to."""
    return parse(decode(frame))


def header(message: hl7.Message) -> h.Header:
    """MSH, checked as an acknowledgment needs it: AR for a version, processing id or message type this
    listener does not take, or a missing control id."""
    msh = message[0]  # the text starts with it (``parse``); a search by id trips on an empty segment
    raw = [str(msh(i)) if i < len(msh) else "" for i in range(0, 13)]
    return h.Header(
        field_separator=raw[1],
        encoding_characters=raw[2],
        sending_application=raw[3],
        sending_facility=raw[4],
        receiving_application=raw[5],
        receiving_facility=raw[6],
        message_code=value(msh, 9, 1).upper(),
        trigger=value(msh, 9, 2).upper(),
        control_id=value(msh, 10),
        processing_id=value(msh, 11, 1).upper(),
        version=value(msh, 12, 1),
    )


def check_header(head: h.Header, processing_id: str = "P") -> None:
    """AR for what this listener does not take; ``processing_id`` is the one it serves (MSH-11: a listener
    of production data refuses training and debugging messages, which must never become claims)."""

    def reject(code: int, text: str, field: int, component: int = 0) -> None:
        raise h.MessageError(code, text, h.Location("MSH", 1, field, component), reject=True)

    if not head.control_id:
        reject(h.REQUIRED_FIELD_MISSING, "MSH-10 (message control id) is empty", 10)
    if len(head.control_id) > 199 or len(head.sender) > 200:
        reject(h.DATA_TYPE_ERROR, "MSH-10 is longer than 199 characters, or MSH-3.1 and MSH-4.1 than 200", 10)
    if head.version not in h.VERSIONS:
        reject(
            h.UNSUPPORTED_VERSION_ID, f"version {head.version or '(none)'} is not one of {', '.join(h.VERSIONS)}", 12
        )
    if head.processing_id != processing_id:
        reject(h.UNSUPPORTED_PROCESSING_ID, f"MSH-11 must be {processing_id}: this listener takes no other", 11)
    events = {"ADT": h.ADT_EVENTS, "DFT": h.DFT_EVENTS}.get(head.message_code)
    if events is None:
        reject(h.UNSUPPORTED_MESSAGE_TYPE, f"message type {head.message_code or '(none)'} is not ADT or DFT", 9, 1)
    elif head.trigger not in events:
        reject(
            h.UNSUPPORTED_EVENT_CODE, f"{head.message_type} is not taken: {head.message_code} {'/'.join(events)}", 9, 2
        )


def _segments(message: hl7.Message) -> Iterator[tuple[str, int, hl7.Segment]]:
    """Each segment with its id and its sequence among the segments of that id."""
    seen: dict[str, int] = {}
    for seg in message:
        name = str(seg[0]).strip().upper()
        seen[name] = seen.get(name, 0) + 1
        yield name, seen[name], seg


def _error(code: int, text: str, segment: str, sequence: int, field: int, component: int = 0) -> h.MessageError:
    return h.MessageError(code, text, h.Location(segment, sequence, field, component))


def _date(seg: hl7.Segment, where: tuple[str, int], field: int, *, required: bool = False) -> date | None:
    text = value(seg, field, 1)[:8]
    if not text:
        if required:
            raise _error(h.REQUIRED_FIELD_MISSING, f"{where[0]}-{field} is empty", *where, field)
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise _error(h.DATA_TYPE_ERROR, f"{where[0]}-{field} is not a date (YYYYMMDD)", *where, field) from None


def _text(seg: hl7.Segment, where: tuple[str, int], field: int, component: int = 1, sub: int = 1) -> str | None:
    """A name or address part as the 837 can carry it (no X12 delimiter), None when empty."""
    text = value(seg, field, component, 1, sub)
    if X12_DELIMITERS.search(text):
        raise _error(
            h.DATA_TYPE_ERROR,
            f"{where[0]}-{field}.{component} holds a character a claim cannot carry (* ~ ^ : | \\)",
            *where,
            field,
            component,
        )
    return text or None


def _person(seg: hl7.Segment, where: tuple[str, int], name: int, birth: int, sex: int, address: int) -> h.Person:
    last = _text(seg, where, name, 1)
    if last is None:
        raise _error(h.REQUIRED_FIELD_MISSING, f"{where[0]}-{name}.1 (family name) is empty", *where, name, 1)
    return h.Person(
        last_name=last,
        first_name=_text(seg, where, name, 2),
        middle_name=_text(seg, where, name, 3),
        birth_date=_date(seg, where, birth),
        sex=SEXES.get(value(seg, sex).upper(), "U") if value(seg, sex) else None,
        address=_address(seg, where, address),
    )


def _address(seg: hl7.Segment, where: tuple[str, int], field: int) -> h.Address | None:
    line1, city = _text(seg, where, field, 1), _text(seg, where, field, 3)
    state, postal = value(seg, field, 4).upper(), re.sub(r"[\s-]", "", value(seg, field, 5))
    if not (line1 or city or state or postal):
        return None
    if not (line1 and city):
        raise _error(h.REQUIRED_FIELD_MISSING, f"{where[0]}-{field}: street and city are required", *where, field)
    if not re.fullmatch(r"[A-Z]{2}", state):
        raise _error(h.DATA_TYPE_ERROR, f"{where[0]}-{field}.4 is not a 2-letter state", *where, field, 4)
    if not re.fullmatch(r"\d{5}(\d{4})?", postal):
        raise _error(h.DATA_TYPE_ERROR, f"{where[0]}-{field}.5 is not a 5- or 9-digit ZIP code", *where, field, 5)
    return h.Address(line1, city, state, postal, _text(seg, where, field, 2))


def _identifier(seg: hl7.Segment, field: int, wanted: str = "MR") -> str:
    """A CX list's identifier of the wanted type (component 5), else its first identifier."""
    count = repetitions(seg, field)
    for rep in range(1, count + 1):
        if value(seg, field, 5, rep).upper() == wanted and value(seg, field, 1, rep):
            return value(seg, field, 1, rep)
    return value(seg, field, 1)


def _npi(seg: hl7.Segment, seq: int, field: int) -> str | None:
    """The NPI among an XCN list: component 1 of the repetition whose identifier type (component 13) is NPI."""
    for rep in range(1, repetitions(seg, field) + 1):
        npi = value(seg, field, 1, rep)
        if value(seg, field, 13, rep).upper() == "NPI" and npi:
            if not re.fullmatch(r"\d{10}", npi):
                raise _error(h.DATA_TYPE_ERROR, f"FT1-{field}.1 of type NPI is not 10 digits", "FT1", seq, field, 1)
            return npi
    return None


def _key(text: str, where: tuple[str, int], field: int, limit: int = 80) -> str:
    """An identifier this service keys by, as sent: one too long is refused rather than cut (two could meet)."""
    if len(text) > limit:
        raise _error(h.DATA_TYPE_ERROR, f"{where[0]}-{field} is longer than {limit} characters", *where, field)
    return text


def registration(message: hl7.Message) -> h.Registration:
    """PID with the GT1 and IN1/IN2 segments the message carries."""
    pid = guarantor = patient = None
    mrn = ""
    coverages: list[h.Coverage] = []
    for name, seq, seg in _segments(message):
        if name == "PID" and pid is None:
            pid = seg
            mrn = _key(_identifier(seg, 3), (name, 1), 3)
            if not mrn:
                raise _error(h.REQUIRED_FIELD_MISSING, "PID-3 (patient identifier list) has no identifier", name, 1, 3)
            patient = _person(seg, (name, 1), 5, 7, 8, 11)
        elif name == "GT1" and guarantor is None:
            guarantor = _person(seg, (name, seq), 3, 8, 9, 5)
        elif name == "IN1":
            coverages.append(_coverage(seg, seq, len(coverages) + 1, patient))
        elif name == "IN2" and coverages:
            extra = value(seg, 6) or value(seg, 8)  # Medicare, Medicaid number
            last = coverages[-1]
            if not last.member_id and extra:
                coverages[-1] = replace(last, member_id=extra)
    if pid is None or patient is None:
        raise _error(h.SEGMENT_SEQUENCE_ERROR, "the message has no PID segment", "PID", 1, 0)
    for c in coverages:
        if not c.member_id:
            where = ("IN1", c.set_id)
            raise _error(h.REQUIRED_FIELD_MISSING, "IN1-36 (policy number) is empty, and IN1-49 and IN2", *where, 36)
    ordered = tuple(sorted(coverages, key=lambda c: c.set_id))
    return h.Registration(mrn, patient, guarantor, ordered or None)


def _unsaid_relationship(seg: hl7.Segment, where: tuple[str, int], patient: h.Person | None) -> str:
    """IN1-17 for an IN1 that leaves it empty (it is optional): self when IN1-16 and IN1-18 are empty or name
    the patient, else unknown. Read as self, an insured named there would be dropped, and the patient billed
    and asked about as the subscriber under the insured's member id."""
    if not (value(seg, 16) or value(seg, 18)):
        return "SEL"
    named = h.Person(value(seg, 16, 1), value(seg, 16, 2) or None, birth_date=_date(seg, where, 18))
    return "SEL" if patient is not None and h.same_person(named, patient) else "UNK"


def _coverage(seg: hl7.Segment, seq: int, position: int, patient: h.Person | None) -> h.Coverage:
    where = ("IN1", seq)
    set_text = value(seg, 1)
    if set_text and not set_text.isdecimal():
        raise _error(h.DATA_TYPE_ERROR, "IN1-1 (set id) is not a number", *where, 1)
    payer_id = _key(value(seg, 3), where, 3)
    if not payer_id:
        raise _error(h.REQUIRED_FIELD_MISSING, "IN1-3 (insurance company id) is empty", *where, 3)
    code = value(seg, 17).upper() or _unsaid_relationship(seg, where, patient)
    relationship = h.RELATIONSHIPS.get(code)
    if relationship is None:
        raise _error(h.TABLE_VALUE_NOT_FOUND, "IN1-17 is not a relationship of table 0063 taken here", *where, 17)
    if relationship != "18" and not value(seg, 16):
        raise _error(
            h.REQUIRED_FIELD_MISSING, "IN1-16 (name of insured) is empty and the insured is not the patient", *where, 16
        )
    insured = None if relationship == "18" else _person(seg, where, 16, 18, 43, 19)
    return h.Coverage(
        set_id=int(set_text) if set_text else position,
        payer_id=payer_id,
        payer_name=_text(seg, where, 4),
        member_id=_key(value(seg, 36), where, 36) or _key(value(seg, 49), where, 49),
        group_number=_text(seg, where, 8),
        relationship=relationship,
        insured=insured,
    )


def merged_mrn(message: hl7.Message) -> str:
    for name, _seq, seg in _segments(message):
        if name == "MRG":
            mrn = _identifier(seg, 1)
            if mrn:
                return mrn
            raise _error(h.REQUIRED_FIELD_MISSING, "MRG-1 (prior patient identifier list) is empty", "MRG", 1, 1)
    raise _error(h.SEGMENT_SEQUENCE_ERROR, "an A40 needs an MRG segment", "MRG", 1, 0)


def adt(message: hl7.Message, head: h.Header) -> h.Adt:
    return h.Adt(head, registration(message), merged_mrn(message) if head.trigger == "A40" else None)


def dft(message: hl7.Message, head: h.Header) -> h.Dft:
    """PID, PV1 and the FT1 charges (diagnoses from FT1-19, else from the DG1 segments)."""
    reg = registration(message)
    pv1 = None
    ft1s: list[tuple[int, hl7.Segment]] = []
    dg1s: list[tuple[int, int, str]] = []
    for name, seq, seg in _segments(message):
        if name == "PV1" and pv1 is None:
            pv1 = seg
        elif name == "FT1":
            ft1s.append((seq, seg))
        elif name == "DG1" and value(seg, 3):
            priority = value(seg, 15)
            dg1s.append((int(priority) if priority.isdecimal() else 99, seq, value(seg, 3)))
    if pv1 is None:
        raise _error(h.SEGMENT_SEQUENCE_ERROR, "a DFT^P03 needs a PV1 segment", "PV1", 1, 0)
    visit = _key(value(pv1, 19), ("PV1", 1), 19)
    if not visit:
        raise _error(h.REQUIRED_FIELD_MISSING, "PV1-19 (visit number) is empty", "PV1", 1, 19)
    if not ft1s:
        raise _error(h.SEGMENT_SEQUENCE_ERROR, "a DFT^P03 needs at least one FT1 segment", "FT1", 1, 0)
    fallback = tuple(code for _p, _s, code in sorted(dg1s))
    charges, notices = [], []
    for seq, seg in ft1s:
        kind = value(seg, 6).upper()
        if kind in h.NOT_POSTED_HERE:
            text = "payments and adjustments are not posted from HL7: the remittance service posts them"
            notices.append(h.Notice(h.TABLE_VALUE_NOT_FOUND, text, h.Location("FT1", seq, 6)))
            continue
        charges.append(_charge(seg, seq, fallback))
    if not charges and not notices:
        raise _error(h.SEGMENT_SEQUENCE_ERROR, "a DFT^P03 needs at least one FT1 segment", "FT1", 1, 0)
    facility = value(pv1, 3, 4) or None
    return h.Dft(head, reg, visit, facility, tuple(charges), tuple(notices))


def _amount(seg: hl7.Segment, where: tuple[str, int], field: int) -> Decimal | None:
    """The amount as sent, sign kept; an error of the field when it is no amount in cents or out of bounds."""
    text = value(seg, field, 1, 1, 1)
    if not text:
        return None
    try:
        amount = Decimal(text)
        ok = amount.is_finite() and abs(amount) <= MAX_AMOUNT and amount == amount.quantize(Decimal("0.01"))
    except ArithmeticError:  # InvalidOperation: sNaN, or more digits than the context quantizes
        ok = False
    if not ok:
        raise _error(
            h.DATA_TYPE_ERROR, f"FT1-{field} is not an amount in cents of at most {MAX_AMOUNT}", *where, field, 1
        )
    return amount


def _charge(seg: hl7.Segment, seq: int, fallback: tuple[str, ...]) -> h.ChargeIn:
    where = ("FT1", seq)
    kind = value(seg, 6).upper()
    if kind not in (h.CHARGE, h.CREDIT):
        raise _error(h.TABLE_VALUE_NOT_FOUND, "FT1-6 must be CG (charge), CD (credit), PY or AJ", *where, 6)
    service_date = _date(seg, where, 4, required=True)
    assert service_date is not None
    try:
        quantity = Decimal(value(seg, 10) or "1")
        milli = abs(quantity) * 1000 if quantity.is_finite() else Decimal(0)
        ok = milli != 0 and milli == milli.to_integral_value() and milli < 10**9
    except ArithmeticError:  # InvalidOperation: not a number, sNaN
        ok = False
    if not ok:
        raise _error(h.DATA_TYPE_ERROR, "FT1-10 must be a non-zero quantity of at most 3 decimals", *where, 10)
    code = value(seg, 25).upper()
    from_transaction = not code
    if from_transaction:
        code = value(seg, 7).upper()
        if not code:
            raise _error(h.REQUIRED_FIELD_MISSING, "FT1-25 (procedure code) and FT1-7 are both empty", *where, 7, 1)
    if not (codesets.CPT.match(code) or codesets.HCPCS.match(code)):
        field = 7 if from_transaction else 25
        raise _error(h.TABLE_VALUE_NOT_FOUND, f"FT1-{field} {code} is not a CPT/HCPCS code", *where, field, 1)
    modifiers = tuple(value(seg, 26, 1, rep).upper() for rep in range(1, repetitions(seg, 26) + 1))
    modifiers = tuple(m for m in modifiers if m)
    if len(modifiers) > 4 or not all(codesets.MODIFIER.match(m) for m in modifiers):
        raise _error(h.DATA_TYPE_ERROR, "FT1-26 must be at most 4 modifiers of 2 letters or digits", *where, 26)
    extended = _amount(seg, where, 11)
    unit = _amount(seg, where, 12)
    for field, amount in ((11, extended), (12, unit)):
        # a negative amount takes money back: only a credit or a negative quantity does (a charge of 1 unit
        # at -100.00 is no $100 charge, whatever the sender meant)
        if amount is not None and amount < 0 and kind == h.CHARGE and quantity > 0:
            raise _error(
                h.DATA_TYPE_ERROR,
                f"FT1-{field} is negative on a charge (CG) of a positive quantity: send a credit (CD) "
                "or a negative quantity to reverse",
                *where,
                field,
                1,
            )
    if extended is None and unit is not None:
        extended = (abs(unit) * abs(quantity)).quantize(Decimal("0.01"))
        if extended > MAX_AMOUNT:
            raise _error(h.DATA_TYPE_ERROR, f"FT1-12 times FT1-10 is over {MAX_AMOUNT}", *where, 12, 1)
    extended = abs(extended) if extended is not None else None
    diagnoses = tuple(value(seg, 19, 1, rep).upper() for rep in range(1, repetitions(seg, 19) + 1))
    return h.ChargeIn(
        set_id=int(value(seg, 1)) if value(seg, 1).isdecimal() and len(value(seg, 1)) < 9 else seq,
        sequence=seq,
        service_date=service_date,
        kind=kind,
        transaction_code=value(seg, 7),
        units_milli=int(milli),
        negative=quantity < 0,
        procedure_code=code,
        modifiers=modifiers,
        extended_cents=int(extended * 100) if extended is not None else None,
        diagnoses=tuple(d for d in diagnoses if d) or fallback,
        performing_npi=_npi(seg, seq, 20),
        ordering_npi=_npi(seg, seq, 21),
        code_from_transaction=from_transaction,
        transaction_id=_key(value(seg, 2), where, 2) or None,
    )
