"""The encounter a claim is built from: what charge entry accepts and stores.

Validation here is about shape (types, lengths, dates); billing rules live in the scrubber, which
reports every problem at once instead of failing on the first.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

X12_SAFE = r"^[^*~^:|\\]*$"  # no X12 delimiters in free text
CHARGE_DIGITS, CHARGE_PLACES = 12, 2  # a line's charge: at most 9,999,999,999.99
UNITS_DIGITS, UNITS_PLACES = 10, 3  # a line's units: at most 9,999,999.999


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressIn(Model):
    line1: str = Field(min_length=1, max_length=55, pattern=X12_SAFE)
    line2: str | None = Field(default=None, max_length=55, pattern=X12_SAFE)
    city: str = Field(min_length=2, max_length=30, pattern=X12_SAFE)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str = Field(pattern=r"^\d{5}(\d{4})?$")


class ProviderIn(Model):
    npi: str = Field(pattern=r"^\d{10}$")
    name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE, description="organization or last name")
    first_name: str | None = Field(default=None, max_length=35, pattern=X12_SAFE)
    is_person: bool = False
    taxonomy: str | None = None
    tax_id: str | None = None
    tax_id_type: Literal["EIN", "SSN"] = Field(default="EIN", description="what tax_id is: REF*EI or REF*SY")
    address: AddressIn | None = None


class FacilityIn(Model):
    """Where the services were rendered (837P 2310C, 837I 2310E), when not at the billing provider's address."""

    name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE)
    npi: str | None = Field(default=None, pattern=r"^\d{10}$", description="omitted when the location has none")
    address: AddressIn
    place_of_service: str | None = Field(default=None, pattern=r"^\d{2}$")


class PersonIn(Model):
    last_name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE)
    first_name: str | None = Field(default=None, max_length=35, pattern=X12_SAFE)
    middle_name: str | None = Field(default=None, max_length=25, pattern=X12_SAFE)
    birth_date: date | None = None
    sex: Literal["F", "M", "U"] | None = None
    address: AddressIn | None = None


class SubscriberIn(PersonIn):
    member_id: str = Field(min_length=1, max_length=80, pattern=X12_SAFE)
    group_number: str | None = Field(default=None, max_length=50, pattern=X12_SAFE)


class PatientIn(PersonIn):
    relationship: str = Field(default="19", pattern=r"^(01|19|20|21|39|40|53|G8)$", description="PAT01")


class AdjustmentIn(Model):
    group: Literal["CO", "OA", "PI", "PR"]
    reason: str = Field(pattern=r"^[A-Z0-9]{1,5}$")
    amount: Decimal = Field(decimal_places=2)


class LineAdjudicationIn(Model):
    paid: Decimal = Field(decimal_places=2)
    paid_date: date
    adjustments: list[AdjustmentIn] = []


class PayerIn(Model):
    payer_id: str = Field(min_length=1, max_length=80, pattern=X12_SAFE)
    name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE)
    responsibility: Literal["P", "S", "T"] = "P"
    filing_indicator: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Z]{2}$",
        description="SBR09 (CI commercial, MB Medicare Part B, MC Medicaid, ...); omitted: the practice's payer "
        "enrollment's on the date of service, else CI",
    )


class PriorPayerIn(PayerIn):
    """A payer that already adjudicated this claim (for secondary/tertiary claims: COB, 2320/2430)."""

    subscriber: SubscriberIn
    relationship: str = Field(default="18", pattern=r"^(01|18|19|20|21|39|40|53|G8)$")
    paid: Decimal = Field(decimal_places=2)
    paid_date: date
    remaining_patient_liability: Decimal | None = None
    adjustments: list[AdjustmentIn] = []


class SecondaryPayerIn(PayerIn):
    """The payer to bill after the primary adjudicates: the claims service builds that claim itself."""

    responsibility: Literal["P", "S", "T"] = "S"
    subscriber: SubscriberIn
    relationship: str = Field(default="18", pattern=r"^(01|18|19|20|21|39|40|53|G8)$")


