"""A posted operation body read the one way every service reads it (rcm_shared.fhir.body): its focus alone, in a
collection Bundle or in a Parameters' `resource`; references resolved to contained resources, Bundle entries or
themselves (logical), each resource known by where it sits; a body that is not self-consistent a 400 naming the
element, a reference the operation cannot take a 422. Pure."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rcm_shared.fhir import Body, FhirError, Found, unwrap

NPI = "http://hl7.org/fhir/sid/us-npi"
PATIENT = {"resourceType": "Patient", "id": "pat", "name": [{"family": "Doe"}]}
CLINIC = {"resourceType": "Organization", "id": "clinic", "identifier": [{"system": NPI, "value": "1679576722"}]}
COVERAGE = {"resourceType": "Coverage", "id": "cov", "beneficiary": {"reference": "#pat"}}
CLAIM = {
    "resourceType": "Claim",
    "contained": [PATIENT, COVERAGE, CLINIC],
    "patient": {"reference": "#pat"},
    "provider": {"reference": "#clinic"},
}


def bundle(*entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": u, "resource": r} for u, r in entries],
    }


def parameters(*params: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(params)}


def refusal(call: Any) -> tuple[int, list[tuple[str, str | None]]]:
    with pytest.raises(FhirError) as caught:
        call()
    return caught.value.status, [(i.code, i.expression) for i in caught.value.issues]


def claim_bundle(patient_url: str = "urn:uuid:p1", reference: str = "urn:uuid:p1") -> dict[str, Any]:
    claim = {"resourceType": "Claim", "patient": {"reference": reference}}
    return bundle(("urn:uuid:c1", claim), (patient_url, PATIENT), ("urn:uuid:o1", CLINIC))


# the body's focus, where it sits


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (CLAIM, "Claim"),
        (bundle(("urn:uuid:c1", CLAIM)), "Bundle.entry[0].resource"),
        (parameters({"name": "resource", "resource": CLAIM}), "Parameters.parameter[0].resource"),
        (
            parameters({"name": "resource", "resource": bundle(("urn:uuid:c1", CLAIM))}),
            "Parameters.parameter[0].resource.entry[0].resource",
        ),
    ],
    ids=["alone", "bundle", "parameters", "parameters-bundle"],
)
def test_the_focus_is_read_alone_first_in_a_collection_bundle_or_in_the_resource_parameter(
    body: dict[str, Any], path: str
) -> None:
    found = unwrap(copy.deepcopy(body), "Claim").focus
    assert (found.type, found.path, found.logical) == ("Claim", path, False)
    assert found.get("patient") == {"reference": "#pat"}


def test_a_bundle_entry_keeps_its_full_url_and_the_focus_is_one_of_the_entries() -> None:
    body = unwrap(claim_bundle(), "Claim")
    assert body.focus.url == "urn:uuid:c1"
    assert [(e.url, e.path) for e in body.entries] == [
        ("urn:uuid:c1", "Bundle.entry[0].resource"),
        ("urn:uuid:p1", "Bundle.entry[1].resource"),
        ("urn:uuid:o1", "Bundle.entry[2].resource"),
    ]


def test_every_parameter_but_resource_is_refused_each_named_not_dropped() -> None:
    body = parameters(
        {"name": "timeout", "valueInteger": 5},
        {"name": "resource", "resource": CLAIM},
        {"name": "mode", "valueCode": "x"},
    )
    assert refusal(lambda: unwrap(body, "Claim")) == (
        400,
        [("not-supported", "Parameters.parameter[0].name"), ("not-supported", "Parameters.parameter[2].name")],
    )


@pytest.mark.parametrize(
    ("body", "issue"),
    [
        (parameters(), ("required", "Parameters.parameter")),
        (
            parameters({"name": "resource", "resource": CLAIM}, {"name": "resource", "resource": CLAIM}),
            ("invalid", "Parameters.parameter[1]"),
        ),
        (parameters({"name": "resource", "valueString": "x"}), ("required", "Parameters.parameter[0].resource")),
        (parameters({"name": "resource", "resource": PATIENT}), ("invalid", "Parameters.parameter[0].resource")),
        (
            parameters({"name": "resource", "resource": parameters({"name": "resource", "resource": CLAIM})}),
            ("invalid", "Parameters.parameter[0].resource"),
        ),
        (PATIENT, ("invalid", "resourceType")),
        ({**bundle(("urn:uuid:c1", CLAIM)), "type": "transaction"}, ("not-supported", "Bundle.type")),
        (bundle(), ("required", "Bundle.entry")),
        (bundle(("urn:uuid:p1", PATIENT), ("urn:uuid:c1", CLAIM)), ("invalid", "Bundle.entry[0].resource")),
        ({**bundle(), "entry": [{"fullUrl": "urn:uuid:c1"}]}, ("invalid", "Bundle.entry[0].resource")),
    ],
    ids=[
        "no-parameter",
        "two-resources",
        "a-value",
        "another-type",
        "parameters-in-parameters",
        "another-type-alone",
        "transaction-bundle",
        "empty-bundle",
        "focus-not-first",
        "first-entry-empty",
    ],
)
def test_a_body_that_is_not_what_the_operation_takes_is_a_400_naming_the_element(
    body: dict[str, Any], issue: tuple[str, str]
) -> None:
    assert refusal(lambda: unwrap(body, "Claim")) == (400, [issue])


# references


def test_contained_references_resolve_in_the_container_of_the_resource_holding_them() -> None:
    body = unwrap(CLAIM, "Claim")
    claim = body.focus
    coverage = body.resolve({"reference": "#cov"}, "Claim.insurance[0].coverage", claim, ("Coverage",))
    assert (coverage.path, coverage.container) == ("Claim.contained[1]", claim)
    # the contained Coverage's `#pat` is its container's (the Claim's) contained Patient
    patient = body.resolve(coverage.get("beneficiary"), coverage.at("beneficiary"), coverage, ("Patient",))
    assert patient.path == "Claim.contained[0]" and patient.get("id") == "pat"
    assert body.resolve({"reference": "#"}, "Claim.contained[1].x", coverage, ("Claim",)) == claim


def test_a_bundle_entry_resolves_its_contained_references_among_its_own() -> None:
    own = {**PATIENT, "name": [{"family": "Own"}]}
    coverage = {**COVERAGE, "contained": [own]}
    body = unwrap(bundle(("urn:uuid:c1", CLAIM), ("urn:uuid:v1", coverage)), "Claim")
    entry = body.resolve({"reference": "urn:uuid:v1"}, "Claim.insurance[0].coverage", body.focus, ("Coverage",))
    patient = body.resolve({"reference": "#pat"}, entry.at("beneficiary"), entry, ("Patient",))
    assert patient.path == "Bundle.entry[1].resource.contained[0]" and patient.get("name") == [{"family": "Own"}]


@pytest.mark.parametrize(
    ("patient_url", "reference"),
    [
        ("urn:uuid:p1", "urn:uuid:p1"),
        ("https://ehr.example.org/fhir/Patient/p1", "https://ehr.example.org/fhir/Patient/p1"),
        ("https://ehr.example.org/fhir/Patient/p1", "Patient/p1"),
        ("Patient/p1", "Patient/p1"),
    ],
    ids=["urn", "absolute", "relative", "relative-full-url"],
)
def test_a_bundle_entry_is_named_by_its_full_url_or_type_and_id_at_its_end(patient_url: str, reference: str) -> None:
    body = unwrap(claim_bundle(patient_url, reference), "Claim")
    found = body.resolve(body.focus.get("patient"), "Bundle.entry[0].resource.patient", body.focus, ("Patient",))
    assert (found.path, found.url) == ("Bundle.entry[1].resource", patient_url)


@pytest.mark.parametrize(
    ("body", "reference"),
    [
        (CLAIM, "#nobody"),
        (CLAIM, "Patient/pat"),  # a resource on a server, not in the body
        (claim_bundle(), "urn:uuid:p2"),
        (claim_bundle("urn:uuid:p1"), "Patient/p1"),  # Type/id matches the end of a RESTful fullUrl only
        (claim_bundle("https://ehr.example.org/fhir/Patient/p1"), "https://other.example.org/fhir/Patient/p1"),
        (claim_bundle(), "#pat"),  # the Patient entry is not contained in the Claim
    ],
    ids=["contained", "rest", "urn", "type-id-against-urn", "other-server", "entry-as-contained"],
)
def test_a_reference_naming_nothing_the_body_holds_is_a_400_naming_it(body: dict[str, Any], reference: str) -> None:
    posted = unwrap(body, "Claim")
    at = f"{posted.focus.path}.patient"
    assert refusal(lambda: posted.resolve({"reference": reference}, at, posted.focus, ("Patient",))) == (
        400,
        [("invalid", f"{at}.reference")],
    )


def test_a_reference_naming_two_resources_is_a_400() -> None:
    body = claim_bundle("https://a.example.org/Patient/p1", "Patient/p1")
    body["entry"].append({"fullUrl": "https://b.example.org/Patient/p1", "resource": PATIENT})
    posted = unwrap(body, "Claim")
    ref = posted.focus.get("patient")
    assert refusal(lambda: posted.resolve(ref, "Claim.patient", posted.focus, ("Patient",)))[0] == 400
    twice = {**CLAIM, "contained": [PATIENT, PATIENT]}
    found = unwrap(twice, "Claim")
    refused = refusal(lambda: found.resolve({"reference": "#pat"}, "Claim.patient", found.focus, ("Patient",)))
    assert refused == (400, [("invalid", "Claim.patient.reference")])


@pytest.mark.parametrize(
    ("ref", "types", "resource"),
    [
        (
            {"identifier": {"system": NPI, "value": "1"}},
            ("Organization", "Practitioner"),
            {"resourceType": "Organization", "identifier": [{"system": NPI, "value": "1"}]},
        ),
        (
            {"type": "Practitioner", "identifier": {"system": NPI, "value": "1"}, "display": "Dr Who"},
            ("Organization", "Practitioner"),
            {"resourceType": "Practitioner", "identifier": [{"system": NPI, "value": "1"}], "name": "Dr Who"},
        ),
        (
            {"type": "http://hl7.org/fhir/StructureDefinition/Organization", "display": "Acme"},
            ("Organization",),
            {"resourceType": "Organization", "name": "Acme"},
        ),
    ],
    ids=["identifier", "typed-with-display", "canonical-type-display-only"],
)
def test_a_reference_without_a_reference_stands_for_itself(
    ref: dict[str, Any], types: tuple[str, ...], resource: dict[str, Any]
) -> None:
    body = unwrap(CLAIM, "Claim")
    found = body.resolve(ref, "Claim.provider", body.focus, types)
    assert (found.resource, found.path, found.logical) == (resource, "Claim.provider", True)


def test_a_logical_reference_names_its_own_elements() -> None:
    found = Found({"resourceType": "Organization"}, "Claim.provider", logical=True)
    assert found.at("identifier[0].value") == "Claim.provider.identifier.value"
    assert found.at("identifier") == "Claim.provider.identifier"
    assert found.at("name") == "Claim.provider.display"
    assert found.at("birthDate") == "Claim.provider"  # a Reference has none: the Reference itself
    assert Found({}, "Claim.contained[0]").at("name[0].family") == "Claim.contained[0].name[0].family"


@pytest.mark.parametrize(
    ("ref", "issue"),
    [
        (None, ("required", "Claim.provider")),
        ({}, ("required", "Claim.provider")),
        ({"extension": [{"url": "urn:x", "valueBoolean": True}]}, ("required", "Claim.provider")),
        ({"reference": "#pat"}, ("invalid", "Claim.provider")),
        ({"type": "Patient", "identifier": {"value": "1"}}, ("invalid", "Claim.provider")),
    ],
    ids=["none", "empty", "extension-only", "contained-of-another-type", "logical-of-another-type"],
)
def test_a_reference_absent_or_to_another_type_is_a_422_naming_it(ref: Any, issue: tuple[str, str]) -> None:
    body = unwrap(CLAIM, "Claim")
    assert refusal(lambda: body.resolve(ref, "Claim.provider", body.focus, ("Organization", "Practitioner"))) == (
        422,
        [issue],
    )


@pytest.mark.parametrize("modifier", ["modifierExtension", "implicitRules"])
def test_a_referenced_resource_with_a_modifier_is_refused_naming_it(modifier: str) -> None:
    """A modifier may change what the resource means: read blind, it would be misread."""
    value: Any = [{"url": "urn:x", "valueBoolean": True}] if modifier == "modifierExtension" else "urn:rules"
    claim = copy.deepcopy(CLAIM)
    claim["contained"][2][modifier] = value
    body = unwrap(claim, "Claim")
    assert refusal(lambda: body.resolve(claim["provider"], "Claim.provider", body.focus, ("Organization",))) == (
        422,
        [("not-supported", f"Claim.contained[2].{modifier}")],
    )


def test_the_body_is_read_not_changed() -> None:
    body = claim_bundle("https://ehr.example.org/fhir/Patient/p1", "Patient/p1")
    before = copy.deepcopy(body)
    posted: Body = unwrap(body, "Claim")
    posted.resolve(posted.focus.get("patient"), "Claim.patient", posted.focus, ("Patient",))
    posted.resolve({"identifier": {"value": "1"}}, "Claim.provider", posted.focus, ("Organization",))
    assert body == before
