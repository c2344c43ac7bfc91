"""Bodies and answers of the practice routes: the organization profile, providers, service facilities and
payer enrollments. The shapes are checked here; the rules (the NPI's check digit, tax ids, ZIP+4, codes)
in ``domain.practice_checks``, which names each field it refuses."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from claims.domain.encounter import X12_SAFE

# an interchange id (ISA06/ISA08, GS02/GS03): letters, digits and a few marks, no X12 delimiter
X12_ID = r"^[A-Za-z0-9](?:[A-Za-z0-9 _.-]{0,13}[A-Za-z0-9_.-])?$"
NAME_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # a connection's name, a facility's code
NPI = Field(pattern=r"^\d{10}$", description="10 digits, the last the Luhn check digit (NPI standard)")
EFFECTIVE_FROM = Field(default=None, description="the first day in effect; today when omitted")
EFFECTIVE_TO = Field(default=None, description="the last day in effect; open when omitted")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressBody(Body):
    line1: str = Field(min_length=1, max_length=55, pattern=X12_SAFE)
    line2: str | None = Field(default=None, max_length=55, pattern=X12_SAFE)
    city: str = Field(min_length=2, max_length=30, pattern=X12_SAFE)
    state: str = Field(min_length=2, max_length=2, description="USPS state or territory code")
    postal_code: str = Field(min_length=5, max_length=10, description="5 or 9 digits (62701 or 62701-1234)")


class BillingProviderBody(Body):
    npi: str = NPI
    name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE, description="organization or last name")
    is_person: bool = False
    first_name: str | None = Field(default=None, max_length=35, pattern=X12_SAFE)
    tax_id: str = Field(min_length=9, max_length=11, description="EIN (12-3456789) or, for a person, SSN")
    tax_id_type: Literal["EIN", "SSN"] = "EIN"
    taxonomy: str | None = Field(default=None, max_length=10, description="NUCC provider taxonomy code")
    address: AddressBody = Field(description="a street address with a 9-digit ZIP code (837 2010AA)")


class StatementBody(Body):
    name: str = Field(min_length=1, max_length=60, description="the name printed on patient statements")
    address: AddressBody
    phone: str = Field(min_length=10, max_length=20, description="the billing office's phone (10 digits)")
    pay_online: str | None = Field(default=None, max_length=200, description="a web address")
    pay_by_mail: str | None = Field(default=None, max_length=200, description="whom to pay, where to mail")


class ConnectionBody(Body):
    name: str = Field(min_length=1, max_length=40, pattern=NAME_ID)
    submitter_id: str = Field(
        min_length=2, max_length=15, pattern=X12_ID, description="our id: ISA06, GS02 and the 837's 1000A"
    )
    receiver_id: str = Field(
        min_length=2, max_length=15, pattern=X12_ID, description="the clearinghouse's: ISA08, GS03"
    )
    receiver_name: str | None = Field(default=None, max_length=60, pattern=X12_SAFE, description="1000B; name if none")
    submitter_name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE, description="1000A")
    contact_name: str | None = Field(default=None, max_length=60, pattern=X12_SAFE)
    contact_phone: str = Field(min_length=10, max_length=20)


class ProfileUpdate(Body):
    """A new version of the organization profile."""

    effective_from: date | None = EFFECTIVE_FROM
    legal_name: str = Field(min_length=1, max_length=60)
    billing_providers: list[BillingProviderBody] = Field(
        min_length=1, max_length=20, description="the first is the primary billing provider"
    )
    pay_to: AddressBody | None = Field(default=None, description="where payments go, when not the billing address")
    statement: StatementBody
    connections: list[ConnectionBody] = Field(default=[], max_length=20)


class ProfileRead(BaseModel):
    version: int
    effective_from: date
    effective_to: date | None
    legal_name: str
    billing_providers: list[BillingProviderBody]
    pay_to: AddressBody | None
    statement: StatementBody
    connections: list[ConnectionBody]


class ProviderCreate(Body):
    """A new version of a rendering, referring or attending provider."""

    npi: str = NPI
    name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE, description="last name")
    first_name: str | None = Field(default=None, max_length=35, pattern=X12_SAFE)
    taxonomy: str | None = Field(default=None, max_length=10)
    effective_from: date | None = EFFECTIVE_FROM
    effective_to: date | None = EFFECTIVE_TO


class ProviderRead(BaseModel):
    id: str = Field(description="this version's id")
    version: int = Field(description="1, 2, ... per key: on a date the highest whose window holds it applies")
    npi: str
    name: str
    first_name: str | None
    taxonomy: str | None
    effective_from: date
    effective_to: date | None


class FacilityCreate(Body):
    """A new version of a service facility; a new facility without ``facility_id`` gets one."""

    facility_id: str | None = Field(default=None, min_length=1, max_length=30, pattern=NAME_ID)
    name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE)
    npi: str | None = Field(default=None, pattern=r"^\d{10}$")
    address: AddressBody = Field(description="a street address with a 9-digit ZIP code (837 2310C)")
    place_of_service: str = Field(pattern=r"^\d{2}$", description="CMS place of service code")
    effective_from: date | None = EFFECTIVE_FROM
    effective_to: date | None = EFFECTIVE_TO


class FacilityRead(BaseModel):
    id: str = Field(description="this version's id")
    version: int = Field(description="1, 2, ... per key: on a date the highest whose window holds it applies")
    facility_id: str
    name: str
    npi: str | None
    address: AddressBody
    place_of_service: str
    effective_from: date
    effective_to: date | None


class EnrollmentCreate(Body):
    """A new version of a payer enrollment."""

    payer_id: str = Field(min_length=1, max_length=80, pattern=X12_SAFE)
    name: str = Field(min_length=1, max_length=60, pattern=X12_SAFE)
    connection_payer_ids: dict[str, Annotated[str, Field(min_length=1, max_length=80, pattern=X12_SAFE)]] = Field(
        default={}, max_length=20, description="the payer's id at each clearinghouse connection, by its name"
    )
    claim_filing_indicator: str = Field(min_length=2, max_length=2, description="SBR09: CI, MB, MC, BL, ...")
    era_enrolled: bool = False
    eft_enrolled: bool = False
    effective_from: date | None = EFFECTIVE_FROM
    effective_to: date | None = EFFECTIVE_TO


class EnrollmentRead(BaseModel):
    id: str = Field(description="this version's id")
    version: int = Field(description="1, 2, ... per key: on a date the highest whose window holds it applies")
    payer_id: str
    name: str
    connection_payer_ids: dict[str, str]
    claim_filing_indicator: str
    era_enrolled: bool
    eft_enrolled: bool
    effective_from: date
    effective_to: date | None
