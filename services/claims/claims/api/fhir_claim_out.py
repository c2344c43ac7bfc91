"""A stored claim as a FHIR Claim: its document (the encounter as entered, references resolved) with the
patient, subscriber, coverages, payers, providers and facility contained; in the shape `Claim/$submit`
reads, so that a Claim read here can be sent again. Pure."""

from __future__ import annotations

from typing import Any

from rcm_shared.fhir import concept, instant, money, money_from_cents

from claims.api import fhir_codes as fc
from claims.domain import state as st
from claims.domain.encounter import AddressIn, ClaimCreate, PayerIn, PersonIn, ProviderIn, ServiceLineIn, SubscriberIn
from claims.use_cases.fhir_claims import StoredClaim


def icd10(code: str) -> str:
    """E119 -> E11.9, as ICD-10-CM is written in FHIR."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 and "." not in code else code


def procedure_system(code: str) -> str:
    """CPT codes start with a digit (category II and III codes too); HCPCS Level II ones with a letter."""
    return fc.HCPCS if code[:1].isalpha() else fc.CPT


def address(a: AddressIn, use: str | None = None) -> dict[str, Any]:
    postal = f"{a.postal_code[:5]}-{a.postal_code[5:]}" if len(a.postal_code) == 9 else a.postal_code
    lines = [a.line1, *([a.line2] if a.line2 else [])]
    found = {"line": lines, "city": a.city, "state": a.state, "postalCode": postal}
    return ({"use": use} if use else {}) | found


def human(person: PersonIn, resource_type: str, ident: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Patient or RelatedPerson of the claim's people."""
    given = [g for g in (person.first_name, person.middle_name) if g]
    found: dict[str, Any] = {"resourceType": resource_type, "id": ident, **(extra or {})}
    found["name"] = [{"family": person.last_name} | ({"given": given} if given else {})]
    if person.sex:
        found["gender"] = fc.GENDER_OF[person.sex]
    if person.birth_date:
        found["birthDate"] = person.birth_date.isoformat()
    if person.address:
        found["address"] = [address(person.address, "home")]
    return found


def provider_resource(p: ProviderIn, ident: str) -> dict[str, Any]:
    identifiers = [{"system": fc.NPI, "value": p.npi}]
    if p.tax_id and p.tax_id_type == "EIN":
        identifiers.append({"system": fc.TAX_ID, "value": p.tax_id})
    if p.is_person:
        name = {"family": p.name} | ({"given": [p.first_name]} if p.first_name else {})
        found = {"resourceType": "Practitioner", "id": ident, "identifier": identifiers, "name": [name]}
    else:
        found = {"resourceType": "Organization", "id": ident, "identifier": identifiers, "name": p.name}
    if p.address:
        found["address"] = [address(p.address)]
    return found


def reference_to(p: ProviderIn | None, npi: str | None, kind: str = "Organization") -> dict[str, Any]:
    """A logical reference to a provider by NPI (for resources that do not contain it)."""
    if p is None and npi is None:
        return {"display": "not given"}
    kind = "Practitioner" if p is not None and p.is_person else kind
    found: dict[str, Any] = {"type": kind, "identifier": {"system": fc.NPI, "value": p.npi if p else npi}}
    return found | ({"display": p.name} if p else {})


def payer_reference(payer: PayerIn) -> dict[str, Any]:
    return {
        "type": "Organization",
        "identifier": {"system": fc.PAYER_ID, "value": payer.payer_id},
        "display": payer.name,
    }


class _Contained:
    def __init__(self) -> None:
        self.resources: list[dict[str, Any]] = []

    def add(self, resource: dict[str, Any]) -> dict[str, str]:
        self.resources.append(resource)
        return {"reference": f"#{resource['id']}"}


def _coverage(
    box: _Contained, suffix: str, payer: PayerIn, subscriber: SubscriberIn, relationship: str, patient: dict[str, str]
) -> dict[str, str]:
    """A contained Coverage (with its payer and, when not the patient, its subscriber)."""
    payor = box.add(
        {
            "resourceType": "Organization",
            "id": f"payer{suffix}",
            "identifier": [{"system": fc.PAYER_ID, "value": payer.payer_id}],
            "name": payer.name,
        }
    )
    code = fc.RELATIONSHIP_OF.get(relationship, "other")
    insured = (
        patient
        if code == "self"
        else box.add(human(subscriber, "RelatedPerson", f"subscriber{suffix}", {"patient": patient}))
    )
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": f"coverage{suffix}",
        "status": "active",
        "subscriber": insured,
        "subscriberId": subscriber.member_id,
        "beneficiary": patient,
        "relationship": concept(fc.RELATIONSHIP, code),
        "payor": [payor],
    }
    if payer.filing_indicator:
        coverage["type"] = concept(fc.FILING_INDICATOR, payer.filing_indicator)
    if subscriber.group_number:
        coverage["class"] = [{"type": concept(fc.COVERAGE_CLASS, "group"), "value": subscriber.group_number}]
    return box.add(coverage)


