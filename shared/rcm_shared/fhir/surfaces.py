"""What each service's FHIR API serves: its types, interactions, search parameters and operations. The
routes parse the parameters declared here (`Surface.search_names`), the CapabilityStatement lists them, and
behind the one base (deploy/base/gateway) the front service lists every service's, so the three agree."""

from __future__ import annotations

from rcm_shared.fhir.capability import Operation, ResourceCapability, Surface

_CHECKS = (
    (
        "patient",
        "reference",
        "the Patient (Patient/<patient account>) the request referenced literally (a Bundle "
        "entry's fullUrl); checks with a contained patient, and those made through REST, have none",
    ),
    ("created", "date", "when the check was made (eq, gt, ge, lt, le)"),
    ("status", "token", "every check is active"),
)
ELIGIBILITY = Surface(
    "eligibility",
    "RCM eligibility FHIR API",
    (
        ResourceCapability(
            "CoverageEligibilityRequest",
            interactions=("create", "read", "search-type"),
            search=_CHECKS,
            operations=(
                Operation(
                    "submit",
                    "http://hl7.org/fhir/OperationDefinition/CoverageEligibilityRequest-submit",
                    "the request (or a collection Bundle of it, or Parameters with `resource`) checked now: a 270 to "
                    "the payer; answers the CoverageEligibilityResponse",
                ),
            ),
            documentation="A coverage check: the request it asked, by the check's id. Create and $submit check "
            "coverage now, as POST /v1/eligibility/checks does.",
        ),
        ResourceCapability(
            "CoverageEligibilityResponse",
            search=(*_CHECKS, ("request", "reference", "the CoverageEligibilityRequest answered (the check's id)")),
            documentation="A check's answer: the payer's 271 as normalized, by the check's id.",
        ),
    ),
)

CLAIMS = Surface(
    "claims",
    "RCM claims FHIR API",
    (
        ResourceCapability(
            "Claim",
            search=(
                ("patient", "reference", "the patient account (Patient/<account>)"),
                (
                    "identifier",
                    "token",
                    "an identifier the client gave the claim (system|value), or our claim id "
                    "(https://rcm.example.org/fhir/sid/claim-id)",
                ),
                ("created", "date", "when the claim was entered"),
                ("status", "token", "active, or cancelled (void); the workflow state is the ClaimResponse's outcome"),
            ),
            operations=(
                Operation(
                    "submit",
                    "http://hl7.org/fhir/OperationDefinition/Claim-submit",
                    "a professional claim (its patient, coverage, payer and providers contained, or in a collection "
                    "Bundle after it, or either in a Parameters) entered as POST /v1/claims enters one; answers its "
                    "ClaimResponse",
                ),
            ),
            documentation="one per claim, id = CLM01",
        ),
        ResourceCapability(
            "ClaimResponse",
            search=(
                ("request", "reference", "the claim answered (Claim/<id>)"),
                ("patient", "reference", "the patient account (Patient/<account>)"),
                ("outcome", "token", "queued, complete, error or partial"),
                ("created", "date", "when the claim was entered"),
            ),
            documentation="the claim's current state, id = its claim's",
        ),
        ResourceCapability(
            "Patient",
            search=(
                (
                    "identifier",
                    "token",
                    "the account number (https://rcm.example.org/fhir/sid/patient-account) or an MRN",
                ),
            ),
            documentation="a patient account, id = the account number",
        ),
    ),
)

REMITTANCE = Surface(
    "remittance",
    "RCM remittance: 835 payments as ExplanationOfBenefit and PaymentReconciliation",
    (
        ResourceCapability(
            "ExplanationOfBenefit",
            search=(
                ("claim", "reference", "Claim/<our claim id> (CLP01) the payment is for"),
                ("patient", "reference", "Patient/<patient account>: payments of that patient's claims"),
                ("created", "date", "when the payment was posted"),
                (
                    "status",
                    "token",
                    "active (a standing adjudication) or cancelled (a payer's reversal, or a payment reversed)",
                ),
                (
                    "identifier",
                    "token",
                    "the payer's claim control number (CLP07), system "
                    "https://rcm.example.org/fhir/sid/payer-claim-control-number",
                ),
            ),
            documentation="One per claim payment (CLP) of a posted 835; a reversal and the payment it reverses "
            "are both cancelled. Read-only.",
        ),
        ResourceCapability(
            "PaymentReconciliation",
            search=(
                ("created", "date", "when the 835 was posted"),
                ("status", "token", "active (every posted 835)"),
                (
                    "identifier",
                    "token",
                    "the payment's trace number (TRN02), system https://rcm.example.org/fhir/sid/payment-trace-number",
                ),
                ("payment-issuer", "reference", "the payer: Organization/<payer id> or the payer id"),
            ),
            documentation="One per posted 835 transaction set (id: the remittance id); held, rejected and "
            "superseded 835s posted nothing and are not served. Read-only.",
        ),
    ),
)

SURFACES = (ELIGIBILITY, CLAIMS, REMITTANCE)
PLATFORM = Surface(
    "platform",
    "RCM platform FHIR API (eligibility, claims, remittance behind one base)",
    tuple(r for s in SURFACES for r in s.resources),
)
