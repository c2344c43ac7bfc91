"""X12 documents out: the claim document as an 837 claim, the 837 batch of a payer and claim type, the 276
status inquiry, and the interchange that carries them under the envelope of a clearinghouse connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rcm_shared.x12.sets import x837
from rcm_shared.x12.sets.x276 import StatusInquiry, build_276
from rcm_shared.x12.writer import MemoryControlNumbers, TransactionSet, writer_for

from claims.config import ClaimsSettings
from claims.domain.encounter import AddressIn, ClaimCreate, FacilityIn, PersonIn, ProviderIn


def _address(a: AddressIn | None) -> x837.Address | None:
    return x837.Address(a.line1, a.city, a.state, a.postal_code, a.line2) if a else None


def _provider(p: ProviderIn | None) -> x837.Provider | None:
    if p is None:
        return None
    return x837.Provider(
        last_or_org=p.name.upper(),
        npi=p.npi,
        first=p.first_name.upper() if p.first_name else None,
        is_person=p.is_person,
        taxonomy=p.taxonomy,
        tax_id=p.tax_id,
        tax_id_qualifier="SY" if p.tax_id_type == "SSN" else "EI",
        address=_address(p.address),
    )


def _same_place(a: x837.Address | None, b: x837.Address | None) -> bool:
    def key(x: x837.Address) -> tuple[str, ...]:
        return tuple(
            " ".join((v or "").upper().split()) for v in (x.line1, x.line2, x.city, x.state, x.postal_code[:5])
        )

    return a is not None and b is not None and key(a) == key(b)


def _facility(f: FacilityIn | None, billing: x837.Provider) -> x837.Provider | None:
    """The service facility loop (2310C/2310E) the guides require when the services were rendered elsewhere
    than at the billing provider's address: none when the facility is at that address."""
    if f is None:
        return None
    facility = x837.Provider(last_or_org=f.name.upper(), npi=f.npi, address=_address(f.address))
    return None if _same_place(facility.address, billing.address) else facility


def _person(p: PersonIn, member_id: str | None = None) -> x837.Person:
    return x837.Person(
        last=p.last_name.upper(),
        first=p.first_name.upper() if p.first_name else None,
        middle=p.middle_name.upper() if p.middle_name else None,
        birth_date=p.birth_date,
        sex=p.sex,
        address=_address(p.address),
        member_id=member_id,
    )


DEFAULT_FILING_INDICATOR = "CI"  # commercial insurance: SBR09 when neither the claim nor an enrollment says


def to_837(
    doc: ClaimCreate,
    *,
    claim_id: str,
    frequency: str,
    payer_claim_control_number: str | None,
    payer_id: str | None = None,
) -> x837.Claim:
    """The claim as an 837 claim; ``payer_id`` names the payer in 2010BB when the clearinghouse knows it by
    another id than the claim's (the practice's payer enrollment for the connection used)."""
    kind: x837.Kind = "P" if doc.kind == "professional" else "I"
    lines = []
    for n, line in enumerate(doc.lines, start=1):
        adjudications = [
            x837.LineAdjudication(
                payer_id=prior.payer_id,
                paid=paid.paid,
                procedure_code=line.procedure_code or "",
                units=line.units,
                paid_date=paid.paid_date,
                modifiers=list(line.modifiers),
                adjustments=[x837.Adjustment(a.group, a.reason, a.amount) for a in paid.adjustments],
            )
            for prior, paid in zip(doc.prior_payers, line.prior_payments, strict=False)
        ]
        lines.append(
            x837.ServiceLine(
                charge=line.amount,
                units=line.units,
                procedure_code=line.procedure_code,
                modifiers=list(line.modifiers),
                service_date=line.service_date,
                service_date_end=line.service_date_end,
                diagnosis_pointers=list(line.diagnosis_pointers),
                place_of_service=line.place_of_service,
                revenue_code=line.revenue_code,
                line_control_number=f"{claim_id}-{n}",
                adjudications=adjudications,
            )
        )
    billing = _provider(doc.billing_provider)
    if billing is None:
        raise ValueError(f"claim {claim_id} has no billing provider")
    pay_to = _address(doc.pay_to)  # 2010AB only when payments go elsewhere than the billing address
    if doc.facility_code is None:
        raise ValueError(f"claim {claim_id} has no facility code (place of service or type of bill)")
    return x837.Claim(
        kind=kind,
        claim_id=claim_id,
        total_charge=sum((ln.charge for ln in lines), Decimal(0)),
        facility_code=doc.facility_code,
        frequency=frequency,
        billing_provider=billing,
        pay_to=None if _same_place(pay_to, billing.address) else pay_to,
        subscriber=_person(doc.subscriber, doc.subscriber.member_id),
        payer=x837.Payer(doc.payer.name.upper(), payer_id or doc.payer.payer_id),
        responsibility=doc.payer.responsibility,
        filing_indicator=doc.payer.filing_indicator or DEFAULT_FILING_INDICATOR,
        group_number=doc.subscriber.group_number,
        patient=_person(doc.patient) if doc.patient else None,
        patient_relationship=doc.patient.relationship if doc.patient else None,
        diagnoses=list(doc.diagnoses),
        lines=lines,
        rendering_provider=_provider(doc.rendering_provider),
        referring_provider=_provider(doc.referring_provider),
        attending_provider=_provider(doc.attending_provider),
        service_facility=_facility(doc.service_facility, billing),
        prior_authorization=doc.prior_authorization,
        referral_number=doc.referral_number,
        payer_claim_control_number=payer_claim_control_number,
        other_payers=[
            x837.OtherPayer(
                responsibility=p.responsibility,
                relationship=p.relationship,
                filing_indicator=p.filing_indicator or DEFAULT_FILING_INDICATOR,
                subscriber=x837.Person(
                    p.subscriber.last_name.upper(),
                    p.subscriber.first_name.upper() if p.subscriber.first_name else None,
                    member_id=p.subscriber.member_id,
                ),
                payer=x837.Payer(p.name.upper(), p.payer_id),
                paid=p.paid,
                remaining_patient_liability=p.remaining_patient_liability,
                adjustments=[x837.Adjustment(a.group, a.reason, a.amount) for a in p.adjustments],
                adjudication_date=p.paid_date,
            )
            for p in doc.prior_payers
        ],
        statement_from=doc.statement_from,
        statement_to=doc.statement_to,
        admission_date=doc.admission_date,
        admission_type=doc.admission_type,
        admission_source=doc.admission_source,
        patient_status=doc.patient_status,
        admitting_diagnosis=doc.admitting_diagnosis,
        occurrence_codes=list(doc.occurrence_codes),
        value_codes=list(doc.value_codes),
    )


