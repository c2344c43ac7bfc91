"""The code systems and identifier systems the claims service's FHIR resources speak (docs/fhir.md), and the
code maps between FHIR's codes and the 837's."""

from __future__ import annotations

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
PLACE_OF_SERVICE = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
PAYER_ID = "https://rcm.example.org/fhir/sid/payer-id"
CLAIM_ID = "https://rcm.example.org/fhir/sid/claim-id"
MRN = "https://rcm.example.org/fhir/sid/mrn"
ACCOUNT = "https://rcm.example.org/fhir/sid/patient-account"
FACILITY_ID = "https://rcm.example.org/fhir/sid/facility-id"  # a service facility of the practice's master data
TAX_ID = "urn:oid:2.16.840.1.113883.4.4"  # the IRS's EIN
# SBR09, the claim filing indicator (CI commercial, MB Medicare Part B, MC Medicaid, ...) as a Coverage.type
FILING_INDICATOR = "https://rcm.example.org/fhir/CodeSystem/claim-filing-indicator"
SCRUBBER_RULE = "https://rcm.example.org/fhir/CodeSystem/scrubber-rule"
CLAIM_STATE = "https://rcm.example.org/fhir/CodeSystem/claim-state"  # our workflow state, as a meta.tag
X12_999_CODE = "https://rcm.example.org/fhir/CodeSystem/x12-999-error"  # IK5/AK9 codes of a 999 rejection
STATUS_CATEGORY = "https://x12.org/codes/claim-status-category-codes"  # 277CA STC01-1
STATUS_CODE = "https://x12.org/codes/claim-status-codes"  # 277CA STC01-2

CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
CLAIM_USE = "http://hl7.org/fhir/claim-use"
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
CARIN_CARE_TEAM_ROLE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole"
DIAGNOSIS_TYPE = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
PAYEE_TYPE = "http://terminology.hl7.org/CodeSystem/payeetype"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CARIN_ADJUDICATION = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
NOTE_TYPE = "http://hl7.org/fhir/note-type"

# Coverage.relationship (the beneficiary's relationship to the subscriber) as the 837's PAT01 (the patient's
# relationship to the insured) and SBR02 (a later payer's subscriber's); "self" has no PAT01: the subscriber
# is the patient then. "injured" (an injured plaintiff) has no 837 code here: refused.
PAT01 = {"spouse": "01", "child": "19", "common": "53", "parent": "G8", "other": "G8"}
SBR02 = {"self": "18", **PAT01}
# and back (every other 837 code is "other")
RELATIONSHIP_OF = {"01": "spouse", "19": "child", "53": "common", "18": "self"}

GENDER = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
GENDER_OF = {"M": "male", "F": "female", "U": "unknown"}

# careTeam.role codes (claimcareteamrole, CARIN's C4BBClaimCareTeamRole) -> the claim's provider role
CARE_TEAM_ROLES = {
    "primary": "rendering_provider",
    "rendering": "rendering_provider",
    "referring": "referring_provider",
}
