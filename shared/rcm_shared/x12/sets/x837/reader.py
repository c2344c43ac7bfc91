"""Reading 837s (P or I) back into the models, one claim at a time: write -> read gives equal models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.reader import Segment, TransactionHeader, X12Reader
from rcm_shared.x12.sets.common import Adjustment
from rcm_shared.x12.sets.x837.model import (
    Address,
    Claim,
    Kind,
    LineAdjudication,
    OtherPayer,
    Payer,
    Person,
    Provider,
    ServiceLine,
)
from rcm_shared.x12.values import ccyymmdd, date_range, located, money, number, req_money


@dataclass
class _Ctx:
    kind: Kind = "P"
    billing: Provider | None = None
    pay_to: Address | None = None  # 2010AB
    subscriber: Person | None = None
    payer: Payer | None = None
    responsibility: str = "P"
    filing: str = "CI"
    group: str | None = None
    patient: Person | None = None
    relationship: str | None = None
    claim: Claim | None = None
    other: OtherPayer | None = None
    line: ServiceLine | None = None
    adjudication: LineAdjudication | None = None
    target: str = ""  # which entity N3/N4/DMG/REF/PRV attach to
    billing_taxonomy: str | None = None  # 2000A PRV comes before the 2010AA NM1


def read_837(source: str | Path | bytes | BinaryIO) -> Iterator[Claim]:
    """Yield each claim of an 837 (P or I) as a :class:`Claim`, one at a time."""
    ctx = _Ctx()
    for th, seg in X12Reader(source):
        sid = seg.id
        if sid == "ST":
            if seg[1] != "837":
                raise located(th, seg, 1, f"transaction set {seg[1]!r} is not an 837", "wrong_set")
            impl = th.implementation
            ctx = _Ctx(kind="I" if impl.startswith("005010X223") else "P")
            continue
        if sid in ("HL", "SE") and ctx.claim is not None:
            yield _finish(ctx)
        if sid == "CLM" and ctx.claim is not None:
            yield _finish(ctx)
        _apply(ctx, th, seg)


def _finish(ctx: _Ctx) -> Claim:
    claim = ctx.claim
    assert claim is not None
    ctx.claim, ctx.other, ctx.line, ctx.adjudication = None, None, None, None
    return claim


def _set_address(ctx: _Ctx, a: Address) -> None:
    obj = _target(ctx)
    if obj is not None:
        obj.address = a


def _target(ctx: _Ctx) -> Provider | Person | Payer | None:
    t = ctx.target
    if t == "85":
        return ctx.billing
    if t == "IL":
        return ctx.other.subscriber if ctx.other else ctx.subscriber
    if t == "PR":
        return ctx.other.payer if ctx.other else ctx.payer
    if t == "QC":
        return ctx.patient
    if ctx.claim is not None:
        return {
            "82": ctx.claim.rendering_provider,
            "DN": ctx.claim.referring_provider,
            "71": ctx.claim.attending_provider,
            "77": ctx.claim.service_facility,
        }.get(t)
    return None


def _provider(seg: Segment) -> Provider:
    person = seg[2] == "1"
    return Provider(
        last_or_org=seg[3],
        npi=seg[9] or None,
        first=(seg[4] or None) if person else None,
        middle=(seg[5] or None) if person else None,
        is_person=person,
    )


def _person(seg: Segment) -> Person:
    return Person(last=seg[3], first=seg[4] or None, middle=seg[5] or None, member_id=seg[9] or None)


def _split(th: TransactionHeader, seg: Segment, element: int) -> list[str]:
    return seg[element].split(th.interchange.delimiters.component)


def _apply(ctx: _Ctx, th: TransactionHeader, seg: Segment) -> None:
    sid = seg.id
    c = ctx.claim
    if sid == "HL":
        level = seg[3]
        if level == "20":
            ctx.billing, ctx.pay_to, ctx.target, ctx.billing_taxonomy = None, None, "85", None
        elif level == "22":
            ctx.subscriber, ctx.payer, ctx.patient, ctx.relationship = None, None, None, None
        elif level == "23":
            ctx.patient = None
        elif level not in ("20", "22", "23"):
            raise located(th, seg, 3, f"unknown hierarchical level {level!r}", "bad_code")
    elif sid == "PRV":
        target = _target(ctx)
        if seg[1] == "BI" and ctx.billing is None:
            ctx.billing_taxonomy = seg[3]
        elif isinstance(target, Provider):
            target.taxonomy = seg[3]
    elif sid == "NM1":
        q = seg[1]
        ctx.target = q
        if q == "85":
            ctx.billing = _provider(seg)
            ctx.billing.taxonomy = ctx.billing_taxonomy
        elif q == "IL":
            if ctx.other is not None:
                ctx.other.subscriber = _person(seg)
            else:
                ctx.subscriber = _person(seg)
        elif q == "PR":
            payer = Payer(name=seg[3], payer_id=seg[9])
            if ctx.other is not None:
                ctx.other.payer = payer
            else:
                ctx.payer = payer
        elif q == "QC":
            patient = _person(seg)
            patient.member_id = None
            ctx.patient = patient
        elif c is not None and q in ("82", "DN", "71", "77"):
            p = _provider(seg)
            if q == "77":
                c.service_facility = p
            elif q == "82":
                c.rendering_provider = p
            elif q == "DN":
                c.referring_provider = p
            else:
                c.attending_provider = p
    elif sid == "N3":
        ctx_addr = Address(line1=seg[1], line2=seg[2] or None, city="", state="", postal_code="")
        if ctx.target == "87" and c is None:
            ctx.pay_to = ctx_addr
        else:
            _set_address(ctx, ctx_addr)
    elif sid == "N4":
        obj = _target(ctx)
        address = ctx.pay_to if ctx.target == "87" and c is None else obj.address if obj is not None else None
        if address is not None:
            address.city, address.state, address.postal_code = seg[1], seg[2], seg[3]
    elif sid == "REF":
        if seg[1] in ("EI", "SY") and ctx.target == "85" and ctx.billing is not None:
            ctx.billing.tax_id, ctx.billing.tax_id_qualifier = seg[2], seg[1]
        elif c is not None and ctx.line is not None and seg[1] == "6R":
            ctx.line.line_control_number = seg[2]
        elif c is not None and seg[1] == "F8":
            c.payer_claim_control_number = seg[2]
        elif c is not None and seg[1] == "G1":
            c.prior_authorization = seg[2]
        elif c is not None and seg[1] == "9F":
            c.referral_number = seg[2]
    elif sid == "SBR":
        if c is None:
            ctx.responsibility, ctx.group, ctx.filing = seg[1], seg[3] or None, seg[9]
        else:
            ctx.other = OtherPayer(
                responsibility=seg[1],
                relationship=seg[2],
                filing_indicator=seg[9],
                subscriber=Person(last=""),
                payer=Payer(name="", payer_id=""),
                group_number=seg[3] or None,
            )
            c.other_payers.append(ctx.other)
            ctx.target = ""
    elif sid == "DMG":
        obj = _target(ctx)
        if isinstance(obj, Person):
            obj.birth_date, obj.sex = ccyymmdd(th, seg, 2), seg[3] or None
    elif sid == "PAT":
        ctx.relationship = seg[1]
    elif sid == "CLM":
        if ctx.billing is None or ctx.subscriber is None or ctx.payer is None:
            raise located(th, seg, 1, "claim outside a billing provider / subscriber / payer hierarchy", "structure")
        parts = _split(th, seg, 5)
        if len(parts) < 3:
            raise located(th, seg, 5, "CLM05 needs facility code, qualifier and frequency", "missing")
        ctx.claim = Claim(
            kind=ctx.kind,
            claim_id=seg[1],
            total_charge=req_money(th, seg, 2),
            facility_code=parts[0],
            frequency=parts[2],
            billing_provider=ctx.billing,
            pay_to=ctx.pay_to,
            subscriber=ctx.subscriber,
            payer=ctx.payer,
            responsibility=ctx.responsibility,
            filing_indicator=ctx.filing,
            group_number=ctx.group,
            patient=ctx.patient,
            patient_relationship=ctx.relationship if ctx.patient is not None else None,
        )
        ctx.other, ctx.line, ctx.adjudication, ctx.target = None, None, None, ""
    elif c is None:
        return
    elif sid == "DTP":
        _claim_dtp(ctx, th, seg)
    elif sid == "CL1":
        c.admission_type, c.admission_source, c.patient_status = seg[1] or None, seg[2] or None, seg[3] or None
    elif sid == "HI":
        for i in range(1, 13):
            if not seg[i]:
                continue
            parts = _split(th, seg, i)
            q = parts[0]
            code = parts[1] if len(parts) > 1 else ""
            if q in ("ABK", "ABF", "BK", "BF"):
                c.diagnoses.append(code)
            elif q == "ABJ":
                c.admitting_diagnosis = code
            elif q == "BH":
                d = ccyymmdd(th, Segment("HI", ["HI", parts[3] if len(parts) > 3 else ""], seg.position), 1)
                if d is None:
                    raise located(th, seg, i, "occurrence code without a date", "missing")
                c.occurrence_codes.append((code, d))
            elif q == "BE":
                amount = parts[4] if len(parts) > 4 else ""
                try:
                    value = Decimal(amount) if amount else Decimal(0)
                except ArithmeticError:
                    raise located(
                        th, seg, i, f"value code amount is not a decimal: {amount[:20]!r}", "not_decimal"
                    ) from None
                c.value_codes.append((code, value))
    elif sid == "CAS":
        adjustments = [
            Adjustment(seg[1], seg[i], req_money(th, seg, i + 1), number(th, seg, i + 2))
            for i in range(2, 20, 3)
            if seg[i]
        ]
        if ctx.adjudication is not None:
            ctx.adjudication.adjustments.extend(adjustments)
        elif ctx.other is not None:
            ctx.other.adjustments.extend(adjustments)
    elif sid == "AMT" and ctx.other is not None and ctx.line is None:
        if seg[1] == "D":
            ctx.other.paid = req_money(th, seg, 2)
        elif seg[1] == "EAF":
            ctx.other.remaining_patient_liability = req_money(th, seg, 2)
    elif sid == "LX":
        ctx.line, ctx.adjudication, ctx.other, ctx.target = None, None, None, ""
    elif sid in ("SV1", "SV2"):
        _service_line(ctx, th, seg)
    elif sid == "SVD" and ctx.line is not None:
        proc = _split(th, seg, 3)
        ctx.adjudication = LineAdjudication(
            payer_id=seg[1],
            paid=req_money(th, seg, 2),
            procedure_code=proc[1] if len(proc) > 1 else "",
            modifiers=[m for m in proc[2:6] if m],
            units=money(th, seg, 5) or Decimal(0),
            paid_date=date.min,
        )
        ctx.line.adjudications.append(ctx.adjudication)


def _service_line(ctx: _Ctx, th: TransactionHeader, seg: Segment) -> None:
    c = ctx.claim
    assert c is not None
    if seg.id == "SV1":
        proc = _split(th, seg, 1)
        pointers = [int(p) for p in _split(th, seg, 7) if p.isdigit()]
        line = ServiceLine(
            charge=req_money(th, seg, 2),
            units=money(th, seg, 4) or Decimal(0),
            unit_basis=seg[3] or "UN",
            procedure_code=proc[1] if len(proc) > 1 else None,
            modifiers=[m for m in proc[2:6] if m],
            place_of_service=seg[5] or None,
            diagnosis_pointers=pointers,
        )
    else:
        proc = _split(th, seg, 2) if seg[2] else []
        line = ServiceLine(
            charge=req_money(th, seg, 3),
            units=money(th, seg, 5) or Decimal(0),
            unit_basis=seg[4] or "UN",
            revenue_code=seg[1],
            procedure_code=proc[1] if len(proc) > 1 else None,
            modifiers=[m for m in proc[2:6] if m],
        )
    c.lines.append(line)
    ctx.line, ctx.adjudication = line, None


def _claim_dtp(ctx: _Ctx, th: TransactionHeader, seg: Segment) -> None:
    c = ctx.claim
    assert c is not None
    q = seg[1]
    start, end = date_range(th, seg)
    if q == "573":
        if ctx.adjudication is not None:
            ctx.adjudication.paid_date = start
        elif ctx.other is not None:
            ctx.other.adjudication_date = start
    elif q == "472" and ctx.line is not None:
        ctx.line.service_date, ctx.line.service_date_end = start, end
    elif q == "434":
        c.statement_from, c.statement_to = start, end or start
    elif q == "435":
        c.admission_date = start
