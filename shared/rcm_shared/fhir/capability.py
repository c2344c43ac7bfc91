"""The CapabilityStatement each service answers at `[base]/metadata`, and SMART discovery beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rcm_shared.fhir.resources import FHIR_JSON, FHIR_VERSION

COMMON_SEARCH = (
    ("_count", "number", "page size (at most 100)"),
    ("_lastUpdated", "date", "when the resource last changed (eq, gt, ge, lt, le)"),
)
SEARCH_PARAMETER_BASE = "http://hl7.org/fhir/SearchParameter"


@dataclass(frozen=True)
class Operation:
    name: str  # without the $
    definition: str  # the OperationDefinition's canonical URL
    documentation: str = ""

    def as_fhir(self) -> dict[str, str]:
        found = {"name": self.name, "definition": self.definition}
        return found | ({"documentation": self.documentation} if self.documentation else {})


@dataclass(frozen=True)
class ResourceCapability:
    """What a service does with one resource type: interactions, search parameters (name, type,
    documentation) and operations."""

    type: str
    interactions: Sequence[str] = ("read", "search-type")
    search: Sequence[tuple[str, str, str]] = ()
    operations: Sequence[Operation] = ()
    documentation: str = ""
    profile: str = ""

    def as_fhir(self) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "type": self.type,
            "interaction": [{"code": code} for code in self.interactions],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "referencePolicy": ["literal", "local"],
        }
        if self.profile:
            resource["profile"] = self.profile
        if self.documentation:
            resource["documentation"] = self.documentation
        if "search-type" in self.interactions:
            resource["searchParam"] = [
                {"name": name, "type": kind, "documentation": doc, **_definition(self.type, name)}
                for name, kind, doc in (*self.search, *COMMON_SEARCH)
            ]
        if self.operations:
            resource["operation"] = [op.as_fhir() for op in self.operations]
        return resource


def _definition(kind: str, name: str) -> dict[str, str]:
    if name.startswith("_"):
        return {"definition": f"{SEARCH_PARAMETER_BASE}/Resource{name.replace('_', '-')}"}
    return {"definition": f"{SEARCH_PARAMETER_BASE}/{kind}-{name}"}


@dataclass(frozen=True)
class Surface:
    """A service's FHIR surface: its name for the CapabilityStatement and the resources it owns."""

    service: str
    title: str
    resources: Sequence[ResourceCapability] = field(default_factory=tuple)

    def search_names(self, kind: str) -> list[str]:
        """The search parameters declared for a type (beside the common ones): what its search route parses."""
        (resource,) = (r for r in self.resources if r.type == kind)
        return [name for name, _type, _doc in resource.search]


STARTED = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def capability_statement(surface: Surface, base: str, token_url: str, software_version: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STARTED,
        "publisher": "RCM platform",
        "kind": "instance",
        "name": f"RCM{surface.service.capitalize()}",
        "title": surface.title,
        "software": {"name": f"rcm-{surface.service}", "version": software_version},
        "implementation": {"description": surface.title, "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Errors are OperationOutcomes; searches page by the Bundle's next link.",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ],
                            "text": "OAuth 2.0 client credentials (SMART Backend Services: private_key_jwt)",
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": token_url}],
                        }
                    ],
                },
                "resource": [r.as_fhir() for r in surface.resources],
            }
        ],
    }
