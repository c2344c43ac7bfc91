"""276/277 Claim Status Request and Response (005010X212) and the 277CA claim acknowledgment (005010X214).

``build_276`` / ``read_276`` for inquiries; ``read_277`` reads both a 277 status response and a 277CA,
yielding one :class:`ClaimStatus` per claim (patient-level loop) with its STC statuses, ids and lines.
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
from rcm_shared.x12.values import ccyymmdd, date_range, located, money, x12_amount
from rcm_shared.x12.writer import Composite, TransactionSet

REQUEST_IMPLEMENTATION = "005010X212"
ACK_IMPLEMENTATION = "005010X214"


@dataclass
class StatusInquiry:
    payer_name: str
    payer_id: str
    submitter_name: str
    submitter_id: str
    provider_name: str
    provider_npi: str
    subscriber_last: str
    subscriber_first: str | None
    member_id: str
    trace_number: str
    claim_id: str  # REF*EJ patient control number (our CLM01)
    total_charge: Decimal
    service_date: date
    service_date_end: date | None = None
    payer_claim_control_number: str | None = None  # REF*1K
    subscriber_birth_date: date | None = None
    subscriber_sex: str | None = None
    patient_last: str | None = None  # a dependent patient (2000E/2100E); None when the subscriber is the patient
    patient_first: str | None = None
    patient_birth_date: date | None = None
    patient_sex: str | None = None


@dataclass
class Status:
    category: str  # STC01-1: A1..A8 acknowledgments, F0..F4 finalized, P0..P5 pending, R0..R16 requests, E errors
    code: str  # STC01-2: claim status code
    entity: str | None = None  # STC01-3
    effective_date: date | None = None  # STC02
    action: str | None = None  # STC03: WQ accepted, U rejected (277CA)
    charge: Decimal | None = None  # STC04
    paid: Decimal | None = None  # STC05
    check_date: date | None = None  # STC08
    check_number: str | None = None  # STC09
    free_text: str | None = None  # STC12


@dataclass
class LineStatus:
    procedure: str
    charge: Decimal
    paid: Decimal | None
    statuses: list[Status] = field(default_factory=list)
    line_control_number: str | None = None
    service_date: date | None = None


@dataclass
class ClaimStatus:
    implementation: str  # 005010X212 (status response) or 005010X214 (277CA)
    transaction: str
    payer_name: str
    payer_id: str
    provider_id: str | None
    member_last: str
    member_first: str | None
    member_id: str | None
    trace_number: str  # TRN02: in a 277CA the patient control number as sent; in a 277 the 276 trace
    claim_id: str | None  # REF*EJ (277) or TRN02 (277CA): the patient control number, our claim id
    payer_claim_control_number: str | None = None  # REF*1K
    statuses: list[Status] = field(default_factory=list)
    service_date: date | None = None
    service_date_end: date | None = None
    lines: list[LineStatus] = field(default_factory=list)
    level: str = "claim"  # claim, or the level a batch status is about: payer, receiver (submitter), provider

    @property
    def accepted(self) -> bool | None:
        """277CA verdict: A1/A2/A5 accepted; A3/A4/A6/A7/A8 (and E*) rejected; None when no ack status."""
        cats = {s.category for s in self.statuses}
        if cats & {"A3", "A4", "A6", "A7", "A8", "E0", "E1", "E2", "E3", "E4"}:
            return False
        if cats & {"A1", "A2", "A5"}:
            return True
        return None


def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def build_276(inquiries: list[StatusInquiry], *, reference: str, created: date) -> TransactionSet:
    ts = TransactionSet("276", REQUEST_IMPLEMENTATION)
    ts.add("BHT", "0010", "13", reference, _d8(created), "1200")
    hl = 0
    for q in inquiries:
        hl += 1
        payer_hl = hl
        ts.add("HL", str(payer_hl), None, "20", "1")
        ts.add("NM1", "PR", "2", q.payer_name, None, None, None, None, "PI", q.payer_id)
        hl += 1
        receiver_hl = hl
        ts.add("HL", str(receiver_hl), str(payer_hl), "21", "1")
        ts.add("NM1", "41", "2", q.submitter_name, None, None, None, None, "46", q.submitter_id)
        hl += 1
        provider_hl = hl
        ts.add("HL", str(provider_hl), str(receiver_hl), "19", "1")
        ts.add("NM1", "1P", "2", q.provider_name, None, None, None, None, "XX", q.provider_npi)
        hl += 1
        ts.add("HL", str(hl), str(provider_hl), "22", "1" if q.patient_last else "0")
        if q.subscriber_birth_date:
            ts.add("DMG", "D8", _d8(q.subscriber_birth_date), q.subscriber_sex)
        ts.add("NM1", "IL", "1", q.subscriber_last, q.subscriber_first, None, None, None, "MI", q.member_id)
        if q.patient_last:
            hl += 1
            ts.add("HL", str(hl), str(hl - 1), "23")
            if q.patient_birth_date:
                ts.add("DMG", "D8", _d8(q.patient_birth_date), q.patient_sex)
            ts.add("NM1", "QC", "1", q.patient_last, q.patient_first)
        ts.add("TRN", "1", q.trace_number)
        if q.payer_claim_control_number:
            ts.add("REF", "1K", q.payer_claim_control_number)
        ts.add("REF", "EJ", q.claim_id)
        ts.add("AMT", "T3", x12_amount(q.total_charge))
        if q.service_date_end and q.service_date_end != q.service_date:
            ts.add("DTP", "472", "RD8", f"{_d8(q.service_date)}-{_d8(q.service_date_end)}")
        else:
            ts.add("DTP", "472", "D8", _d8(q.service_date))
    return ts


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


# -- 277CA writer (the clearinghouse / payer front end acknowledges each claim of an 837) ----------------
@dataclass
class ClaimAck:
    """One claim's verdict in a 277CA: accepted (A1:20 / A2:20) or rejected with its status code."""

    claim_id: str  # CLM01 as received, echoed in TRN02
    member_last: str
    member_first: str | None
    member_id: str
    charge: Decimal
    service_date: date
    service_date_end: date | None = None
    status: Status = field(default_factory=lambda: Status("A2", "20", action="WQ"))
    payer_claim_control_number: str | None = None  # REF*1K, for accepted claims

    @property
    def accepted(self) -> bool:
        return self.status.category in ("A1", "A2", "A5")


