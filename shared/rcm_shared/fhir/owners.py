"""Which service serves each FHIR resource type: the Ingress routes `/fhir/R4/<Type>` there, SMART
`system/<Type>.*` scopes map onto that service's scopes, and the one base's CapabilityStatement lists them."""

from __future__ import annotations

OWNERS: dict[str, str] = {
    "CoverageEligibilityRequest": "eligibility",
    "CoverageEligibilityResponse": "eligibility",
    "Claim": "claims",
    "ClaimResponse": "claims",
    "Patient": "claims",
    "ExplanationOfBenefit": "remittance",
    "PaymentReconciliation": "remittance",
}

# The open routes of the base (CapabilityStatement, SMART discovery) are answered by this service behind
# the one base: every service can answer them for the whole platform.
FRONT = "claims"