class ServiceLineIn(Model):
    # A code or modifier of the wrong shape is the scrubber's finding (PROC001, MOD001: the claim stays a draft
    # and never reaches a payer), not a 422: the stored drafts that hold one must still read back.
    procedure_code: str | None = Field(default=None, description="CPT/HCPCS: 5 letters or digits")
    modifiers: list[str] = Field(default=[], max_length=4, description="each 2 letters or digits")
    revenue_code: str | None = Field(default=None, description="institutional: 4-digit revenue code")
    charge: Decimal | None = Field(
        default=None,
        decimal_places=CHARGE_PLACES,
        max_digits=CHARGE_DIGITS,
        description="the line's charge; omitted: priced from the charge master on the service date",
    )
    units: Decimal = Field(decimal_places=UNITS_PLACES, max_digits=UNITS_DIGITS)
    service_date: date
    service_date_end: date | None = None
    diagnosis_pointers: list[int] = Field(default=[1], max_length=4)
    place_of_service: str | None = None
    prior_payments: list[LineAdjudicationIn] = Field(default=[], description="per prior payer, in order")
    description: str | None = Field(
        default=None,
        max_length=200,
        description="the service in the practice's words, as the patient's statement prints it; omitted: the "
        "charge master's description of the code on the service date",
    )

    @field_validator("procedure_code", mode="before")
    @classmethod
    def _upper_code(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("modifiers", mode="before")
    @classmethod
    def _upper_modifiers(cls, value: Any) -> Any:
        return [m.strip().upper() if isinstance(m, str) else m for m in value] if isinstance(value, list) else value

    @property
    def amount(self) -> Decimal:
        """The charge, 0 while unpriced (a draft with the scrubber's CM001: it never reaches a payer)."""
        return self.charge if self.charge is not None else Decimal(0)


def _reference(what: str) -> Any:
    return Field(
        default=None,
        pattern=r"^\d{10}$",
        description=f"the NPI of the {what} in the practice's providers, resolved on the date of service; when "
        "given it wins over the inline provider, which the stored claim then holds as resolved",
    )


class ClaimCreate(Model):
    """An encounter to bill. The practice's master data may be referenced instead of repeated: the billing
    provider by NPI (else the practice profile's first), the other providers by NPI, the service facility by
    id. References are resolved on the date of service (the earliest line's) and the stored claim holds both
    the references and what they resolved to; one that resolves to nothing is a scrubber finding (PM001..)."""

    kind: Literal["professional", "institutional"] = "professional"
    billing_provider: ProviderIn | None = Field(
        default=None, description="omitted: billing_provider_npi's, else the practice profile's first"
    )
    billing_provider_npi: str | None = Field(
        default=None,
        pattern=r"^\d{10}$",
        description="a billing provider of the practice profile in effect on the date of service, by NPI; when "
        "given it wins over billing_provider, which the stored claim then holds as resolved",
    )
    pay_to: AddressIn | None = Field(
        default=None,
        description="where the payer sends payments when not to the billing provider's address (837 2010AB); "
        "omitted: the practice profile's pay-to address when the billing provider is the profile's",
    )
    rendering_provider: ProviderIn | None = None
    rendering_provider_npi: str | None = _reference("rendering provider")
    referring_provider: ProviderIn | None = None
    referring_provider_npi: str | None = _reference("referring provider")
    attending_provider: ProviderIn | None = None
    attending_provider_npi: str | None = _reference("attending provider (institutional)")
    service_facility: FacilityIn | None = Field(
        default=None, description="where the services were rendered, when not at the billing provider's address"
    )
    facility_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="a service facility of the practice, resolved on the date of service; when given it wins "
        "over service_facility, which the stored claim then holds as resolved",
    )
    facility_code: str | None = Field(
        default=None,
        pattern=r"^\d{2}$",
        description="place of service (837P) or type of bill 1st-2nd digits (837I); omitted on a professional "
        "claim: its service facility's place of service",
    )
    subscriber: SubscriberIn
    patient: PatientIn | None = Field(default=None, description="omit when the subscriber is the patient")
    payer: PayerIn
    prior_payers: list[PriorPayerIn] = []
    secondary_payer: SecondaryPayerIn | None = None
    diagnoses: list[str] = Field(min_length=1, max_length=12, description="ICD-10-CM, principal first")
    lines: list[ServiceLineIn] = Field(min_length=1, max_length=50)
    prior_authorization: str | None = Field(default=None, max_length=50, pattern=X12_SAFE)
    referral_number: str | None = Field(default=None, max_length=50, pattern=X12_SAFE)
    # institutional
    admission_date: date | None = None
    admission_type: str | None = Field(default=None, pattern=r"^\d$")
    admission_source: str | None = Field(default=None, pattern=r"^[0-9A-Z]$")
    patient_status: str | None = Field(default=None, pattern=r"^\d{2}$")
    admitting_diagnosis: str | None = None
    statement_from: date | None = None
    statement_to: date | None = None
    occurrence_codes: list[tuple[str, date]] = []
    value_codes: list[tuple[str, Decimal]] = []

    @field_validator("diagnoses")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [v.replace(".", "").upper() for v in value]

    @model_validator(mode="after")
    def _dates(self) -> ClaimCreate:
        for line in self.lines:
            if line.service_date_end and line.service_date_end < line.service_date:
                raise ValueError("a line's service_date_end is before its service_date")
        return self

    @property
    def total_charge(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def service_from(self) -> date:
        return min(line.service_date for line in self.lines)

    @property
    def service_to(self) -> date:
        return max(line.service_date_end or line.service_date for line in self.lines)

    @property
    def patient_person(self) -> PersonIn:
        return self.patient or self.subscriber
