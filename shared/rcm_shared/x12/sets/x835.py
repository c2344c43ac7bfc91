"""835 Health Care Claim Payment/Advice (005010X221A1): a streaming reader to typed models.

``iter_835`` yields a :class:`PaymentHeader` per transaction set, then each :class:`ClaimPayment` as
soon as its loop (2100 + 2110s) ends, then the transaction's :class:`ProviderAdjustment` (PLB) items and
a :class:`PaymentTrailer`. Memory stays bounded by one claim, whatever the file size. Money is Decimal,
dates are dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.reader import Segment, TransactionHeader, X12Reader
from rcm_shared.x12.values import ccyymmdd, located, money, number, req_money

IMPLEMENTATION = "005010X221A1"


@dataclass(slots=True)
class Adjustment:
    group: str  # CO, OA, PI, PR
    reason: str  # CARC
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(slots=True)
class Procedure:
    qualifier: str  # HC (CPT/HCPCS), NU (revenue), ...
    code: str
    modifiers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ServicePayment:
    procedure: Procedure
    charge: Decimal
    paid: Decimal
    revenue_code: str | None = None
    units: Decimal | None = None
    original_procedure: Procedure | None = None  # SVC06: the code as billed, when the payer restated it
    original_units: Decimal | None = None
    service_date: date | None = None
    service_date_end: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    line_control_number: str | None = None  # REF*6R
    references: list[tuple[str, str]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # AMT: B6 allowed, ...
    remarks: list[tuple[str, str]] = field(default_factory=list)  # LQ: (HE, RARC)


@dataclass(slots=True)
class ClaimPayment:
    patient_control_number: str  # CLP01: our claim id as sent in CLM01
    status: str  # CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 19-23 ..., 22 reversal
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    filing_indicator: str
    payer_claim_control_number: str
    facility_type: str | None = None
    frequency: str | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    patient: dict[str, str] = field(default_factory=dict)  # NM1*QC: last, first, id qualifier, id
    insured: dict[str, str] = field(default_factory=dict)  # NM1*IL
    corrected_insured: dict[str, str] = field(default_factory=dict)  # NM1*74
    rendering_provider: dict[str, str] = field(default_factory=dict)  # NM1*82
    dates: dict[str, date] = field(default_factory=dict)  # DTM qualifier -> date (232, 233, 050, 036 ...)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # AMT qualifier -> amount (AU, D8, ...)
    quantities: dict[str, Decimal] = field(default_factory=dict)
    references: list[tuple[str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # MIA/MOA remark codes (RARC)
    services: list[ServicePayment] = field(default_factory=list)
    header_number: str | None = None  # LX01 of the 2000 loop
    transaction: str = ""  # ST02, so items stay traceable in a stream

    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), Decimal(0)) + sum(
            (a.amount for s in self.services for a in s.adjustments), Decimal(0)
        )


@dataclass(slots=True)
class PaymentHeader:
    transaction: str
    handling_code: str  # BPR01: I remittance + payment, H notification only, ...
    total_paid: Decimal  # BPR02
    credit_debit: str  # BPR03
    payment_method: str  # BPR04: ACH, CHK, NON, ...
    payment_date: date | None  # BPR16
    trace_number: str  # TRN02 (EFT trace / check number)
    trace_originator: str  # TRN03
    payer_name: str = ""
    payer_id: str = ""  # N1*PR 04 or REF*2U
    payee_name: str = ""
    payee_id_qualifier: str = ""
    payee_id: str = ""  # N1*PE 04 (NPI with XX)
    production_date: date | None = None  # DTM*405
    interchange: str = ""
    sender_id: str = ""


@dataclass(slots=True)
class ProviderAdjustment:
    transaction: str
    provider_id: str  # PLB01
    fiscal_period_end: date | None  # PLB02
    reason: str  # WO, L6, FB, 72, J1 ...
    reference: str  # the identifier after the reason (often a payer claim control number)
    amount: Decimal  # positive reduces the payment


@dataclass(slots=True)
class PaymentTrailer:
    transaction: str
    claims: int
    segments: int


Item835 = PaymentHeader | ClaimPayment | ProviderAdjustment | PaymentTrailer


def _name(seg: Segment) -> dict[str, str]:
    out = {"last": seg[3], "first": seg[4], "middle": seg[5], "id_qualifier": seg[8], "id": seg[9]}
    return {k: v for k, v in out.items() if v}


def _procedure(header: TransactionHeader, seg: Segment, element: int, component: str) -> Procedure:
    parts = seg[element].split(component)
    if len(parts) < 2 or not parts[1]:
        raise located(header, seg, element, "composite procedure needs a qualifier and a code", "missing")
    return Procedure(parts[0], parts[1], [m for m in parts[2:6] if m])


def _cas(header: TransactionHeader, seg: Segment) -> list[Adjustment]:
    group = seg[1]
    if group not in ("CO", "OA", "PI", "PR", "CR"):
        raise located(header, seg, 1, f"unknown claim adjustment group code {group!r}", "bad_code")
    out = []
    for i in range(2, 20, 3):
        if not seg[i]:
            continue
        out.append(Adjustment(group, seg[i], req_money(header, seg, i + 1), number(header, seg, i + 2)))
    if not out:
        raise located(header, seg, 2, "CAS without a reason code", "missing")
    return out


def iter_835(source: str | Path | bytes | BinaryIO) -> Iterator[Item835]:
    reader = X12Reader(source)
    claim: ClaimPayment | None = None
    service: ServicePayment | None = None
    header: PaymentHeader | None = None
    claims = 0
    in_header_n1 = ""
    lx = None
    plbs: list[ProviderAdjustment] = []
    for th, seg in reader:
        sid = seg.id
        comp = th.interchange.delimiters.component
        if sid == "ST":
            if seg[1] != "835":
                raise located(th, seg, 1, f"transaction set {seg[1]!r} is not an 835", "wrong_set")
            claim, service, header, claims, in_header_n1, lx, plbs = None, None, None, 0, "", None, []
        elif sid == "BPR":
            header = PaymentHeader(
                transaction=th.control_number,
                handling_code=seg[1],
                total_paid=req_money(th, seg, 2),
                credit_debit=seg[3],
                payment_method=seg[4],
                payment_date=ccyymmdd(th, seg, 16),
                trace_number="",
                trace_originator="",
                interchange=th.interchange.control_number,
                sender_id=th.interchange.sender_id,
            )
        elif header is None and sid != "SE":
            raise located(th, seg, 0, "the 835 must start with BPR", "structure")
        elif sid == "TRN" and claim is None:
            assert header is not None
            header.trace_number, header.trace_originator = seg[2], seg[3]
        elif sid == "DTM" and claim is None and seg[1] == "405":
            assert header is not None
            header.production_date = ccyymmdd(th, seg, 2)
        elif sid == "N1" and claim is None:
            assert header is not None
            in_header_n1 = seg[1]
            if seg[1] == "PR":
                header.payer_name, header.payer_id = seg[2], seg[4] or header.payer_id
            elif seg[1] == "PE":
                header.payee_name, header.payee_id_qualifier, header.payee_id = seg[2], seg[3], seg[4]
        elif sid == "REF" and claim is None and in_header_n1 == "PR" and seg[1] == "2U":
            assert header is not None
            header.payer_id = header.payer_id or seg[2]
        elif sid == "LX":
            if claim is not None:
                claims += 1
                yield claim
                claim, service = None, None
            if header is not None and claims == 0 and lx is None:
                yield header
            lx = seg[1]
        elif sid == "CLP":
            if claim is not None:
                claims += 1
                yield claim
            elif lx is None and header is not None and claims == 0:
                yield header  # an 835 without LX
                lx = ""
            service = None
            claim = ClaimPayment(
                patient_control_number=seg[1],
                status=seg[2],
                charge=req_money(th, seg, 3),
                paid=req_money(th, seg, 4),
                patient_responsibility=money(th, seg, 5, required=False),
                filing_indicator=seg[6],
                payer_claim_control_number=seg[7],
                facility_type=seg[8] or None,
                frequency=seg[9] or None,
                header_number=lx,
                transaction=th.control_number,
            )
            if not seg[1]:
                raise located(th, seg, 1, "CLP01 patient control number is missing", "missing")
        elif claim is not None and sid == "SVC":
            service = ServicePayment(
                procedure=_procedure(th, seg, 1, comp),
                charge=req_money(th, seg, 2),
                paid=req_money(th, seg, 3),
                revenue_code=seg[4] or None,
                units=number(th, seg, 5),
                original_procedure=_procedure(th, seg, 6, comp) if seg[6] else None,
                original_units=number(th, seg, 7),
            )
            claim.services.append(service)
        elif claim is not None and sid == "CAS":
            (service.adjustments if service else claim.adjustments).extend(_cas(th, seg))
        elif claim is not None and sid == "NM1" and service is None:
            target = {
                "QC": claim.patient,
                "IL": claim.insured,
                "74": claim.corrected_insured,
                "82": claim.rendering_provider,
            }.get(seg[1])
            if target is not None:
                target.update(_name(seg))
        elif claim is not None and sid in ("MIA", "MOA"):
            idx = (5, 20, 21, 22, 23) if sid == "MIA" else (3, 4, 5, 6, 7)
            claim.remarks.extend(seg[i] for i in idx if seg[i])
        elif claim is not None and sid == "DTM":
            d = ccyymmdd(th, seg, 2)
            if d is None:
                continue
            if service is not None:
                if seg[1] in ("472", "150"):
                    service.service_date = d
                elif seg[1] == "151":
                    service.service_date_end = d
            else:
                claim.dates[seg[1]] = d
        elif claim is not None and sid == "AMT":
            (service.amounts if service else claim.amounts)[seg[1]] = req_money(th, seg, 2)
        elif claim is not None and sid == "QTY" and service is None:
            claim.quantities[seg[1]] = req_money(th, seg, 2)
        elif claim is not None and sid == "REF":
            if service is not None:
                if seg[1] == "6R":
                    service.line_control_number = seg[2]
                service.references.append((seg[1], seg[2]))
            else:
                claim.references.append((seg[1], seg[2]))
        elif claim is not None and sid == "LQ" and service is not None:
            service.remarks.append((seg[1], seg[2]))
        elif sid == "PLB":
            if claim is not None:
                claims += 1
                yield claim
                claim, service = None, None
            plbs.extend(_plb(th, seg, comp))
        elif sid == "SE":
            if claim is not None:
                claims += 1
                yield claim
                claim, service = None, None
            if header is None:
                raise located(th, seg, 0, "the 835 has no BPR", "structure")
            if claims == 0 and lx is None:
                yield header
            yield from plbs
            yield PaymentTrailer(th.control_number, claims, th.segments)


def _plb(th: TransactionHeader, seg: Segment, comp: str) -> list[ProviderAdjustment]:
    out = []
    for i in range(3, 15, 2):
        if not seg[i]:
            continue
        reason, _, reference = seg[i].partition(comp)
        out.append(
            ProviderAdjustment(
                th.control_number, seg[1], ccyymmdd(th, seg, 2), reason, reference, req_money(th, seg, i + 1)
            )
        )
    return out
