"""837 Health Care Claim: Professional (005010X222A1) and Institutional (005010X223A2).

Typed models of one claim with everything needed to send it (billing provider, subscriber, patient,
payer, other payers' adjudication for COB), a writer that groups claims into the HL hierarchy
(2000A billing provider > 2000B subscriber > 2000C patient), and a reader that turns an 837 back into
the same models, so write -> read gives equal models.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Literal

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import Segment, TransactionHeader, X12Reader
from rcm_shared.x12.sets.common import Adjustment, cas_segments
from rcm_shared.x12.values import ccyymmdd, date_range, located, money, number, req_money, x12_amount
from rcm_shared.x12.writer import Composite, TransactionSet

PROFESSIONAL = "005010X222A1"
INSTITUTIONAL = "005010X223A2"
Kind = Literal["P", "I"]


@dataclass
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str | None = None


@dataclass
class Provider:
    """A billing, rendering, attending, referring provider or a service facility."""

    last_or_org: str
    npi: str | None = None
    first: str | None = None
    middle: str | None = None
    is_person: bool = False
    taxonomy: str | None = None
    tax_id: str | None = None  # EIN (REF*EI)
    address: Address | None = None


@dataclass
class Person:
    last: str
    first: str | None = None
    middle: str | None = None
    birth_date: date | None = None
    sex: str | None = None  # F, M, U
    address: Address | None = None
    member_id: str | None = None


@dataclass
class Payer:
    name: str
    payer_id: str
    address: Address | None = None


@dataclass
class LineAdjudication:
    """2430: what another payer did with this line (for secondary claims)."""

    payer_id: str
    paid: Decimal
    procedure_code: str
    units: Decimal
    paid_date: date
    modifiers: list[str] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)


@dataclass
class OtherPayer:
    """2320/2330: another payer on the claim, and its adjudication when it already paid."""

    responsibility: str  # SBR01: P primary, S secondary, T tertiary
    relationship: str  # SBR02: 18 self, 01 spouse, 19 child, G8 other
    filing_indicator: str  # SBR09: CI commercial, MB Medicare B, MC Medicaid, ...
    subscriber: Person
    payer: Payer
    group_number: str | None = None
    paid: Decimal | None = None  # AMT*D
    remaining_patient_liability: Decimal | None = None  # AMT*EAF
    adjustments: list[Adjustment] = field(default_factory=list)  # claim-level CAS
    adjudication_date: date | None = None  # DTP*573 in 2330B


@dataclass
class ServiceLine:
    charge: Decimal
    units: Decimal
    procedure_code: str | None = None  # CPT/HCPCS (HC)
    modifiers: list[str] = field(default_factory=list)
    service_date: date | None = None
    service_date_end: date | None = None
    diagnosis_pointers: list[int] = field(default_factory=list)  # 1-based into the claim's diagnoses
    place_of_service: str | None = None
    revenue_code: str | None = None  # institutional
    unit_basis: str = "UN"
    line_control_number: str | None = None  # REF*6R, echoed in the 835
    adjudications: list[LineAdjudication] = field(default_factory=list)


@dataclass
class Claim:
    kind: Kind
    claim_id: str  # CLM01, the patient control number the 835 echoes in CLP01
    total_charge: Decimal
    facility_code: str  # professional: place of service; institutional: type of bill's first two digits
    frequency: str  # 1 original, 7 replacement, 8 void
    billing_provider: Provider
    subscriber: Person
    payer: Payer
    responsibility: str = "P"  # SBR01 for the payer this claim goes to
    filing_indicator: str = "CI"
    group_number: str | None = None
    patient: Person | None = None  # None: the subscriber is the patient
    patient_relationship: str | None = None  # PAT01 when patient != subscriber
    diagnoses: list[str] = field(default_factory=list)  # ICD-10-CM without dots, principal first
    lines: list[ServiceLine] = field(default_factory=list)
    rendering_provider: Provider | None = None
    referring_provider: Provider | None = None
    attending_provider: Provider | None = None  # institutional
    prior_authorization: str | None = None  # REF*G1
    referral_number: str | None = None  # REF*9F
    payer_claim_control_number: str | None = None  # REF*F8, for frequency 7/8
    other_payers: list[OtherPayer] = field(default_factory=list)
    # institutional
    statement_from: date | None = None
    statement_to: date | None = None
    admission_date: date | None = None
    admission_type: str | None = None  # CL101
    admission_source: str | None = None  # CL102
    patient_status: str | None = None  # CL103
    admitting_diagnosis: str | None = None
    occurrence_codes: list[tuple[str, date]] = field(default_factory=list)  # HI*BH
    value_codes: list[tuple[str, Decimal]] = field(default_factory=list)  # HI*BE

    @property
    def patient_is_subscriber(self) -> bool:
        return self.patient is None


@dataclass
class Submitter:
    name: str
    id: str
    contact_name: str
    phone: str


@dataclass
class Receiver:
    name: str
    id: str


# -- writer ------------------------------------------------------------------------------------------
def _qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def _dtp(ts: TransactionSet, qualifier: str, start: date, end: date | None = None) -> None:
    if end is not None and end != start:
        ts.add("DTP", qualifier, "RD8", f"{_d8(start)}-{_d8(end)}")
    else:
        ts.add("DTP", qualifier, "D8", _d8(start))


def _address(ts: TransactionSet, a: Address | None) -> None:
    if a is None:
        return
    ts.add("N3", a.line1, a.line2)
    ts.add("N4", a.city, a.state, a.postal_code)


def _provider_nm1(ts: TransactionSet, qualifier: str, p: Provider) -> None:
    ts.add(
        "NM1",
        qualifier,
        "1" if p.is_person else "2",
        p.last_or_org,
        p.first if p.is_person else None,
        p.middle if p.is_person else None,
        None,
        None,
        "XX" if p.npi else None,
        p.npi,
    )


def _person_nm1(ts: TransactionSet, qualifier: str, p: Person, with_id: bool) -> None:
    ts.add(
        "NM1",
        qualifier,
        "1",
        p.last,
        p.first,
        p.middle,
        None,
        None,
        "MI" if with_id and p.member_id else None,
        p.member_id if with_id else None,
    )


def _dmg(ts: TransactionSet, p: Person) -> None:
    if p.birth_date is not None:
        ts.add("DMG", "D8", _d8(p.birth_date), p.sex or "U")


def build_837(
    claims: Iterable[Claim],
    *,
    submitter: Submitter,
    receiver: Receiver,
    reference: str,
    created: date,
    kind: Kind = "P",
) -> TransactionSet:
    """One 837 transaction set holding the claims (all of one kind), grouped into HL loops."""
    ts = TransactionSet("837", PROFESSIONAL if kind == "P" else INSTITUTIONAL)
    ts.add("BHT", "0019", "00", reference, _d8(created), "1200", "CH")
    ts.add("NM1", "41", "2", submitter.name, None, None, None, None, "46", submitter.id)
    ts.add("PER", "IC", submitter.contact_name, "TE", submitter.phone)
    ts.add("NM1", "40", "2", receiver.name, None, None, None, None, "46", receiver.id)
    hl = 0
    for c in claims:
        if c.kind != kind:
            raise ValueError(f"claim {c.claim_id} is {c.kind}, this 837 is {kind}")
    groups = _group(claims)
    for by_subscriber in groups:
        first = by_subscriber[0][0]
        hl += 1
        bp_hl = hl
        ts.add("HL", str(bp_hl), None, "20", "1")
        bp = first.billing_provider
        if bp.taxonomy:
            ts.add("PRV", "BI", "PXC", bp.taxonomy)
        _provider_nm1(ts, "85", bp)
        _address(ts, bp.address)
        if bp.tax_id:
            ts.add("REF", "EI", bp.tax_id)
        for subscriber_claims in by_subscriber:
            c0 = subscriber_claims[0]
            hl += 1
            sub_hl = hl
            ts.add("HL", str(sub_hl), str(bp_hl), "22", "0" if c0.patient_is_subscriber else "1")
            ts.add(
                "SBR",
                c0.responsibility,
                "18" if c0.patient_is_subscriber else None,
                c0.group_number,
                None,
                None,
                None,
                None,
                None,
                c0.filing_indicator,
            )
            _person_nm1(ts, "IL", c0.subscriber, with_id=True)
            _address(ts, c0.subscriber.address)  # required when the subscriber is the patient, else allowed
            _dmg(ts, c0.subscriber)
            ts.add("NM1", "PR", "2", c0.payer.name, None, None, None, None, "PI", c0.payer.payer_id)
            _address(ts, c0.payer.address)
            if c0.patient is not None:
                hl += 1
                ts.add("HL", str(hl), str(sub_hl), "23", "0")
                ts.add("PAT", c0.patient_relationship or "19")
                _person_nm1(ts, "QC", c0.patient, with_id=False)
                _address(ts, c0.patient.address)
                _dmg(ts, c0.patient)
            for c in subscriber_claims:
                _claim(ts, c)
    return ts


def _group(claims: Iterable[Claim]) -> list[list[list[Claim]]]:
    """Claims by billing provider, then by subscriber/patient/payer: one 2000A and 2000B/C loop each.

    A cheap key finds the candidates; equality decides, so equal parties in distinct objects share a loop.
    """
    providers: list[tuple[Provider, dict[tuple[object, ...], list[tuple[tuple[object, ...], list[Claim]]]]]] = []
    out: list[list[list[Claim]]] = []
    for c in claims:
        index = next(
            (i for i, (p, _s) in enumerate(providers) if p is c.billing_provider or p == c.billing_provider), -1
        )
        if index < 0:
            providers.append((c.billing_provider, {}))
            out.append([])
            index = len(providers) - 1
        subscribers = providers[index][1]
        full = (
            c.subscriber,
            c.payer,
            c.responsibility,
            c.filing_indicator,
            c.group_number,
            c.patient,
            c.patient_relationship,
        )
        cheap = (c.subscriber.member_id, c.payer.payer_id, c.patient.last if c.patient else None, c.responsibility)
        bucket = subscribers.setdefault(cheap, [])
        for key, members in bucket:
            if key == full:
                members.append(c)
                break
        else:
            members = [c]
            bucket.append((full, members))
            out[index].append(members)
    return out


def _claim(ts: TransactionSet, c: Claim) -> None:
    if not c.lines:
        raise ValueError(f"claim {c.claim_id} has no service lines")
    if c.frequency in ("7", "8") and not c.payer_claim_control_number:
        raise ValueError(f"claim {c.claim_id}: frequency {c.frequency} needs the payer claim control number")
    if c.kind == "P":
        ts.add(
            "CLM",
            c.claim_id,
            x12_amount(c.total_charge),
            None,
            None,
            Composite((c.facility_code, "B", c.frequency)),
            "Y",
            "A",
            "Y",
            "Y",
        )
    else:
        ts.add(
            "CLM",
            c.claim_id,
            x12_amount(c.total_charge),
            None,
            None,
            Composite((c.facility_code, "A", c.frequency)),
            None,
            "A",
            "Y",
            "Y",
        )
        if c.admission_date is not None:
            ts.add("DTP", "435", "D8", _d8(c.admission_date))
        if c.statement_from is None:
            raise ValueError(f"institutional claim {c.claim_id} needs statement dates")
        ts.add("DTP", "434", "RD8", f"{_d8(c.statement_from)}-{_d8(c.statement_to or c.statement_from)}")
        if c.admission_type or c.admission_source or c.patient_status:
            ts.add("CL1", c.admission_type, c.admission_source, c.patient_status)
    if c.referral_number:
        ts.add("REF", "9F", c.referral_number)
    if c.prior_authorization:
        ts.add("REF", "G1", c.prior_authorization)
    if c.payer_claim_control_number:
        ts.add("REF", "F8", c.payer_claim_control_number)
    if not c.diagnoses:
        raise ValueError(f"claim {c.claim_id} has no diagnosis")
    if c.kind == "P":
        codes = [Composite(("ABK", c.diagnoses[0]))] + [Composite(("ABF", d)) for d in c.diagnoses[1:12]]
        ts.add("HI", *codes)
    else:
        ts.add("HI", Composite(("ABK", c.diagnoses[0])))
        if c.admitting_diagnosis:
            ts.add("HI", Composite(("ABJ", c.admitting_diagnosis)))
        if len(c.diagnoses) > 1:
            ts.add("HI", *[Composite(("ABF", d)) for d in c.diagnoses[1:13]])
        if c.occurrence_codes:
            ts.add("HI", *[Composite(("BH", code, "D8", _d8(d))) for code, d in c.occurrence_codes[:12]])
        if c.value_codes:
            ts.add("HI", *[Composite(("BE", code, "", "", x12_amount(v))) for code, v in c.value_codes[:12]])
    if c.kind == "I" and c.attending_provider is not None:
        _provider_nm1(ts, "71", c.attending_provider)
        if c.attending_provider.taxonomy:
            ts.add("PRV", "AT", "PXC", c.attending_provider.taxonomy)
    if c.referring_provider is not None:
        _provider_nm1(ts, "DN", c.referring_provider)
    if c.kind == "P" and c.rendering_provider is not None:
        _provider_nm1(ts, "82", c.rendering_provider)
        if c.rendering_provider.taxonomy:
            ts.add("PRV", "PE", "PXC", c.rendering_provider.taxonomy)
    if c.kind == "I" and c.rendering_provider is not None:
        _provider_nm1(ts, "82", c.rendering_provider)
    for op in c.other_payers:
        ts.add(
            "SBR",
            op.responsibility,
            op.relationship,
            op.group_number,
            None,
            None,
            None,
            None,
            None,
            op.filing_indicator,
        )
        cas_segments(ts, op.adjustments)
        if op.paid is not None:
            ts.add("AMT", "D", x12_amount(op.paid))
        if op.remaining_patient_liability is not None:
            ts.add("AMT", "EAF", x12_amount(op.remaining_patient_liability))
        if c.kind == "P":
            ts.add("OI", None, None, "Y", "P", None, "Y")
        else:
            ts.add("OI", None, None, "Y", None, None, "Y")
        _person_nm1(ts, "IL", op.subscriber, with_id=True)
        _address(ts, op.subscriber.address)
        ts.add("NM1", "PR", "2", op.payer.name, None, None, None, None, "PI", op.payer.payer_id)
        _address(ts, op.payer.address)
        if op.adjudication_date is not None:
            ts.add("DTP", "573", "D8", _d8(op.adjudication_date))
    for n, line in enumerate(c.lines, start=1):
        ts.add("LX", str(n))
        proc = Composite(("HC", line.procedure_code, *line.modifiers)) if line.procedure_code else None
        if c.kind == "P":
            if not line.procedure_code:
                raise ValueError(f"claim {c.claim_id} line {n}: a professional line needs a procedure code")
            pointers = Composite(tuple(str(p) for p in line.diagnosis_pointers[:4]) or ("1",))
            ts.add(
                "SV1",
                proc,
                x12_amount(line.charge),
                line.unit_basis,
                _qty(line.units),
                line.place_of_service,
                None,
                pointers,
            )
        else:
            if not line.revenue_code:
                raise ValueError(f"claim {c.claim_id} line {n}: an institutional line needs a revenue code")
            ts.add("SV2", line.revenue_code, proc, x12_amount(line.charge), line.unit_basis, _qty(line.units))
        if line.service_date is not None:
            _dtp(ts, "472", line.service_date, line.service_date_end)
        elif c.kind == "P":
            raise ValueError(f"claim {c.claim_id} line {n}: a professional line needs a service date")
        if line.line_control_number:
            ts.add("REF", "6R", line.line_control_number)
        for adj in line.adjudications:
            ts.add(
                "SVD",
                adj.payer_id,
                x12_amount(adj.paid),
                Composite(("HC", adj.procedure_code, *adj.modifiers)),
                None,
                _qty(adj.units),
            )
            cas_segments(ts, adj.adjustments)
            ts.add("DTP", "573", "D8", _d8(adj.paid_date))


# -- reader ------------------------------------------------------------------------------------------
@dataclass
class _Ctx:
    kind: Kind = "P"
    billing: Provider | None = None
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
            ctx.billing, ctx.target, ctx.billing_taxonomy = None, "85", None
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
        elif c is not None and q in ("82", "DN", "71"):
            p = _provider(seg)
            if q == "82":
                c.rendering_provider = p
            elif q == "DN":
                c.referring_provider = p
            else:
                c.attending_provider = p
    elif sid == "N3":
        ctx_addr = Address(line1=seg[1], line2=seg[2] or None, city="", state="", postal_code="")
        _set_address(ctx, ctx_addr)
    elif sid == "N4":
        obj = _target(ctx)
        if obj is not None and obj.address is not None:
            obj.address.city, obj.address.state, obj.address.postal_code = seg[1], seg[2], seg[3]
    elif sid == "REF":
        if seg[1] == "EI" and ctx.target == "85" and ctx.billing is not None:
            ctx.billing.tax_id = seg[2]
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


__all__ = [
    "INSTITUTIONAL",
    "PROFESSIONAL",
    "Address",
    "Adjustment",
    "Claim",
    "LineAdjudication",
    "OtherPayer",
    "Payer",
    "Person",
    "Provider",
    "Receiver",
    "ServiceLine",
    "Submitter",
    "X12Error",
    "build_837",
    "read_837",
]
