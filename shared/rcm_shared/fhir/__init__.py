"""FHIR R4 plumbing shared by the services, by capability: OperationOutcome errors (``outcome``), reading and
validating resources (``resources``), Money, Coding and CodeableConcept (``datatypes``), search parameters and
searchset Bundles (``search``), the CapabilityStatement (``capability``) and the open routes of a service's FHIR
base (``web``)."""

from rcm_shared.fhir.body import Body, Found, unwrap
from rcm_shared.fhir.capability import Operation, ResourceCapability, Surface, capability_statement
from rcm_shared.fhir.datatypes import coding, concept, money, money_from_cents
from rcm_shared.fhir.outcome import FhirError, Issue, operation_outcome
from rcm_shared.fhir.resources import (
    FHIR_JSON,
    FHIR_VERSION,
    FhirResponse,
    check_format,
    read_resource,
    validation_issues,
)
from rcm_shared.fhir.search import (
    Cursor,
    DateRange,
    Keyset,
    Search,
    instant,
    paged,
    parse_search,
    reference_id,
    searchset,
    token,
)
from rcm_shared.fhir.web import BASE_PATH, FRONT, fhir_base, install_fhir, is_fhir_path

__all__ = [
    "BASE_PATH",
    "FHIR_JSON",
    "FHIR_VERSION",
    "FRONT",
    "Body",
    "Cursor",
    "DateRange",
    "FhirError",
    "FhirResponse",
    "Found",
    "Issue",
    "Keyset",
    "Operation",
    "ResourceCapability",
    "Search",
    "Surface",
    "capability_statement",
    "check_format",
    "coding",
    "concept",
    "fhir_base",
    "install_fhir",
    "instant",
    "is_fhir_path",
    "money",
    "money_from_cents",
    "operation_outcome",
    "paged",
    "parse_search",
    "read_resource",
    "reference_id",
    "searchset",
    "token",
    "unwrap",
    "validation_issues",
]
