"""Reading 270s (for round trips and the sandbox payer) and 271s (one response per member loop)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import Segment, TransactionHeader, X12Reader
from rcm_shared.x12.sets.x270.model import Benefit, EligibilityResponse, Inquiry, Member, RelatedEntity, RequestError
from rcm_shared.x12.values import ccyymmdd, date_range, located, money, number


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
