"""FHIR checks for the tests: every resource an API answers validates with fhir.resources (the models the
services use) and with fhirkit-rs, which reads R4 4.0.1 itself and checks required primitives too."""

from __future__ import annotations

from typing import Any

import fhirkit
from rcm_shared.fhir import validation_issues


def assert_fhir(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, after both validators found nothing wrong with it (and with each Bundle entry's)."""
    issues = [f"{i.expression}: {i.diagnostics}" for i in validation_issues(resource)]
    issues += [str(i) for i in fhirkit.validate(resource) if i.severity == "error"]
    assert not issues, f"{resource.get('resourceType')} does not validate as FHIR R4: {issues}"
    for entry in resource.get("entry", []) if resource.get("resourceType") == "Bundle" else []:
        assert_fhir(entry["resource"])
    return resource


def outcome_issues(resource: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """An OperationOutcome's issues as (code, diagnostics, expression), after it validates."""
    assert resource["resourceType"] == "OperationOutcome", resource
    assert_fhir(resource)
    return [(i["code"], i.get("diagnostics", ""), i.get("expression", [])) for i in resource["issue"]]