def _item(n: int, line: ServiceLineIn, doc: ClaimCreate, rendering: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {"sequence": n}
    if rendering is not None:
        item["careTeamSequence"] = [rendering]
    pointers = [p for p in line.diagnosis_pointers if 0 < p <= len(doc.diagnoses)]
    if pointers:
        item["diagnosisSequence"] = pointers
    if line.revenue_code:
        item["revenue"] = concept("https://www.nubc.org/CodeSystem/RevenueCodes", line.revenue_code)
    if line.procedure_code:
        item["productOrService"] = concept(procedure_system(line.procedure_code), line.procedure_code)
    else:  # an institutional line billed by its revenue code alone
        item["productOrService"] = concept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-applicable")
    if line.description:
        item["productOrService"]["text"] = line.description
    if line.modifiers:
        item["modifier"] = [concept(procedure_system(m), m) for m in line.modifiers]
    if line.service_date_end and line.service_date_end != line.service_date:
        item["servicedPeriod"] = {"start": line.service_date.isoformat(), "end": line.service_date_end.isoformat()}
    else:
        item["servicedDate"] = line.service_date.isoformat()
    place = line.place_of_service or (doc.facility_code if doc.kind == "professional" else None)
    if place:
        item["locationCodeableConcept"] = concept(fc.PLACE_OF_SERVICE, place)
    units = line.units
    item["quantity"] = {"value": int(units) if units == units.to_integral_value() else float(units)}
    if line.charge is not None:
        item["net"] = money(line.charge)  # dollars (Decimal)
    return item


def claim_resource(found: StoredClaim) -> dict[str, Any]:
    row, doc = found.row, found.document
    box = _Contained()
    account = [{"system": fc.ACCOUNT, "value": row.patient_account}] if row.patient_account else []
    patient = box.add(human(doc.patient_person, "Patient", "patient", {"identifier": account} if account else None))
    relationship = doc.patient.relationship if doc.patient else "18"
    insurance: list[dict[str, Any]] = [
        {"sequence": 1, "focal": True, "coverage": _coverage(box, "", doc.payer, doc.subscriber, relationship, patient)}
    ]
    if doc.prior_authorization:
        insurance[0]["preAuthRef"] = [doc.prior_authorization]
    if doc.secondary_payer is not None:
        second = doc.secondary_payer
        coverage = _coverage(box, "-2", second, second.subscriber, second.relationship, patient)
        insurance.append({"sequence": 2, "focal": False, "coverage": coverage})
    if doc.billing_provider is not None:
        provider = box.add(provider_resource(doc.billing_provider, "billing"))
    else:
        provider = reference_to(None, doc.billing_provider_npi)
    team: list[dict[str, Any]] = []
    rendering: int | None = None
    for role, code, system in (
        ("rendering_provider", "primary", fc.CARE_TEAM_ROLE),
        ("referring_provider", "referring", fc.CARIN_CARE_TEAM_ROLE),
    ):
        person, npi = getattr(doc, role), getattr(doc, f"{role}_npi")
        if person is None and npi is None:
            continue
        member = (
            box.add(provider_resource(person, role.split("_")[0]))
            if person
            else reference_to(None, npi, "Practitioner")
        )
        team.append({"sequence": len(team) + 1, "provider": member, "role": concept(system, code)})
        rendering = len(team) if code == "primary" else rendering
    resource: dict[str, Any] = {
        "resourceType": "Claim",
        "id": row.id,
        "meta": {"lastUpdated": instant(row.updated_at), "tag": [{"system": fc.CLAIM_STATE, "code": row.state}]},
        "contained": box.resources,  # filled below as the references are made
        "identifier": [{"system": s, "value": v} for s, v in found.identifiers]
        + [{"system": fc.CLAIM_ID, "value": row.id}],
        "status": "cancelled" if row.state == st.VOID else "active",
        "type": concept(fc.CLAIM_TYPE, doc.kind),
        "use": "claim",
        "patient": patient,
        "billablePeriod": {"start": doc.service_from.isoformat(), "end": doc.service_to.isoformat()},
        "created": instant(row.created_at),
        "insurer": {"reference": "#payer"},
        "provider": provider,
        "priority": concept(fc.PROCESS_PRIORITY, "normal"),
    }
    if doc.referral_number:
        resource["referral"] = {"identifier": {"value": doc.referral_number}}
    if doc.service_facility is not None:
        f = doc.service_facility
        npi = [{"system": fc.NPI, "value": f.npi}] if f.npi else []
        place: dict[str, Any] = {"resourceType": "Location", "id": "facility", "name": f.name, "identifier": npi}
        place["address"] = address(f.address)
        if doc.facility_id:
            place["identifier"] = [*npi, {"system": fc.FACILITY_ID, "value": doc.facility_id}]
        resource["facility"] = box.add({k: v for k, v in place.items() if v})
    if team:
        resource["careTeam"] = team
    resource["diagnosis"] = [
        {"sequence": n, "diagnosisCodeableConcept": concept(fc.ICD10CM, icd10(code))}
        | ({"type": [concept(fc.DIAGNOSIS_TYPE, "principal")]} if n == 1 else {})
        for n, code in enumerate(doc.diagnoses, 1)
    ]
    resource["insurance"] = insurance
    resource["item"] = [_item(n, line, doc, rendering) for n, line in enumerate(doc.lines, 1)]
    resource["total"] = money_from_cents(row.charge_cents)
    return resource
