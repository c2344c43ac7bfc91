"""Writing 837s: claims grouped into the HL hierarchy (2000A billing provider > 2000B subscriber > 2000C
patient), each claim with its lines and other payers' adjudication."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from rcm_shared.x12.sets.common import cas_segments, dtp
from rcm_shared.x12.sets.x837.model import (
    INSTITUTIONAL,
    PROFESSIONAL,
    Address,
    Claim,
    Kind,
    Person,
    Provider,
    Receiver,
    Submitter,
)
from rcm_shared.x12.values import d8, x12_amount
from rcm_shared.x12.writer import Composite, TransactionSet


def _qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


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
        ts.add("DMG", "D8", d8(p.birth_date), p.sex or "U")


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
    ts.add("BHT", "0019", "00", reference, d8(created), "1200", "CH")
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
            ts.add("REF", bp.tax_id_qualifier, bp.tax_id)
        if first.pay_to is not None:  # 2010AB: an address only (NM103 is not used)
            ts.add("NM1", "87", "1" if bp.is_person else "2")
            _address(ts, first.pay_to)
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


_Billing = tuple[Provider, Address | None]  # a 2000A loop: the billing provider and its pay-to address


def _group(claims: Iterable[Claim]) -> list[list[list[Claim]]]:
    """Claims by billing provider and pay-to address, then by subscriber/patient/payer: one 2000A and 2000B/C
    loop each.

    A cheap key finds the candidates; equality decides, so equal parties in distinct objects share a loop.
    """
    providers: list[tuple[_Billing, dict[tuple[object, ...], list[tuple[tuple[object, ...], list[Claim]]]]]] = []
    out: list[list[list[Claim]]] = []
    for c in claims:
        billing = (c.billing_provider, c.pay_to)
        index = next(
            (
                i
                for i, ((p, pay_to), _s) in enumerate(providers)
                if (p is c.billing_provider or p == c.billing_provider) and pay_to == c.pay_to
            ),
            -1,
        )
        if index < 0:
            providers.append((billing, {}))
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


def _service_facility(ts: TransactionSet, c: Claim) -> None:
    """2310C (837P) / 2310E (837I): an organization (NM102 2) with its NPI when it has one, and its street
    address, which both guides require."""
    facility = c.service_facility
    assert facility is not None
    if facility.address is None:
        raise ValueError(f"claim {c.claim_id}: the service facility {facility.last_or_org} needs an address")
    ts.add("NM1", "77", "2", facility.last_or_org, None, None, None, None, "XX" if facility.npi else None, facility.npi)
    _address(ts, facility.address)


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
            ts.add("DTP", "435", "D8", d8(c.admission_date))
        if c.statement_from is None:
            raise ValueError(f"institutional claim {c.claim_id} needs statement dates")
        ts.add("DTP", "434", "RD8", f"{d8(c.statement_from)}-{d8(c.statement_to or c.statement_from)}")
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
            ts.add("HI", *[Composite(("BH", code, "D8", d8(d))) for code, d in c.occurrence_codes[:12]])
        if c.value_codes:
            ts.add("HI", *[Composite(("BE", code, "", "", x12_amount(v))) for code, v in c.value_codes[:12]])
    if c.kind == "I" and c.attending_provider is not None:
        _provider_nm1(ts, "71", c.attending_provider)
        if c.attending_provider.taxonomy:
            ts.add("PRV", "AT", "PXC", c.attending_provider.taxonomy)
    # The 2310 loops in the guides' order: 837P referring (A), rendering (B), service facility (C); 837I
    # attending (A), rendering (D), service facility (E), referring (F).
    if c.kind == "P" and c.referring_provider is not None:
        _provider_nm1(ts, "DN", c.referring_provider)
    if c.kind == "P" and c.rendering_provider is not None:
        _provider_nm1(ts, "82", c.rendering_provider)
        if c.rendering_provider.taxonomy:
            ts.add("PRV", "PE", "PXC", c.rendering_provider.taxonomy)
    if c.kind == "I" and c.rendering_provider is not None:
        _provider_nm1(ts, "82", c.rendering_provider)
    if c.service_facility is not None:
        _service_facility(ts, c)
    if c.kind == "I" and c.referring_provider is not None:
        _provider_nm1(ts, "DN", c.referring_provider)
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
            ts.add("DTP", "573", "D8", d8(op.adjudication_date))
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
            dtp(ts, "472", line.service_date, line.service_date_end)
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
            ts.add("DTP", "573", "D8", d8(adj.paid_date))
