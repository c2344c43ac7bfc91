"""The 270/271's typed models: an inquiry about a member, and the payer's answer with its benefits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

IMPLEMENTATION = "005010X279A1"


@dataclass
class Member:
    last: str
    first: str | None = None
    middle: str | None = None
    member_id: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    references: list[tuple[str, str]] = field(default_factory=list)  # REF: 6P group, 18 plan, SY ...


@dataclass
class Inquiry:
    """One 270 inquiry: a subscriber (and optionally a dependent) at one payer for one provider."""

    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    subscriber: Member
    trace_number: str
    trace_originator: str  # TRN03: '9' + the submitter's 9-digit id, by convention
    service_date: date
    service_date_end: date | None = None
    service_types: list[str] = field(default_factory=lambda: ["30"])
    dependent: Member | None = None
    provider_is_person: bool = False
    provider_first: str | None = None


@dataclass
class RequestError:
    """AAA: a rejected request at some level (2100A payer, 2100B receiver, 2100C/D member...)."""

    loop: str
    valid: str  # AAA01 Y/N: was the request valid
    reason: str  # AAA03: 72 invalid member id, 73 invalid name, 75 subscriber not found, 42 unable to respond ...
    follow_up: str  # AAA04: C correct and resubmit, N do not resubmit, R resubmit, ...


@dataclass
class RelatedEntity:
    """2120: an entity named inside a benefit (primary care provider, other payer...)."""

    entity: str  # NM101: P3 primary care provider, PR payer, 1P provider ...
    name: str
    first: str | None = None
    id_qualifier: str | None = None
    id: str | None = None
    contacts: list[tuple[str, str]] = field(default_factory=list)  # PER (qualifier, number)


@dataclass
class Benefit:
    code: str  # EB01: 1 active, 6 inactive, A coinsurance, B copay, C deductible, G out-of-pocket, R other payer ...
    coverage_level: str | None = None  # EB02: IND, FAM, EMP, ESP, CHD ...
    service_types: list[str] = field(default_factory=list)  # EB03, repeated
    insurance_type: str | None = None  # EB04
    plan: str | None = None  # EB05
    time_period: str | None = None  # EB06: 23 calendar year, 29 remaining, 27 visit, 22 service year ...
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08 (0.2 = 20 %)
    quantity_qualifier: str | None = None  # EB09
    quantity: Decimal | None = None  # EB10
    authorization_required: str | None = None  # EB11: Y / N / U
    in_network: str | None = None  # EB12: Y in, N out, W both, U unknown
    procedure: str | None = None  # EB13
    dates: list[tuple[str, date, date | None]] = field(default_factory=list)  # DTP
    references: list[tuple[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # MSG
    related: list[RelatedEntity] = field(default_factory=list)


@dataclass
class EligibilityResponse:
    transaction: str
    payer_name: str
    payer_id: str
    provider_name: str
    provider_id: str
    subscriber: Member | None = None
    dependent: Member | None = None
    trace_numbers: list[tuple[str, str]] = field(default_factory=list)  # (TRN02, TRN03)
    errors: list[RequestError] = field(default_factory=list)
    dates: list[tuple[str, date, date | None]] = field(default_factory=list)  # member-level DTP
    relationship: str | None = None  # INS02
    benefits: list[Benefit] = field(default_factory=list)

    @property
    def member(self) -> Member | None:
        return self.dependent or self.subscriber
