"""A posted FHIR Claim read into charge entry's command (claims.api.fhir_claim_in): the same command the REST
API takes for the same visit, whether the Claim comes with its resources contained, in a Bundle or in a
Parameters; what would change the bill and cannot be carried refused, naming its element. Pure."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from claims.api.fhir_claim_in import read_submission
from claims.domain.encounter import ClaimCreate
from claims_fhir_steps import (
    CLAIM,
    CLAIM_ID,
    CPT,
    EHR,
    ICD,
    MRN,
    NPI,
    REST_BODY,
    as_bundle,
    as_parameters,
    code,
    fhir_claim,
)
from rcm_shared.fhir import FhirError

RELATION = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"


def read(body: dict[str, Any]) -> tuple[Any, ...]:
    """What a submission reads into, but where its total sits."""
    found = read_submission(body)
    return found.claim, found.identifiers, found.patient_identifiers, found.total_cents


def refused(body: dict[str, Any]) -> tuple[int, str, list[str]]:
    with pytest.raises(FhirError) as caught:
        read_submission(body)
    issue = caught.value.issues[0]
    return caught.value.status, issue.code, [issue.expression] if issue.expression else []


def test_the_fhir_claim_reads_into_the_command_the_rest_api_takes_for_the_same_visit() -> None:
    read = read_submission(copy.deepcopy(CLAIM))
    assert read.claim == ClaimCreate.model_validate(REST_BODY)
    assert read.claim.model_dump(mode="json") == ClaimCreate.model_validate(REST_BODY).model_dump(mode="json")
    assert read.identifiers == ((EHR, "V-1001"),) and read.patient_identifiers == ((MRN, "MRN-1001"),)
    assert read.total_cents == 24550 and read.total_at == "Claim.total"


@pytest.mark.parametrize(
    "wrap", [as_bundle, as_parameters, lambda c: as_parameters(as_bundle(c))], ids=["bundle", "parameters", "both"]
)
def test_a_bundle_or_parameters_reads_as_the_contained_claim(wrap: Any) -> None:
    assert read(wrap(copy.deepcopy(CLAIM))) == read(copy.deepcopy(CLAIM))


def test_a_dependent_a_secondary_payer_a_prior_authorization_a_referral_and_a_facility() -> None:
    spouse = {
        "resourceType": "RelatedPerson",
        "id": "john",
        "patient": {"reference": "#pat"},
        "name": [{"family": "Doe", "given": ["John", "Q"]}],
        "gender": "male",
        "birthDate": "1978-05-01",
    }
    second = {
        "resourceType": "Coverage",
        "id": "cov2",
        "status": "active",
        "subscriberId": "MG77",
        "beneficiary": {"reference": "#pat"},
        "relationship": code(RELATION, "self"),
        "payor": [
            {
                "identifier": {"system": "https://rcm.example.org/fhir/sid/payer-id", "value": "MGAP1"},
                "display": "MEDIGAP",
            }
        ],
    }
    place = {
        "resourceType": "Location",
        "id": "north",
        "name": "Valley North Clinic",
        "identifier": [{"system": NPI, "value": "1245319599"}],
        "address": {"line": ["200 North Ave"], "city": "Springfield", "state": "IL", "postalCode": "62702-1111"},
    }
    claim = fhir_claim(
        **{
            "contained.1.relationship": code(RELATION, "spouse"),
            "contained.1.subscriber": {"reference": "#john"},
            "contained.1.class": [
                {"type": code("http://terminology.hl7.org/CodeSystem/coverage-class", "group"), "value": "G-7"}
            ],
            "insurance": [
                {"sequence": 2, "focal": False, "coverage": {"reference": "#cov2"}},
                {"sequence": 1, "focal": True, "coverage": {"reference": "#cov"}, "preAuthRef": ["PA-55"]},
            ],
            "referral": {"identifier": {"value": "REF-9"}},
            "facility": {"reference": "#north"},
        }
    )
    claim["contained"] += [spouse, second, place]
    doc = read_submission(claim).claim
    assert (doc.subscriber.last_name, doc.subscriber.first_name, doc.subscriber.middle_name) == ("Doe", "John", "Q")
    assert (doc.subscriber.member_id, doc.subscriber.group_number) == ("W123456789", "G-7")
    assert doc.patient is not None and (doc.patient.first_name, doc.patient.relationship) == ("Jane", "01")
    assert doc.secondary_payer is not None
    assert (doc.secondary_payer.payer_id, doc.secondary_payer.name, doc.secondary_payer.relationship) == (
        "MGAP1",
        "MEDIGAP",
        "18",
    )
    assert doc.secondary_payer.subscriber.first_name == "Jane" and doc.secondary_payer.subscriber.member_id == "MG77"
    assert (doc.prior_authorization, doc.referral_number) == ("PA-55", "REF-9")
    assert doc.service_facility is not None and doc.service_facility.npi == "1245319599"
    assert doc.service_facility.address.postal_code == "627021111"


def test_lines_priced_by_unit_price_or_by_the_charge_master_and_placed_apart() -> None:
    claim = fhir_claim(
        **{
            "item.0.net": ...,
            "item.0.unitPrice": {"value": 100.0, "currency": "USD"},
            "item.0.quantity": {"value": 2},
            "item.1.net": ...,
            "item.1.locationCodeableConcept": code(
                "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set", "22"
            ),
            "item.1.diagnosisSequence": [2, 1],
            "diagnosis.0.type": ...,
            "diagnosis.1.type": [code("http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "principal")],
            "total": ...,
        }
    )
    doc = read_submission(claim).claim
    first, second = doc.lines
    assert (first.charge, first.units, second.charge) == (200, 2, None)  # the charge master prices the second
    assert doc.diagnoses == ["I10", "E119"]  # the principal first; the pointers follow it
    assert (first.diagnosis_pointers, second.diagnosis_pointers) == ([2, 1], [1, 2])
    assert (doc.facility_code, first.place_of_service, second.place_of_service) == ("11", None, "22")


NO_FOCAL = {"insurance.0.focal": False}
FOCAL_SECOND = {"sequence": 2, "focal": True, "coverage": {"reference": "#cov"}}
SECOND_FIRST = {"sequence": 1, "focal": False, "coverage": {"reference": "#cov"}}  # a payer before the focal one
DX3 = {"item.1.diagnosisSequence": [3]}


@pytest.mark.parametrize(
    ("changes", "expression", "code"),
    [
        (NO_FOCAL, "Claim.insurance", "required"),
        ({"insurance": [FOCAL_SECOND, SECOND_FIRST]}, "Claim.insurance[0].focal", "not-supported"),
        ({"contained.0.gender": "x"}, "Claim.contained[0].gender", "invalid"),
        (
            {"contained.1.modifierExtension": [{"url": "urn:x", "valueBoolean": True}]},
            "Claim.contained[1].modifierExtension",
            "not-supported",
        ),
        ({"modifierExtension": [{"url": "urn:x", "valueBoolean": True}]}, "Claim.modifierExtension", "not-supported"),
        (
            {"item.0.productOrService": code("http://snomed.info/sct", "185349003")},
            "Claim.item[0].productOrService",
            "not-supported",
        ),
        (DX3, "Claim.item[1].diagnosisSequence[0]", "invalid"),
        ({"use": "preauthorization"}, "Claim.use", "not-supported"),
        (
            {"type": code("http://terminology.hl7.org/CodeSystem/claim-type", "institutional")},
            "Claim.type",
            "not-supported",
        ),
        ({"status": "draft"}, "Claim.status", "invalid"),
        ({"accident": {"date": "2026-01-01"}}, "Claim.accident", "not-supported"),
        ({"supportingInfo": [{"sequence": 1, "category": code("x", "y")}]}, "Claim.supportingInfo", "not-supported"),
        (
            {"item.0.revenue": code("https://www.nubc.org/CodeSystem/RevenueCodes", "0450")},
            "Claim.item[0].revenue",
            "not-supported",
        ),
        ({"item.0.modifier": [code("http://snomed.info/sct", "1")]}, "Claim.item[0].modifier[0]", "not-supported"),
        ({"item.0.unitPrice": {"value": 150.0, "currency": "USD"}}, "Claim.item[0].net", "invalid"),
        ({"item.0.net": {"value": 200.0, "currency": "EUR"}}, "Claim.item[0].net.currency", "not-supported"),
        ({"item.0.net": {"value": 200.001, "currency": "USD"}}, "Claim.item[0].net.value", "invalid"),
        ({"provider": {"reference": "#pat"}}, "Claim.provider", "invalid"),
        ({"contained.3.identifier": []}, "Claim.contained[3].identifier", "required"),
        ({"contained.2.identifier": [{"system": "urn:x", "value": "1"}]}, "Claim.contained[2].identifier", "required"),
        ({"contained.1.status": "cancelled"}, "Claim.contained[1].status", "invalid"),
        ({"contained.1.relationship": code(RELATION, "spouse")}, "Claim.contained[1].subscriber", "required"),
        ({"contained.1.subscriberId": "W" * 81}, "Claim.contained[1].subscriberId", "invalid"),
        (
            {
                "contained.0.address": [
                    {"line": ["1 A St"], "city": "Springfield", "state": "Illinois", "postalCode": "62704"}
                ]
            },
            "Claim.contained[0].address[0].state",
            "invalid",
        ),
        ({"contained.0.name": [{"given": ["Jane"]}]}, "Claim.contained[0].name[0].family", "invalid"),
        (
            {"careTeam.0.role": code("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "assist")},
            "Claim.careTeam[0].role",
            "not-supported",
        ),
        ({"item.0.careTeamSequence": [2]}, "Claim.item[0].careTeamSequence[0]", "not-supported"),
        ({"identifier": [{"system": CLAIM_ID, "value": "C1"}]}, "Claim.identifier[0].system", "not-supported"),
        ({"identifier": [{"value": "V-1"}]}, "Claim.identifier[0]", "required"),
        (
            {"diagnosis.0.diagnosisCodeableConcept": code("http://snomed.info/sct", "44054006")},
            "Claim.diagnosis[0].diagnosisCodeableConcept",
            "not-supported",
        ),
        ({"item.0.servicedDate": ...}, "Claim.item[0].serviced[x]", "required"),
        (
            {"payee": {"type": code("http://terminology.hl7.org/CodeSystem/payeetype", "subscriber")}},
            "Claim.payee.type",
            "not-supported",
        ),
        ({"related": [{"relationship": code("x", "prior")}]}, "Claim.related", "not-supported"),
        (
            {"insurer": {"identifier": {"system": "https://rcm.example.org/fhir/sid/payer-id", "value": "OTHER"}}},
            "Claim.insurer",
            "invalid",
        ),
    ],
)
def test_what_charge_entry_cannot_take_is_refused_naming_its_element(
    changes: dict[str, Any], expression: str, code: str
) -> None:
    assert refused(fhir_claim(**changes)) == (422, code, [expression])


def test_the_element_is_named_where_it_sits_in_a_bundle_or_parameters() -> None:
    assert refused(as_bundle(fhir_claim(**DX3)))[2] == ["Bundle.entry[0].resource.item[1].diagnosisSequence[0]"]
    assert refused(as_parameters(fhir_claim(**DX3)))[2] == [
        "Parameters.parameter[0].resource.item[1].diagnosisSequence[0]"
    ]
    long_member = as_bundle(fhir_claim(**{"contained.1.subscriberId": "W" * 81}))
    assert refused(long_member)[2] == ["Bundle.entry[2].resource.subscriberId"]


def test_a_body_that_is_not_what_submit_takes_or_not_self_consistent_is_a_400() -> None:
    """A Bundle of another type, a Claim not first, a parameter other than `resource`, a reference naming nothing
    the body holds: the body is malformed, a 400 as eligibility's `$submit` answers it (rcm_shared.fhir.body),
    where charge entry used to answer 422 (what it refuses of a well-formed claim)."""
    assert refused({**as_bundle(CLAIM), "type": "transaction"}) == (400, "not-supported", ["Bundle.type"])
    bundle = as_bundle(CLAIM)
    bundle["entry"].reverse()
    assert refused(bundle) == (400, "invalid", ["Bundle.entry[0].resource"])
    assert refused({"resourceType": "Parameters", "parameter": [{"name": "claim", "resource": CLAIM}]}) == (
        400,
        "not-supported",
        ["Parameters.parameter[0].name"],
    )
    unresolved = as_bundle(CLAIM)
    del unresolved["entry"][4]  # the clinic
    assert refused(unresolved) == (400, "invalid", ["Bundle.entry[0].resource.provider.reference"])
    assert refused(fhir_claim(provider={"reference": "#nobody"})) == (400, "invalid", ["Claim.provider.reference"])


def test_relative_references_resolve_against_the_bundle_entries() -> None:
    bundle = as_bundle(CLAIM)
    text = json.dumps(bundle)
    for entry in bundle["entry"]:
        kind, ident = entry["resource"]["resourceType"], entry["fullUrl"].removeprefix("urn:uuid:")
        text = text.replace(
            f'"fullUrl": "urn:uuid:{ident}"', f'"fullUrl": "https://ehr.example.org/fhir/{kind}/{ident}"'
        )
        text = text.replace(f'"urn:uuid:{ident}"', f'"{kind}/{ident}"')
    assert read(json.loads(text)) == read(copy.deepcopy(CLAIM))


def test_procedure_codes_are_cpt_or_hcpcs() -> None:
    hcpcs = fhir_claim(
        **{"item.1.productOrService": code("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "G0439")}
    )
    assert read_submission(hcpcs).claim.lines[1].procedure_code == "G0439"
    assert (
        read_submission(fhir_claim(**{"item.1.productOrService": code(CPT, "83036")})).claim.lines[1].procedure_code
        == "83036"
    )
    assert read_submission(
        fhir_claim(**{"diagnosis.1.diagnosisCodeableConcept": code(ICD, "i10")})
    ).claim.diagnoses == [
        "E119",
        "I10",
    ]
