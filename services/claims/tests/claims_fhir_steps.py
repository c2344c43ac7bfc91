"""FHIR test data and steps for the claims service: the FHIR Claim of the clean encounter (builders.encounters'
visit, its billing and rendering providers referenced by NPI), the same in a Bundle or a Parameters, the REST
body it equals, and posting it to `Claim/$submit`."""

from __future__ import annotations

import copy
import json
from typing import Any

from builders import T, changed
from builders.encounters import DOS, encounter
from builders.fhir import assert_fhir
from builders.practice import ORG_NPI, PERSON_NPI
from practice_steps import SMITH, enter_practice, profile

FHIR_JSON = {"content-type": "application/fhir+json"}
CPT = "http://www.ama-assn.org/go/cpt"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
PAYER_ID = "https://rcm.example.org/fhir/sid/payer-id"
MRN = "https://rcm.example.org/fhir/sid/mrn"
ACCOUNT = "https://rcm.example.org/fhir/sid/patient-account"
CLAIM_ID = "https://rcm.example.org/fhir/sid/claim-id"
EHR = "https://ehr.example.org/claims"  # the client's own claim numbers


def code(system: str, value: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": value}]}


def _item(n: int, cpt: str, charge: float, pointers: list[int], modifiers: list[str]) -> dict[str, Any]:
    item = {
        "sequence": n,
        "diagnosisSequence": pointers,
        "productOrService": code(CPT, cpt),
        "servicedDate": DOS,
        "locationCodeableConcept": code(POS, "11"),
        "quantity": {"value": 1},
        "net": {"value": charge, "currency": "USD"},
    }
    return item | ({"modifier": [code(CPT, m) for m in modifiers], "careTeamSequence": [1]} if modifiers else {})


CLAIM: dict[str, Any] = {
    "resourceType": "Claim",
    "contained": [
        {
            "resourceType": "Patient",
            "id": "pat",
            "identifier": [{"system": MRN, "value": "MRN-1001"}],
            "name": [{"family": "Doe", "given": ["Jane"]}],
            "gender": "female",
            "birthDate": "1980-02-29",
            "address": [{"line": ["12 Elm St"], "city": "Springfield", "state": "IL", "postalCode": "62704"}],
        },
        {
            "resourceType": "Coverage",
            "id": "cov",
            "status": "active",
            "type": code("https://rcm.example.org/fhir/CodeSystem/claim-filing-indicator", "MB"),
            "subscriberId": "W123456789",
            "beneficiary": {"reference": "#pat"},
            "relationship": code("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"),
            "payor": [{"reference": "#payer"}],
        },
        {
            "resourceType": "Organization",
            "id": "payer",
            "identifier": [{"system": PAYER_ID, "value": "MCRB1"}],
            "name": "Medicare Part B",
        },
        {
            "resourceType": "Organization",
            "id": "clinic",
            "identifier": [{"system": NPI, "value": ORG_NPI}],
            "name": "Valley Family Clinic",
        },
        {
            "resourceType": "Practitioner",
            "id": "smith",
            "identifier": [{"system": NPI, "value": PERSON_NPI}],
            "name": [{"family": "Smith", "given": ["John"]}],
        },
    ],
    "identifier": [{"system": EHR, "value": "V-1001"}],
    "status": "active",
    "type": code("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
    "use": "claim",
    "patient": {"reference": "#pat"},
    "created": DOS,
    "insurer": {"reference": "#payer"},
    "provider": {"reference": "#clinic"},
    "priority": code("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
    "careTeam": [
        {
            "sequence": 1,
            "provider": {"reference": "#smith"},
            "role": code("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary"),
        }
    ],
    "diagnosis": [
        {
            "sequence": 1,
            "diagnosisCodeableConcept": code(ICD, "E11.9"),
            "type": [code("http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "principal")],
        },
        {"sequence": 2, "diagnosisCodeableConcept": code(ICD, "I10")},
    ],
    "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "#cov"}}],
    "item": [_item(1, "99214", 200.0, [1, 2], ["25"]), _item(2, "83036", 45.5, [1], [])],
    "total": {"value": 245.5, "currency": "USD"},
}

# The REST body of the same visit: builders.encounters' clean encounter, its providers referenced by NPI
REST_BODY = encounter(
    billing_provider=...,
    rendering_provider=...,
    billing_provider_npi=ORG_NPI,
    rendering_provider_npi=PERSON_NPI,
)


def fhir_claim(**changes: Any) -> dict[str, Any]:
    """CLAIM with changes: a key like 'item.0.quantity.value' reaches into nested values; ... removes a key."""
    return changed(CLAIM, changes)


def as_bundle(claim: dict[str, Any]) -> dict[str, Any]:
    """The claim and its contained resources as a collection Bundle: the claim first, the others by fullUrl."""
    claim = copy.deepcopy(claim)
    others = claim.pop("contained", [])
    text = json.dumps(claim)
    for r in others:
        text = text.replace(f'"#{r["id"]}"', f'"urn:uuid:{r["id"]}"')
    entries = [{"fullUrl": "urn:uuid:claim", "resource": json.loads(text)}]
    for r in others:
        inner = json.dumps(r)
        for other in others:
            inner = inner.replace(f'"#{other["id"]}"', f'"urn:uuid:{other["id"]}"')
        entries.append({"fullUrl": f"urn:uuid:{r['id']}", "resource": json.loads(inner)})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def as_parameters(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": resource}]}


async def enter_clinic(client: Any, tenant: str = "org-1", **practice: Any) -> None:
    """The tenant's practice profile (the clinic as billing provider) and Dr Smith, whom the claims name by NPI."""
    await enter_practice(client, tenant, practice=profile(**practice), providers=[SMITH])


async def submit_claim(
    client: Any, body: dict[str, Any], headers: dict[str, str] = T, status: int = 200
) -> dict[str, Any]:
    """`Claim/$submit` the body; its answer, validated as FHIR."""
    r = await client.post("/fhir/R4/Claim/$submit", content=json.dumps(body), headers={**headers, **FHIR_JSON})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    return assert_fhir(r.json())


async def read(client: Any, path: str, headers: dict[str, str] = T) -> dict[str, Any]:
    r = await client.get(f"/fhir/R4/{path}", headers=headers)
    assert r.status_code == 200, r.text
    return assert_fhir(r.json())
