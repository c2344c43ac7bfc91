"""One visit of each demo day comes in as a hospital's EHR sends it over FHIR R4: a Claim, its patient, coverage,
payer and providers contained, to the claims service's `Claim/$submit`; after the payer's 835 the demo reads
the visit's ClaimResponse and ExplanationOfBenefit back over FHIR, as the EHR would."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from rcm_cli.demo_clinic import Encounter, Practice
from rcm_cli.demo_practice import PROFILE_BACKDATE

if TYPE_CHECKING:
    from rcm_cli.demo import Demo

CPT = "http://www.ama-assn.org/go/cpt"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
PAYER_ID = "https://rcm.example.org/fhir/sid/payer-id"
FILING = "https://rcm.example.org/fhir/CodeSystem/claim-filing-indicator"
VISITS = "https://ehr.example.org/visits"  # the EHR's own visit numbers: the claim's identifier
GENDER = {"F": "female", "M": "male", "U": "unknown"}


def _code(system: str, value: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": value}]}


def fhir_visit(encounters: list[Encounter]) -> Encounter | None:
    """The visit the EHR sends over FHIR: the first clean one billed to one payer whose chart no other
    encounter of the day shares (a duplicate entry repeats another's)."""
    for e in encounters:
        shared = any(o is not e and o.document is e.document for o in encounters)
        if e.scenario == "clean" and not shared and "secondary_payer" not in e.document:
            return e
    return None


def fhir_claim(e: Encounter, day: date) -> dict[str, Any]:
    """The encounter as a FHIR R4 Claim with its resources contained."""
    doc = e.document
    sub, payer, doctor = doc["subscriber"], doc["payer"], doc["rendering_provider"]
    address = sub["address"]
    patient = {
        "resourceType": "Patient",
        "id": "patient",
        "name": [{"family": sub["last_name"], "given": [sub["first_name"]]}],
        "gender": GENDER[sub["sex"]],
        "birthDate": sub["birth_date"],
        "address": [
            {
                "line": [address["line1"]],
                "city": address["city"],
                "state": address["state"],
                "postalCode": address["postal_code"],
            }
        ],
    }
    coverage = {
        "resourceType": "Coverage",
        "id": "coverage",
        "status": "active",
        "subscriberId": sub["member_id"],
        "beneficiary": {"reference": "#patient"},
        "relationship": _code("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"),
        "payor": [{"reference": "#payer"}],
    }
    if payer.get("filing_indicator"):
        coverage["type"] = _code(FILING, payer["filing_indicator"])
    insurance: dict[str, Any] = {"sequence": 1, "focal": True, "coverage": {"reference": "#coverage"}}
    if doc.get("prior_authorization"):
        insurance["preAuthRef"] = [doc["prior_authorization"]]
    items = [
        {
            "sequence": n,
            "diagnosisSequence": line["diagnosis_pointers"],
            "productOrService": _code(CPT, line["procedure_code"]),
            "servicedDate": line["service_date"],
            "locationCodeableConcept": _code(POS, doc["facility_code"]),
            "quantity": {"value": float(line["units"])},
            "net": {"value": float(line["charge"]), "currency": "USD"},
        }
        for n, line in enumerate(doc["lines"], start=1)
    ]
    return {
        "resourceType": "Claim",
        "contained": [
            patient,
            coverage,
            {
                "resourceType": "Organization",
                "id": "payer",
                "identifier": [{"system": PAYER_ID, "value": payer["payer_id"]}],
                "name": payer["name"],
            },
            {
                "resourceType": "Organization",
                "id": "clinic",
                "identifier": [{"system": NPI, "value": doc["billing_provider_npi"]}],
            },
            {
                "resourceType": "Practitioner",
                "id": "doctor",
                "identifier": [{"system": NPI, "value": doctor["npi"]}],
                "name": [{"family": doctor["name"], "given": [doctor["first_name"]]}],
            },
        ],
        "identifier": [{"system": VISITS, "value": f"{day.isoformat()}-{e.number}"}],
        "status": "active",
        "type": _code("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
        "use": "claim",
        "patient": {"reference": "#patient"},
        "created": day.isoformat(),
        "insurer": {"reference": "#payer"},
        "provider": {"reference": "#clinic"},
        "priority": _code("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "careTeam": [
            {
                "sequence": 1,
                "provider": {"reference": "#doctor"},
                "role": _code("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary"),
            }
        ],
        "diagnosis": [
            {"sequence": n, "diagnosisCodeableConcept": _code(ICD, dx)}
            | (
                {"type": [_code("http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "principal")]}
                if n == 1
                else {}
            )
            for n, dx in enumerate(doc["diagnoses"], start=1)
        ],
        "insurance": [insurance],
        "item": items,
        "total": {"value": float(sum(float(line["charge"]) for line in doc["lines"])), "currency": "USD"},
    }


async def submit_fhir_visit(demo: Demo, practice: Practice, e: Encounter, day: date) -> str:
    """`Claim/$submit` the visit; the claim's id. The EHR names its doctor by NPI, so the practice's master data
    holds the doctor (registered once, from the profile's first day)."""
    doctor = e.document["rendering_provider"]
    known = await demo.call(
        "GET", "claims", f"/v1/providers/{doctor['npi']}", params={"on": day.isoformat()}, missing_ok=True
    )
    if known is None:
        body = {k: doctor[k] for k in ("npi", "name", "first_name", "taxonomy") if doctor.get(k)}
        await demo.call(
            "POST", "claims", "/v1/providers", json=body | {"effective_from": (day - PROFILE_BACKDATE).isoformat()}
        )
    answer = await demo.call("POST", "claims", "/fhir/R4/Claim/$submit", json=fhir_claim(e, day))
    claim_id = answer["request"]["reference"].removeprefix("Claim/")
    demo.say(
        f"  FHIR: visit {e.number} of {practice.name} sent as Claim/$submit -> claim {claim_id} ({answer['outcome']})"
    )
    return str(claim_id)


async def read_fhir_visit(demo: Demo, claim_id: str) -> dict[str, Any]:
    """The visit's ClaimResponse and ExplanationOfBenefits as the EHR reads them after the 835."""
    response = await demo.call("GET", "claims", f"/fhir/R4/ClaimResponse/{claim_id}")
    eobs = await demo.call("GET", "remittance", "/fhir/R4/ExplanationOfBenefit", params={"claim": f"Claim/{claim_id}"})
    paid = sum(
        e["resource"]["payment"]["amount"]["value"]
        for e in eobs.get("entry", [])
        if e["resource"].get("status") == "active" and "payment" in e["resource"]
    )
    demo.say(
        f"  FHIR: claim {claim_id}: ClaimResponse {response['outcome']}, "
        f"{len(eobs.get('entry', []))} ExplanationOfBenefit(s), {paid:,.2f} paid"
    )
    return {"claim_id": claim_id, "claim_response": response, "eob_bundle": eobs}
