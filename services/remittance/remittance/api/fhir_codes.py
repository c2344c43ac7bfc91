"""The code systems, identifier systems and X12 code meanings the remittance FHIR resources use, and the
small pieces every resource is made of (money, the payer and payee references)."""

from __future__ import annotations

import re
from typing import Any

# -- code systems -------------------------------------------------------------------------------------
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
NDC = "http://hl7.org/fhir/sid/ndc"
CDT = "http://www.ada.org/cdt"
REVENUE = "https://www.nubc.org/CodeSystem/RevenueCodes"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
RARC = "https://x12.org/codes/remittance-advice-remark-codes"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
C4BB_ADJUDICATION = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
C4BB_IDENTIFIER_TYPE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
EOB_PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/payment-type"
RELATED_CLAIM = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
# Ours: X12 code lists HL7 publishes no system for.
CAS_GROUP = "https://rcm.example.org/fhir/CodeSystem/claim-adjustment-group"
CAS_GROUP_EXTENSION = "https://rcm.example.org/fhir/StructureDefinition/claim-adjustment-group"
OUR_ADJUDICATION = "https://rcm.example.org/fhir/CodeSystem/adjudication"  # remark: an RARC on the claim or line
PLB_REASON = "https://rcm.example.org/fhir/CodeSystem/provider-adjustment-reason"

# -- identifier systems -------------------------------------------------------------------------------
NPI = "http://hl7.org/fhir/sid/us-npi"
TAX_ID = "urn:oid:2.16.840.1.113883.4.4"  # US EIN / TIN
PAYER_ID = "https://rcm.example.org/fhir/sid/payer-id"
CLAIM_ID = "https://rcm.example.org/fhir/sid/claim-id"
PAYER_CLAIM_NUMBER = "https://rcm.example.org/fhir/sid/payer-claim-control-number"  # CLP07
TRACE_NUMBER = "https://rcm.example.org/fhir/sid/payment-trace-number"  # TRN02: the EFT trace or check number
CLAIM_PAYMENT_ID = "https://rcm.example.org/fhir/sid/claim-payment-id"  # our id of one CLP: the EOB's id

# -- X12 code meanings --------------------------------------------------------------------------------
CLAIM_STATUS = {  # CLP02
    "1": "Processed as Primary",
    "2": "Processed as Secondary",
    "3": "Processed as Tertiary",
    "4": "Denied",
    "19": "Processed as Primary, Forwarded to Additional Payer(s)",
    "20": "Processed as Secondary, Forwarded to Additional Payer(s)",
    "21": "Processed as Tertiary, Forwarded to Additional Payer(s)",
    "22": "Reversal of Previous Payment",
    "23": "Not Our Claim, Forwarded to Additional Payer(s)",
    "25": "Predetermination Pricing Only - No Payment",
}
# The claim's adjudication goes on with another payer: this one's is part of it.
PARTIAL_STATUSES = frozenset({"19", "20", "21", "23"})
PREDETERMINATION = "25"
FILING_INDICATOR = {  # CLP06
    "12": "Preferred Provider Organization (PPO)",
    "13": "Point of Service (POS)",
    "14": "Exclusive Provider Organization (EPO)",
    "15": "Indemnity Insurance",
    "16": "Health Maintenance Organization (HMO) Medicare Risk",
    "17": "Dental Maintenance Organization",
    "AM": "Automobile Medical",
    "CH": "Champus",
    "DS": "Disability",
    "HM": "Health Maintenance Organization",
    "LM": "Liability Medical",
    "MA": "Medicare Part A",
    "MB": "Medicare Part B",
    "MC": "Medicaid",
    "OF": "Other Federal Program",
    "TV": "Title V",
    "VA": "Veterans Affairs Plan",
    "WC": "Workers' Compensation Health Claim",
    "ZZ": "Mutually Defined",
}
CAS_GROUPS = {
    "CO": "Contractual Obligations",
    "CR": "Corrections and Reversals",
    "OA": "Other Adjustments",
    "PI": "Payor Initiated Reductions",
    "PR": "Patient Responsibility",
}
PLB_REASONS = {  # PLB03-1, the ones payers send most
    "50": "Late Charge",
    "51": "Interest Penalty Charge",
    "72": "Authorized Return",
    "90": "Early Payment Allowance",
    "AP": "Acceleration of Benefits",
    "B2": "Rebate",
    "B3": "Recovery Allowance",
    "BD": "Bad Debt Adjustment",
    "BN": "Bonus",
    "C5": "Temporary Allowance",
    "CS": "Adjustment",
    "CT": "Capitation Payment",
    "E3": "Withholding",
    "FB": "Forwarding Balance",
    "GO": "Graduate Medical Education Passthru",
    "IP": "Incentive Premium Payment",
    "IR": "Internal Revenue Service Withholding",
    "IS": "Interim Settlement",
    "J1": "Nonreimbursable",
    "L3": "Penalty",
    "L6": "Interest Owed",
    "LE": "Levy",
    "LS": "Lump Sum",
    "OB": "Offset for Affiliated Providers",
    "PI": "Periodic Interim Payment",
    "PL": "Payment Final",
    "RA": "Retro-activity Adjustment",
    "TL": "Third Party Liability",
    "WO": "Overpayment Recovery",
    "WU": "Unspecified Recovery",
}
PLB_ADVANCES = frozenset({"AP", "PI"})  # money paid ahead of claims: FHIR's payment-type "advance"

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def claim_reference(claim_id: str) -> dict[str, Any]:
    """Claim/<our claim id>; a claim id that cannot be a FHIR id is named by its identifier instead."""
    if _FHIR_ID.match(claim_id):
        return {"reference": f"Claim/{claim_id}"}
    return {"identifier": {"system": CLAIM_ID, "value": claim_id}}


def payer(payer_id: str, name: str) -> dict[str, Any]:
    """The payer (an Organization no service here serves): its payer id and name."""
    found: dict[str, Any] = {}
    if payer_id:
        found["identifier"] = {"system": PAYER_ID, "value": payer_id}
    found["display"] = name or payer_id or "payer"
    return found


def payee(payee_id: str, qualifier: str | None, name: str) -> dict[str, Any]:
    """The payee (N1*PE): its NPI (XX) or tax id (FI); an id posted before its qualifier was kept counts as
    an NPI when it has an NPI's ten digits."""
    found: dict[str, Any] = {}
    if payee_id:
        npi = qualifier == "XX" or (qualifier is None and len(payee_id) == 10 and payee_id.isdigit())
        system = NPI if npi else TAX_ID if qualifier == "FI" else None
        found["identifier"] = {**({"system": system} if system else {}), "value": payee_id}
    found["display"] = name or payee_id or "payee"
    return found
