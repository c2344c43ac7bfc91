"""CoverageEligibilityRequests as FHIR clients post them (contained resources, a collection Bundle, Parameters),
asking what `builders.x271.request_body` asks the REST check; and posting them."""

from __future__ import annotations

import copy
from typing import Any

from builders import T

FHIR = {**T, "content-type": "application/fhir+json"}
NPI = "http://hl7.org/fhir/sid/us-npi"
PAYER_ID = "https://rcm.example.org/fhir/sid/payer-id"
SERVICE_TYPES = "https://x12.org/codes/service-type-codes"
SERVICE_DATE = "2026-11-30"  # request_body's date of service
OURS = "http://test/fhir/R4"  # the FHIR base the test client reaches
EHR = "http://clinic.example/fhir/R4"  # another server's base


def patient(ident: str = "pat", family: str = "Doe", given: str = "Jane", born: str = "1980-02-29") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": ident,
        "name": [{"family": family, "given": [given]}],
        "gender": "female",
        "birthDate": born,
    }


def payer(ident: str = "payer", payer_id: str = "ACME01") -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": ident,
        "identifier": [{"system": PAYER_ID, "value": payer_id}],
        "name": "Acme",
    }


def clinic(ident: str = "clinic", npi: str = "1679576722") -> dict[str, Any]:
    """request_body's provider: the clinic (an organization)."""
    return {
        "resourceType": "Organization",
        "id": ident,
        "identifier": [{"system": NPI, "value": npi}],
        "name": "Valley Family Clinic",
    }


def practitioner(ident: str = "doc", npi: str = "1679576722") -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": ident,
        "identifier": [{"system": NPI, "value": npi}],
        "name": [{"family": "Valley", "given": ["Vera"]}],
    }


def coverage(member: str, beneficiary: str, payor: str, ident: str = "cov") -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "id": ident,
        "status": "active",
        "subscriberId": member,
        "beneficiary": {"reference": beneficiary},
        "relationship": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self"}]
        },
        "payor": [{"reference": payor}],
    }


def items(*codes: str) -> list[dict[str, Any]]:
    return [{"category": {"coding": [{"system": SERVICE_TYPES, "code": code}]}} for code in codes]


def contained_request(member: str = "W123456789") -> dict[str, Any]:
    """What request_body(member) asks, with the patient, coverage, payer and provider contained."""
    return {
        "resourceType": "CoverageEligibilityRequest",
        "contained": [patient(), coverage(member, "#pat", "#payer"), payer(), clinic()],
        "status": "active",
        "purpose": ["benefits"],
        "patient": {"reference": "#pat"},
        "servicedDate": SERVICE_DATE,
        "created": "2026-11-29T10:00:00Z",
        "provider": {"reference": "#clinic"},
        "insurer": {"reference": "#payer"},
        "insurance": [{"focal": True, "coverage": {"reference": "#cov"}}],
        "item": items("98", "30"),
    }


def bundle_request(member: str, account: str, *, dependent: bool = False, base: str = OURS) -> dict[str, Any]:
    """The request and its resources as Bundle entries; the patient at Patient/<account> of ``base`` (ours by
    default: one of the claims service's patient accounts). ``dependent``: the patient is the subscriber's
    child, the subscriber another entry."""
    request = contained_request(member)
    request.pop("contained")
    request |= {
        "patient": {"reference": f"Patient/{account}"},
        "provider": {"reference": "urn:uuid:doc"},
        "insurer": {"reference": "urn:uuid:payer"},
        "insurance": [{"coverage": {"reference": "urn:uuid:cov"}}],
    }
    cov = coverage(member, f"Patient/{account}", "urn:uuid:payer")
    resources = [
        ("urn:uuid:req", request),
        (f"{base}/Patient/{account}", patient(account, given="Jim", born="2015-06-01")),
        ("urn:uuid:cov", cov),
        ("urn:uuid:payer", payer()),
        ("urn:uuid:doc", practitioner()),
    ]
    if dependent:
        cov["relationship"]["coding"][0]["code"] = "child"
        cov["subscriber"] = {"reference": "urn:uuid:sub"}
        resources.append(("urn:uuid:sub", patient("sub")))
    else:
        resources[1] = (resources[1][0], patient(account))
    entries = [{"fullUrl": url, "resource": resource} for url, resource in resources]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def parameters(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": resource}]}


def changed(request: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """A copy of ``request`` with the element at ``path`` set (``...`` as the value: removed)."""
    found = copy.deepcopy(request)
    holder = found
    for step in path[:-1]:
        holder = holder[step]
    if value is ...:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    return found


async def post(client: Any, body: dict[str, Any], path: str = "", **headers: str) -> Any:
    return await client.post(f"/fhir/R4/CoverageEligibilityRequest{path}", json=body, headers={**FHIR, **headers})


async def answered(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The CoverageEligibilityResponse of a request submitted (`$submit`)."""
    r = await post(client, body, "/$submit")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found
