"""The 837's typed models: one claim with everything needed to send it (billing provider, subscriber,
patient, payer, other payers' adjudication for COB), and the submitter and receiver of the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from rcm_shared.x12.sets.common import Adjustment

PROFESSIONAL = "005010X222A1"
INSTITUTIONAL = "005010X223A2"
Kind = Literal["P", "I"]


@dataclass
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str | None = None


@dataclass
class Provider:
    """A billing, rendering, attending, referring provider or a service facility."""

    last_or_org: str
    npi: str | None = None
    first: str | None = None
    middle: str | None = None
    is_person: bool = False
    taxonomy: str | None = None
    tax_id: str | None = None
    tax_id_qualifier: str = "EI"  # REF01: EI an employer id (EIN), SY a social security number (a person)
    address: Address | None = None


@dataclass
class Person:
    last: str
    first: str | None = None
    middle: str | None = None
    birth_date: date | None = None
    sex: str | None = None  # F, M, U
    address: Address | None = None
    member_id: str | None = None


@dataclass
class Payer:
    name: str
    payer_id: str
    address: Address | None = None


@dataclass
class LineAdjudication:
    """2430: what another payer did with this line (for secondary claims)."""

    payer_id: str
    paid: Decimal
    procedure_code: str
    units: Decimal
    paid_date: date
    modifiers: list[str] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)


@dataclass
class OtherPayer:
    """2320/2330: another payer on the claim, and its adjudication when it already paid."""

    responsibility: str  # SBR01: P primary, S secondary, T tertiary
    relationship: str  # SBR02: 18 self, 01 spouse, 19 child, G8 other
    filing_indicator: str  # SBR09: CI commercial, MB Medicare B, MC Medicaid, ...
    subscriber: Person
    payer: Payer
    group_number: str | None = None
    paid: Decimal | None = None  # AMT*D
    remaining_patient_liability: Decimal | None = None  # AMT*EAF
    adjustments: list[Adjustment] = field(default_factory=list)  # claim-level CAS
    adjudication_date: date | None = None  # DTP*573 in 2330B


@dataclass
class ServiceLine:
    charge: Decimal
    units: Decimal
    procedure_code: str | None = None  # CPT/HCPCS (HC)
    modifiers: list[str] = field(default_factory=list)
    service_date: date | None = None
    service_date_end: date | None = None
    diagnosis_pointers: list[int] = field(default_factory=list)  # 1-based into the claim's diagnoses
    place_of_service: str | None = None
    revenue_code: str | None = None  # institutional
    unit_basis: str = "UN"
    line_control_number: str | None = None  # REF*6R, echoed in the 835
    adjudications: list[LineAdjudication] = field(default_factory=list)


@dataclass
class Claim:
    kind: Kind
    claim_id: str  # CLM01, the patient control number the 835 echoes in CLP01
    total_charge: Decimal
    facility_code: str  # professional: place of service; institutional: type of bill's first two digits
    frequency: str  # 1 original, 7 replacement, 8 void
    billing_provider: Provider
    subscriber: Person
    payer: Payer
    # where the payer sends payments when not to the billing provider's address: the pay-to address loop
    # (2010AB, NM1*87 with N3/N4) of the billing provider's 2000A, which claims with another one do not share
    pay_to: Address | None = None
    responsibility: str = "P"  # SBR01 for the payer this claim goes to
    filing_indicator: str = "CI"
    group_number: str | None = None
    patient: Person | None = None  # None: the subscriber is the patient
    patient_relationship: str | None = None  # PAT01 when patient != subscriber
    diagnoses: list[str] = field(default_factory=list)  # ICD-10-CM without dots, principal first
    lines: list[ServiceLine] = field(default_factory=list)
    rendering_provider: Provider | None = None
    referring_provider: Provider | None = None
    attending_provider: Provider | None = None  # institutional
    # where the services were rendered, when not at the billing provider's address: 837P 2310C, 837I 2310E
    # (NM1*77 with the location's NPI when it has one; its street address is required)
    service_facility: Provider | None = None
    prior_authorization: str | None = None  # REF*G1
    referral_number: str | None = None  # REF*9F
    payer_claim_control_number: str | None = None  # REF*F8, for frequency 7/8
    other_payers: list[OtherPayer] = field(default_factory=list)
    # institutional
    statement_from: date | None = None
    statement_to: date | None = None
    admission_date: date | None = None
    admission_type: str | None = None  # CL101
    admission_source: str | None = None  # CL102
    patient_status: str | None = None  # CL103
    admitting_diagnosis: str | None = None
    occurrence_codes: list[tuple[str, date]] = field(default_factory=list)  # HI*BH
    value_codes: list[tuple[str, Decimal]] = field(default_factory=list)  # HI*BE

    @property
    def patient_is_subscriber(self) -> bool:
        return self.patient is None


@dataclass
class Submitter:
    name: str
    id: str
    contact_name: str
    phone: str


@dataclass
class Receiver:
    name: str
    id: str
