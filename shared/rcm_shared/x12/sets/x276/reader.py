"""Reading 276s, and 277s and 277CAs (one ``ClaimStatus`` per claim-level loop)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import Segment, TransactionHeader, X12Reader
from rcm_shared.x12.sets.x276.model import ACK_IMPLEMENTATION, ClaimStatus, LineStatus, Status, StatusInquiry
from rcm_shared.x12.values import ccyymmdd, date_range, located, money


def read_276(source: str | Path | bytes | BinaryIO) -> Iterator[StatusInquiry]:
    names: dict[str, tuple[str, str]] = {}
    q: StatusInquiry | None = None
    dob: tuple[date | None, str | None] = (None, None)
    for th, seg in X12Reader(source):
        sid = seg.id
        if sid == "ST" and seg[1] != "276":
            raise located(th, seg, 1, f"transaction set {seg[1]!r} is not a 276", "wrong_set")
        if sid == "HL" and seg[3] == "23" and q is not None:
            continue  # the dependent's loop continues the same inquiry
        if sid in ("HL", "SE") and q is not None:
            if q.trace_number:
                yield q
            q = None
        if sid == "DMG":
            dob = (ccyymmdd(th, seg, 2), seg[3] or None)
            if q is not None:  # after NM1*IL: the dependent's demographics
                q.patient_birth_date, q.patient_sex = dob
        elif sid == "NM1" and seg[1] in ("PR", "41", "1P"):
            names[seg[1]] = (seg[3], seg[9])
        elif sid == "NM1" and seg[1] == "IL":
            missing = [q for q in ("PR", "41", "1P") if q not in names]
            if missing:
                raise located(th, seg, 1, f"subscriber before the {', '.join(missing)} loop(s) of the 276", "structure")
            q = StatusInquiry(
                names["PR"][0],
                names["PR"][1],
                names["41"][0],
                names["41"][1],
                names["1P"][0],
                names["1P"][1],
                seg[3],
                seg[4] or None,
                seg[9],
                "",
                "",
                Decimal(0),
                date.min,
                subscriber_birth_date=dob[0],
                subscriber_sex=dob[1],
            )
            dob = (None, None)
        elif q is None:
            continue
        elif sid == "NM1" and seg[1] == "QC":
            q.patient_last, q.patient_first = seg[3], seg[4] or None
        elif sid == "TRN":
            q.trace_number = seg[2]
        elif sid == "REF" and seg[1] == "1K":
            q.payer_claim_control_number = seg[2]
        elif sid == "REF" and seg[1] == "EJ":
            q.claim_id = seg[2]
        elif sid == "AMT" and seg[1] == "T3":
            q.total_charge = money(th, seg, 2) or Decimal(0)
        elif sid == "DTP" and seg[1] == "472":
            q.service_date, q.service_date_end = date_range(th, seg)


def _status(th: TransactionHeader, seg: Segment, start: int) -> Status:
    comp = th.interchange.delimiters.component
    parts = seg[start].split(comp)
    if len(parts) < 2 or not parts[0]:
        raise located(th, seg, start, "status needs a category and a code", "missing")
    return Status(parts[0], parts[1], parts[2] if len(parts) > 2 and parts[2] else None)


def _stc(th: TransactionHeader, seg: Segment) -> list[Status]:
    first = _status(th, seg, 1)
    first.effective_date = ccyymmdd(th, seg, 2)
    first.action = seg[3] or None
    first.charge = money(th, seg, 4, required=False)
    first.paid = money(th, seg, 5, required=False)
    first.check_date = ccyymmdd(th, seg, 8)
    first.check_number = seg[9] or None
    first.free_text = seg[12] or None
    out = [first]
    for extra in (10, 11):
        if seg[extra]:
            s = _status(th, seg, extra)
            s.effective_date = first.effective_date
            out.append(s)
    return out


_LEVELS = {"20": "payer", "21": "receiver", "19": "provider"}


def read_277(
    source: str | Path | bytes | BinaryIO, *, lenient_envelope: bool = False, warnings: list[X12Error] | None = None
) -> Iterator[ClaimStatus]:
    reader = X12Reader(source, lenient_envelope=lenient_envelope)
    payer = ("", "")
    provider: str | None = None
    current: ClaimStatus | None = None
    line: LineStatus | None = None
    level = ""
    member: tuple[str, str | None, str | None] = ("", None, None)
    for th, seg in reader:
        sid = seg.id
        if sid == "ST":
            if seg[1] != "277":
                raise located(th, seg, 1, f"transaction set {seg[1]!r} is not a 277", "wrong_set")
            current, line = None, None
            continue
        if sid in ("HL", "SE") and current is not None:
            if current.level == "claim" or current.statuses:
                yield current
            current, line = None, None
        if sid == "HL":
            level = seg[3]
            continue
        if sid == "NM1":
            if seg[1] == "PR":
                payer = (seg[3], seg[9])
            elif seg[1] in ("1P", "85"):
                provider = seg[9] or None
            elif seg[1] in ("IL", "QC"):
                member = (seg[3], seg[4] or None, seg[9] or None)
            continue
        if sid == "TRN":
            ack = th.implementation.startswith(ACK_IMPLEMENTATION)
            claim_level = level in ("22", "23", "PT")
            current = ClaimStatus(
                th.implementation,
                th.control_number,
                payer[0],
                payer[1],
                provider,
                member[0] if claim_level else "",
                member[1] if claim_level else None,
                member[2] if claim_level else None,
                seg[2],
                seg[2] if ack and claim_level else None,
                level="claim" if claim_level else _LEVELS.get(level, level),
            )
            continue
        if current is None:
            continue
        if sid == "STC":
            (line.statuses if line else current.statuses).extend(_stc(th, seg))
        elif sid == "REF" and line is None:
            if seg[1] == "1K":
                current.payer_claim_control_number = seg[2]
            elif seg[1] == "EJ":
                current.claim_id = seg[2]
        elif sid == "REF" and line is not None and seg[1] == "FJ":
            line.line_control_number = seg[2]
        elif sid == "DTP" and seg[1] == "472":
            start, end = date_range(th, seg)
            if line is not None:
                line.service_date = start
            else:
                current.service_date, current.service_date_end = start, end
        elif sid == "SVC":
            parts = seg[1].split(th.interchange.delimiters.component)
            line = LineStatus(
                parts[1] if len(parts) > 1 else seg[1],
                money(th, seg, 2) or Decimal(0),
                money(th, seg, 3, required=False),
            )
            current.lines.append(line)
    if warnings is not None:
        warnings.extend(reader.warnings)