@dataclass
class ProviderAcks:
    """The claims of one billing provider (2000C) in a 277CA."""

    provider_name: str
    provider_npi: str
    claims: list[ClaimAck]


def _ack_stc(ts: TransactionSet, s: Status, on: date, amount: Decimal, rejected: bool) -> None:
    code = Composite((s.category, s.code, s.entity) if s.entity else (s.category, s.code))
    ts.add("STC", code, _d8(on), s.action or ("U" if rejected else "WQ"), x12_amount(amount))


def _totals(ts: TransactionSet, claims: list[ClaimAck], accepted_qty: str, rejected_qty: str) -> None:
    accepted = [c for c in claims if c.accepted]
    rejected = [c for c in claims if not c.accepted]
    if accepted:
        ts.add("QTY", accepted_qty, str(len(accepted)))
    if rejected:
        ts.add("QTY", rejected_qty, str(len(rejected)))
    if accepted:
        ts.add("AMT", "YU", x12_amount(sum((c.charge for c in accepted), Decimal(0))))
    if rejected:
        ts.add("AMT", "YY", x12_amount(sum((c.charge for c in rejected), Decimal(0))))


def build_277ca(
    providers: list[ProviderAcks],
    *,
    payer_name: str,
    payer_id: str,
    receiver_name: str,
    receiver_id: str,
    batch_reference: str,
    received: date,
    processed: date,
) -> TransactionSet:
    """A 277CA (005010X214) acknowledging each claim of a received 837 batch.

    Information source (payer or clearinghouse) > receiver (the 837's submitter) > billing providers >
    patients, with batch totals (QTY 90/AA, AMT YU/YY) at the receiver and provider levels.
    """
    ts = TransactionSet("277", ACK_IMPLEMENTATION)
    ts.add("BHT", "0085", "08", batch_reference, _d8(processed), "1200", "TH")
    ts.add("HL", "1", None, "20", "1")
    ts.add("NM1", "PR", "2", payer_name, None, None, None, None, "PI", payer_id)
    ts.add("TRN", "1", batch_reference)
    ts.add("DTP", "050", "D8", _d8(received))
    ts.add("DTP", "009", "D8", _d8(processed))
    ts.add("HL", "2", "1", "21", "1")
    ts.add("NM1", "41", "2", receiver_name, None, None, None, None, "46", receiver_id)
    ts.add("TRN", "2", batch_reference)
    every = [c for p in providers for c in p.claims]
    ts.add("STC", Composite(("A1", "19")), _d8(processed), "WQ", x12_amount(sum((c.charge for c in every), Decimal(0))))
    _totals(ts, every, "90", "AA")
    hl = 2
    for p in providers:
        hl += 1
        provider_hl = hl
        ts.add("HL", str(provider_hl), "2", "19", "1")
        ts.add("NM1", "85", "2", p.provider_name, None, None, None, None, "XX", p.provider_npi)
        ts.add("TRN", "1", batch_reference)
        provider_total = sum((c.charge for c in p.claims), Decimal(0))
        ts.add("STC", Composite(("A1", "19")), None, "WQ", x12_amount(provider_total))
        _totals(ts, p.claims, "QA", "QC")
        for c in p.claims:
            hl += 1
            ts.add("HL", str(hl), str(provider_hl), "PT")
            ts.add("NM1", "QC", "1", c.member_last, c.member_first, None, None, None, "MI", c.member_id)
            ts.add("TRN", "2", c.claim_id)
            _ack_stc(ts, c.status, processed, c.charge, not c.accepted)
            if c.accepted and c.payer_claim_control_number:
                ts.add("REF", "1K", c.payer_claim_control_number)
            if c.service_date_end and c.service_date_end != c.service_date:
                ts.add("DTP", "472", "RD8", f"{_d8(c.service_date)}-{_d8(c.service_date_end)}")
            else:
                ts.add("DTP", "472", "D8", _d8(c.service_date))
    return ts