@dataclass(frozen=True)
class Envelope:
    """Who our interchanges are from and to: the submitter (ISA06, GS02, the 837's 1000A and the 276's 2100B)
    and the receiver (ISA08, GS03, the 837's 1000B) of one clearinghouse connection."""

    submitter_id: str
    submitter_name: str
    contact_name: str
    phone: str
    receiver_id: str
    receiver_name: str
    usage: str  # ISA15: T test, P production
    connection: str | None = None  # the practice's name of the connection; None: the deployment's own


def settings_envelope(settings: ClaimsSettings) -> Envelope:
    """The deployment's own connection (CLAIMS_SUBMITTER_*, CLAIMS_RECEIVER_*)."""
    return Envelope(
        settings.submitter_id,
        settings.submitter_name,
        settings.submitter_contact,
        settings.submitter_phone,
        settings.receiver_id,
        settings.receiver_name,
        settings.usage_indicator,
    )


def batch_837(claims: list[x837.Claim], envelope: Envelope, reference: str, created: date, kind: str) -> TransactionSet:
    """One 837 of claims of one payer and kind (P or I); ValueError/TypeError when a claim cannot be written."""
    return x837.build_837(
        claims,
        submitter=x837.Submitter(envelope.submitter_name, envelope.submitter_id, envelope.contact_name, envelope.phone),
        receiver=x837.Receiver(envelope.receiver_name, envelope.receiver_id),
        reference=reference,
        created=created,
        kind="P" if kind == "P" else "I",
    )


def inquiry_276(
    doc: ClaimCreate,
    envelope: Envelope,
    *,
    claim_id: str,
    trace_number: str,
    payer_claim_control_number: str | None,
    reference: str,
    created: date,
    payer_id: str | None = None,
) -> TransactionSet:
    """A 276 claim status inquiry about one claim (``payer_id``: as for ``to_837``)."""
    patient = doc.patient
    if doc.billing_provider is None:
        raise ValueError(f"claim {claim_id} has no billing provider")
    inquiry = StatusInquiry(
        payer_name=doc.payer.name.upper(),
        payer_id=payer_id or doc.payer.payer_id,
        submitter_name=envelope.submitter_name,
        submitter_id=envelope.submitter_id,
        provider_name=doc.billing_provider.name.upper(),
        provider_npi=doc.billing_provider.npi,
        subscriber_last=doc.subscriber.last_name.upper(),
        subscriber_first=doc.subscriber.first_name.upper() if doc.subscriber.first_name else None,
        member_id=doc.subscriber.member_id,
        trace_number=trace_number,
        claim_id=claim_id,
        total_charge=doc.total_charge,
        service_date=doc.service_from,
        service_date_end=doc.service_to if doc.service_to != doc.service_from else None,
        payer_claim_control_number=payer_claim_control_number,
        subscriber_birth_date=None if patient else doc.subscriber.birth_date,
        subscriber_sex=None if patient else doc.subscriber.sex,
        patient_last=patient.last_name.upper() if patient else None,
        patient_first=patient.first_name.upper() if patient and patient.first_name else None,
        patient_birth_date=patient.birth_date if patient else None,
        patient_sex=patient.sex if patient else None,
    )
    return build_276([inquiry], reference=reference, created=created)


def interchange(ts: TransactionSet, envelope: Envelope, controls: tuple[int, int, int]) -> tuple[str, str]:
    """The interchange carrying ``ts`` under the control numbers drawn (ISA, GS, first ST): its text and the
    transaction set's control number (ST02). A claim batch (837) asks for a 999, a status inquiry (276) not."""
    isa, gs, st_number = controls
    writer = writer_for(
        ts,
        sender=envelope.submitter_id,
        receiver=envelope.receiver_id,
        numbers=MemoryControlNumbers({"ISA": isa - 1, "GS": gs - 1, "ST": st_number - 1}),
        usage=envelope.usage,
        ack_requested=ts.set_id == "837",
    )
    return writer.render([ts]), writer.st_controls[0]
