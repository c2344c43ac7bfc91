"""270/271 Eligibility, Coverage or Benefit Inquiry and Information (005010X279A1).

``build_270`` writes an inquiry, ``read_270`` reads one back (for round trips and for the sandbox payer),
``read_271`` yields one :class:`EligibilityResponse` per subscriber or dependent, with AAA errors at
every level, EB benefit loops (with their DTP/REF/MSG/III and LS/LE related entities) kept losslessly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import Segment, TransactionHeader, X12Reader
from rcm_shared.x12.values import ccyymmdd, date_range, located, money, number, x12_amount
from rcm_shared.x12.writer import Repeated, TransactionSet

IMPLEMENTATION = "005010X279A1"


@dataclass
class Member:
    last: str
    first: str | None = None
    middle: str | None = None
    member_id: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    references: list[tuple[str, str]] = field(default_factory=list)  # REF: 6P group, 18 plan, SY ...


@dataclass
class Inquiry:
    """One 270 inquiry: a subscriber (and optionally a dependent) at one payer for one provider."""

    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    subscriber: Member
    trace_number: str
    trace_originator: str  # TRN03: '9' + the submitter's 9-digit id, by convention
    service_date: date
    service_date_end: date | None = None
    service_types: list[str] = field(default_factory=lambda: ["30"])
    dependent: Member | None = None
    provider_is_person: bool = False
    provider_first: str | None = None


@dataclass
class RequestError:
    """AAA: a rejected request at some level (2100A payer, 2100B receiver, 2100C/D member...)."""

    loop: str
    valid: str  # AAA01 Y/N: was the request valid
    reason: str  # AAA03: 72 invalid member id, 73 invalid name, 75 subscriber not found, 42 unable to respond ...
    follow_up: str  # AAA04: C correct and resubmit, N do not resubmit, R resubmit, ...


@dataclass
class RelatedEntity:
    """2120: an entity named inside a benefit (primary care provider, other payer...)."""

    entity: str  # NM101: P3 primary care provider, PR payer, 1P provider ...
    name: str
    first: str | None = None
    id_qualifier: str | None = None
    id: str | None = None
    contacts: list[tuple[str, str]] = field(default_factory=list)  # PER (qualifier, number)


@dataclass
class Benefit:
    code: str  # EB01: 1 active, 6 inactive, A coinsurance, B copay, C deductible, G out-of-pocket, R other payer ...
    coverage_level: str | None = None  # EB02: IND, FAM, EMP, ESP, CHD ...
    service_types: list[str] = field(default_factory=list)  # EB03, repeated
    insurance_type: str | None = None  # EB04
    plan: str | None = None  # EB05
    time_period: str | None = None  # EB06: 23 calendar year, 29 remaining, 27 visit, 22 service year ...
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08 (0.2 = 20 %)
    quantity_qualifier: str | None = None  # EB09
    quantity: Decimal | None = None  # EB10
    authorization_required: str | None = None  # EB11: Y / N / U
    in_network: str | None = None  # EB12: Y in, N out, W both, U unknown
    procedure: str | None = None  # EB13
    dates: list[tuple[str, date, date | None]] = field(default_factory=list)  # DTP
    references: list[tuple[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # MSG
    related: list[RelatedEntity] = field(default_factory=list)


@dataclass
class EligibilityResponse:
    transaction: str
    payer_name: str
    payer_id: str
    provider_name: str
    provider_id: str
    subscriber: Member | None = None
    dependent: Member | None = None
    trace_numbers: list[tuple[str, str]] = field(default_factory=list)  # (TRN02, TRN03)
    errors: list[RequestError] = field(default_factory=list)
    dates: list[tuple[str, date, date | None]] = field(default_factory=list)  # member-level DTP
    relationship: str | None = None  # INS02
    benefits: list[Benefit] = field(default_factory=list)

    @property
    def member(self) -> Member | None:
        return self.dependent or self.subscriber


# -- 270 ---------------------------------------------------------------------------------------------
def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def _member_name(ts: TransactionSet, qualifier: str, m: Member, with_id: bool) -> None:
    ts.add(
        "NM1",
        qualifier,
        "1",
        m.last,
        m.first,
        m.middle,
        None,
        None,
        "MI" if with_id and m.member_id else None,
        m.member_id if with_id else None,
    )
    for q, v in m.references:
        ts.add("REF", q, v)
    if m.address_line1:
        ts.add("N3", m.address_line1, m.address_line2)
        ts.add("N4", m.city, m.state, m.postal_code)


def _dtp(ts: TransactionSet, qualifier: str, start: date, end: date | None) -> None:
    if end is not None:
        ts.add("DTP", qualifier, "RD8", f"{_d8(start)}-{_d8(end)}")
    else:
        ts.add("DTP", qualifier, "D8", _d8(start))


def _member_segments(ts: TransactionSet, qualifier: str, m: Member, inquiry: Inquiry, with_id: bool) -> None:
    ts.add("TRN", "1", inquiry.trace_number, inquiry.trace_originator)
    _member_name(ts, qualifier, m, with_id)
    if m.birth_date:
        ts.add("DMG", "D8", _d8(m.birth_date), m.sex)
    end = inquiry.service_date_end if inquiry.service_date_end != inquiry.service_date else None
    _dtp(ts, "291", inquiry.service_date, end)
    ts.add("EQ", Repeated(inquiry.service_types))


def build_270(inquiries: list[Inquiry], *, reference: str, created: date) -> TransactionSet:
    ts = TransactionSet("270", IMPLEMENTATION)
    ts.add("BHT", "0022", "13", reference, _d8(created), "1200")
    hl = 0
    for q in inquiries:
        hl += 1
        source = hl
        ts.add("HL", str(source), None, "20", "1")
        ts.add("NM1", "PR", "2", q.payer_name, None, None, None, None, "PI", q.payer_id)
        hl += 1
        receiver = hl
        ts.add("HL", str(receiver), str(source), "21", "1")
        ts.add(
            "NM1",
            "1P",
            "1" if q.provider_is_person else "2",
            q.provider_name,
            q.provider_first,
            None,
            None,
            None,
            "XX",
            q.provider_npi,
        )
        hl += 1
        sub = hl
        ts.add("HL", str(sub), str(receiver), "22", "1" if q.dependent else "0")
        if q.dependent is None:
            _member_segments(ts, "IL", q.subscriber, q, with_id=True)
        else:
            ts.add(
                "NM1",
                "IL",
                "1",
                q.subscriber.last,
                q.subscriber.first,
                q.subscriber.middle,
                None,
                None,
                "MI",
                q.subscriber.member_id,
            )
            if q.subscriber.birth_date:
                ts.add("DMG", "D8", _d8(q.subscriber.birth_date), q.subscriber.sex)
            hl += 1
            ts.add("HL", str(hl), str(sub), "23", "0")
            _member_segments(ts, "03", q.dependent, q, with_id=False)
    return ts


def read_270(source: str | Path | bytes | BinaryIO) -> Iterator[Inquiry]:
    current: Inquiry | None = None
    trace = ("", "")  # TRN (2000C/D) comes before the member's NM1
    payer = ("", "")
    provider: tuple[str, str, bool, str | None] = ("", "", False, None)
    member: Member | None = None
    for th, seg in X12Reader(source):
        sid = seg.id
        if sid == "ST" and seg[1] != "270":
            raise located(th, seg, 1, f"transaction set {seg[1]!r} is not a 270", "wrong_set")
        if sid == "HL" and seg[3] in ("20", "21", "22") and current is not None:
            yield current
            current = None
        if sid == "SE" and current is not None:
            yield current
            current = None
        if sid == "NM1" and seg[1] == "PR":
            payer = (seg[3], seg[9])
        elif sid == "NM1" and seg[1] == "1P":
            provider = (seg[3], seg[9], seg[2] == "1", seg[4] or None)
        elif sid == "NM1" and seg[1] == "IL":
            member = Member(seg[3], seg[4] or None, seg[5] or None, seg[9] or None)
            current = Inquiry(
                payer[0],
                payer[1],
                provider[0],
                provider[1],
                member,
                *trace,
                date.min,
                provider_is_person=provider[2],
                provider_first=provider[3],
                service_types=[],
            )
        elif sid == "NM1" and seg[1] == "03" and current is not None:
            member = Member(seg[3], seg[4] or None, seg[5] or None)
            current.dependent = member
        elif sid == "TRN":
            trace = (seg[2], seg[3])
            if current is not None:
                current.trace_number, current.trace_originator = trace
        elif current is None or member is None:
            continue
        elif sid == "REF":
            member.references.append((seg[1], seg[2]))
        elif sid == "N3":
            member.address_line1, member.address_line2 = seg[1], seg[2] or None
        elif sid == "N4":
            member.city, member.state, member.postal_code = seg[1], seg[2], seg[3]
        elif sid == "DMG":
            member.birth_date, member.sex = ccyymmdd(th, seg, 2), seg[3] or None
        elif sid == "DTP" and seg[1] == "291":
            start, end = date_range(th, seg)
            current.service_date, current.service_date_end = start, end
        elif sid == "EQ":
            current.service_types = seg[1].split(th.interchange.delimiters.repetition)


# -- 271 ---------------------------------------------------------------------------------------------
def read_271(
    source: str | Path | bytes | BinaryIO, *, lenient_envelope: bool = False, warnings: list[X12Error] | None = None
) -> Iterator[EligibilityResponse]:
    """One response per subscriber (2000C) or dependent (2000D) loop; a response rejected before the
    member level (payer or receiver AAA) is yielded too, with its errors and no member."""
    reader = X12Reader(source, lenient_envelope=lenient_envelope)
    payer = ("", "")
    provider = ("", "")
    source_errors: list[RequestError] = []
    current: EligibilityResponse | None = None
    benefit: Benefit | None = None
    entity: RelatedEntity | None = None
    level = ""
    in_ls = False
    for th, seg in reader:
        sid = seg.id
        rep = th.interchange.delimiters.repetition
        if sid == "ST":
            if seg[1] != "271":
                raise located(th, seg, 1, f"transaction set {seg[1]!r} is not a 271", "wrong_set")
            source_errors, current, level = [], None, ""
            continue
        if sid == "HL":
            level = seg[3]
            if level in ("20", "21", "22") and current is not None:
                yield current
                current = None
            if level == "22":
                current = EligibilityResponse(
                    th.control_number, payer[0], payer[1], provider[0], provider[1], errors=list(source_errors)
                )
            elif level == "23":
                if current is None:
                    raise located(th, seg, 3, "dependent level without a subscriber level", "structure")
                subscriber = current.subscriber
                if current.benefits or current.errors != source_errors:
                    yield current
                current = EligibilityResponse(
                    th.control_number,
                    payer[0],
                    payer[1],
                    provider[0],
                    provider[1],
                    subscriber=subscriber,
                    errors=list(source_errors),
                )
            elif level not in ("20", "21"):
                raise located(th, seg, 3, f"unknown hierarchical level {level!r}", "bad_code")
            benefit, entity, in_ls = None, None, False
            continue
        if sid == "SE":
            if current is not None:
                yield current
            elif source_errors:
                yield EligibilityResponse(
                    th.control_number, payer[0], payer[1], provider[0], provider[1], errors=source_errors
                )
            current = None
            continue
        if sid == "LS":
            in_ls = True
            continue
        if sid == "LE":
            in_ls, entity = False, None
            continue
        if in_ls and benefit is not None:
            if sid == "NM1":
                entity = RelatedEntity(seg[1], seg[3], seg[4] or None, seg[8] or None, seg[9] or None)
                benefit.related.append(entity)
            elif sid == "PER" and entity is not None:
                entity.contacts += [(seg[i], seg[i + 1]) for i in (3, 5, 7) if seg[i]]
            continue
        if sid == "AAA":
            loop = {"20": "2100A", "21": "2100B", "22": "2100C", "23": "2100D"}.get(level, level)
            if benefit is not None:
                loop = "2110" + loop[-1]
            error = RequestError(loop, seg[1], seg[3], seg[4])
            if level in ("20", "21"):
                source_errors.append(error)
            elif current is not None:
                current.errors.append(error)
            continue
        if sid == "NM1" and level == "20":
            payer = (seg[3], seg[9])
        elif sid == "NM1" and level == "21":
            provider = (seg[3], seg[9])
        elif current is None:
            continue
        elif sid == "NM1":
            member = Member(seg[3], seg[4] or None, seg[5] or None, seg[9] or None)
            if level == "23":
                current.dependent = member
            else:
                current.subscriber = member
            benefit = None
        elif sid == "TRN":
            current.trace_numbers.append((seg[2], seg[3]))
        elif sid == "EB":
            benefit = Benefit(
                code=seg[1],
                coverage_level=seg[2] or None,
                service_types=[s for s in seg[3].split(rep) if s],
                insurance_type=seg[4] or None,
                plan=seg[5] or None,
                time_period=seg[6] or None,
                amount=money(th, seg, 7, required=False),
                percent=number(th, seg, 8),
                quantity_qualifier=seg[9] or None,
                quantity=number(th, seg, 10),
                authorization_required=seg[11] or None,
                in_network=seg[12] or None,
                procedure=seg[13] or None,
            )
            current.benefits.append(benefit)
        elif benefit is not None and sid == "DTP":
            benefit.dates.append((seg[1], *date_range(th, seg)))
        elif benefit is not None and sid == "REF":
            benefit.references.append((seg[1], seg[2]))
        elif benefit is not None and sid == "MSG":
            benefit.messages.append(seg[1])
        elif current.member is not None and sid in ("REF", "N3", "N4", "DMG", "INS", "DTP"):
            _member_detail(current, th, seg)
    if warnings is not None:
        warnings.extend(reader.warnings)


def _member_detail(r: EligibilityResponse, th: TransactionHeader, seg: Segment) -> None:
    m = r.member
    assert m is not None
    if seg.id == "REF":
        m.references.append((seg[1], seg[2]))
    elif seg.id == "N3":
        m.address_line1, m.address_line2 = seg[1], seg[2] or None
    elif seg.id == "N4":
        m.city, m.state, m.postal_code = seg[1], seg[2], seg[3]
    elif seg.id == "DMG":
        m.birth_date, m.sex = ccyymmdd(th, seg, 2), seg[3] or None
    elif seg.id == "INS":
        r.relationship = seg[2]
    elif seg.id == "DTP":
        r.dates.append((seg[1], *date_range(th, seg)))


# -- 271 writer (payers and the sandbox answer with it) -------------------------------------------------
def _benefits_and_member(ts: TransactionSet, r: EligibilityResponse, m: Member, errors: list[RequestError]) -> None:
    for e in errors:
        ts.add("AAA", e.valid, None, e.reason, e.follow_up)
    if m.birth_date:
        ts.add("DMG", "D8", _d8(m.birth_date), m.sex)
    if r.relationship:
        ts.add("INS", "Y" if r.relationship == "18" else "N", r.relationship)
    for qualifier, start, end in r.dates:
        _dtp(ts, qualifier, start, end)
    for b in r.benefits:
        ts.add(
            "EB",
            b.code,
            b.coverage_level,
            Repeated(b.service_types) if b.service_types else None,
            b.insurance_type,
            b.plan,
            b.time_period,
            x12_amount(b.amount) if b.amount is not None else None,
            format(b.percent.normalize(), "f") if b.percent is not None else None,
            b.quantity_qualifier,
            format(b.quantity.normalize(), "f") if b.quantity is not None else None,
            b.authorization_required,
            b.in_network,
            b.procedure,
        )
        for q, v in b.references:
            ts.add("REF", q, v)
        for qualifier, start, end in b.dates:
            _dtp(ts, qualifier, start, end)
        for message in b.messages:
            ts.add("MSG", message)
        if b.related:
            ts.add("LS", "2120")
            for ent in b.related:
                ts.add(
                    "NM1",
                    ent.entity,
                    "1" if ent.first else "2",
                    ent.name,
                    ent.first,
                    None,
                    None,
                    None,
                    ent.id_qualifier,
                    ent.id,
                )
                if ent.contacts:
                    flat: list[str | None] = []
                    for q, number in ent.contacts[:3]:
                        flat += [q, number]
                    ts.add("PER", "IC", None, *flat)
            ts.add("LE", "2120")


def build_271(responses: list[EligibilityResponse], *, reference: str, created: date) -> TransactionSet:
    """One 271 answering the responses' inquiries (subscriber, or subscriber + dependent)."""
    ts = TransactionSet("271", IMPLEMENTATION)
    ts.add("BHT", "0022", "11", reference, _d8(created), "1200")
    hl = 0
    for r in responses:
        hl += 1
        source = hl
        ts.add("HL", str(source), None, "20", "1")
        ts.add("NM1", "PR", "2", r.payer_name, None, None, None, None, "PI", r.payer_id)
        for e in r.errors:
            if e.loop == "2100A":
                ts.add("AAA", e.valid, None, e.reason, e.follow_up)
        hl += 1
        receiver = hl
        ts.add("HL", str(receiver), str(source), "21", "1")
        ts.add("NM1", "1P", "2", r.provider_name, None, None, None, None, "XX", r.provider_id)
        member_errors = [e for e in r.errors if e.loop not in ("2100A", "2100B")]
        if r.subscriber is None:
            continue
        hl += 1
        sub = hl
        ts.add("HL", str(sub), str(receiver), "22", "1" if r.dependent else "0")
        for trace, originator in r.trace_numbers:
            if r.dependent is None:
                ts.add("TRN", "2", trace, originator)
        _member_name(ts, "IL", r.subscriber, with_id=True)
        if r.dependent is None:
            _benefits_and_member(ts, r, r.subscriber, member_errors)
        else:
            if r.subscriber.birth_date:
                ts.add("DMG", "D8", _d8(r.subscriber.birth_date), r.subscriber.sex)
            hl += 1
            ts.add("HL", str(hl), str(sub), "23", "0")
            for trace, originator in r.trace_numbers:
                ts.add("TRN", "2", trace, originator)
            _member_name(ts, "03", r.dependent, with_id=False)
            _benefits_and_member(ts, r, r.dependent, member_errors)
    return ts