# -- 277 writer (the payer answers 276 inquiries) --------------------------------------------------------
@dataclass
class StatusAnswer:
    """The payer's answer to one 276 inquiry: the inquiry echoed, its claim's status and ids."""

    inquiry: StatusInquiry
    status: Status
    payer_claim_control_number: str | None = None


def build_277(answers: list[StatusAnswer], *, reference: str, created: date) -> TransactionSet:
    """A 277 claim status response (005010X212) from one payer: payer > receiver > provider(s) >
    subscriber (> dependent), each claim's TRN echoing the inquiry's trace, then STC, REF*1K/EJ and the
    dates of service. The inquiries must be from one submitter to one payer (one 276 answered)."""
    if not answers:
        raise ValueError("a 277 answers at least one inquiry")
    first = answers[0].inquiry
    if any((a.inquiry.payer_id, a.inquiry.submitter_id) != (first.payer_id, first.submitter_id) for a in answers):
        raise ValueError("one 277 answers the inquiries of one submitter to one payer")
    ts = TransactionSet("277", REQUEST_IMPLEMENTATION)
    ts.add("BHT", "0010", "08", reference, _d8(created), "1200", "DG")
    ts.add("HL", "1", None, "20", "1")
    ts.add("NM1", "PR", "2", first.payer_name, None, None, None, None, "PI", first.payer_id)
    ts.add("HL", "2", "1", "21", "1")
    ts.add("NM1", "41", "2", first.submitter_name, None, None, None, None, "46", first.submitter_id)
    by_provider: dict[tuple[str, str], list[StatusAnswer]] = {}
    for a in answers:
        by_provider.setdefault((a.inquiry.provider_npi, a.inquiry.provider_name), []).append(a)
    hl = 2
    for (npi, name), items in by_provider.items():
        hl += 1
        provider_hl = hl
        ts.add("HL", str(provider_hl), "2", "19", "1")
        ts.add("NM1", "1P", "2", name, None, None, None, None, "XX", npi)
        for a in items:
            q, s = a.inquiry, a.status
            hl += 1
            ts.add("HL", str(hl), str(provider_hl), "22", "1" if q.patient_last else "0")
            ts.add("NM1", "IL", "1", q.subscriber_last, q.subscriber_first, None, None, None, "MI", q.member_id)
            if q.patient_last:
                hl += 1
                ts.add("HL", str(hl), str(hl - 1), "23")
                ts.add("NM1", "QC", "1", q.patient_last, q.patient_first)
            ts.add("TRN", "2", q.trace_number)
            code = Composite((s.category, s.code, s.entity) if s.entity else (s.category, s.code))
            ts.add(
                "STC",
                code,
                _d8(s.effective_date or created),
                None,
                x12_amount(s.charge if s.charge is not None else q.total_charge),
                x12_amount(s.paid) if s.paid is not None else None,
                None,
                None,
                _d8(s.check_date) if s.check_date else None,
                s.check_number,
            )
            if a.payer_claim_control_number:
                ts.add("REF", "1K", a.payer_claim_control_number)
            ts.add("REF", "EJ", q.claim_id)
            if q.service_date_end and q.service_date_end != q.service_date:
                ts.add("DTP", "472", "RD8", f"{_d8(q.service_date)}-{_d8(q.service_date_end)}")
            else:
                ts.add("DTP", "472", "D8", _d8(q.service_date))
    return ts
