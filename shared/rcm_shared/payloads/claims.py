"""Events produced by the claims service."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from rcm_shared.events import EventPayload


class BilledLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_number: int
    line_control_number: str | None = None
    procedure_code: str
    modifiers: list[str] = []
    service_date: date | None = None
    units: str
    charge_cents: int
    # the practice's own words for the service (its charge master), printed on the patient's statement
    description: str | None = None
    # the line's place of service (else the claim's): a contract priced at a percent of Medicare pays
    # facility or non-facility rates by it
    place_of_service: str | None = None


class ClaimStatusChangedV1(EventPayload):
    """Every claim state transition, keyed by claim id; the first has no old state (the claim's entry).
    A claim enters ``ready`` when the scrub at charge entry finds no error, else ``draft``. ``lines`` is filled
    when a claim is submitted."""

    event_type = "claim.status_changed"
    schema_version = 1

    claim_id: str
    old_state: str | None
    new_state: str
    changed_at: datetime
    reason: str | None = None
    reason_codes: list[str] = []
    payer_id: str | None = None
    charge_cents: int | None = None
    paid_cents: int | None = None
    patient_responsibility_cents: int | None = None
    frequency: str | None = None
    original_claim_id: str | None = None  # set on replacement (7) and void (8) claims
    payer_claim_control_number: str | None = None
    patient_account: str | None = None  # the patient's account number (an id, never the person)
    next_payer_id: str | None = None  # the payer billed after this one adjudicates (coordination of benefits)
    # the rendering (else billing) provider's name as printed for the patient: a practice's, not a patient's
    provider_name: str | None = None
    lines: list[BilledLine] = []


class PracticeAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line1: str
    line2: str | None = None
    city: str
    state: str
    postal_code: str


class PracticeProvider(BaseModel):
    """The practice's billing provider as eligibility inquiries (270, 2100B) name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    npi: str
    name: str  # organization or last name
    first_name: str | None = None
    is_person: bool = False
    taxonomy: str | None = None


class ClearinghouseConnection(BaseModel):
    """One clearinghouse account of the practice: the ids its interchanges carry. Outbound we send as
    ``submitter_id`` (ISA06/GS02) to ``receiver_id`` (ISA08/GS03); what comes back carries them swapped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    submitter_id: str
    receiver_id: str


class PracticeChangedV1(EventPayload):
    """A tenant's practice profile took a new version, keyed by tenant id; sent when the version is entered,
    which may be before ``effective_from``. It carries what the other services print or send in the practice's
    name: its legal name, the statement header, the billing provider of eligibility inquiries, and the
    clearinghouse connections that route inbound files to the tenant. Consumers keep the versions and use the
    one in effect on the date at hand; a version already kept (a redelivery, or one arriving late after a
    newer one) changes nothing, and a connection once announced stays the tenant's."""

    event_type = "practice.changed"
    schema_version = 1

    tenant_id: str
    version: int
    effective_from: date
    legal_name: str
    statement_name: str
    statement_address: PracticeAddress
    statement_phone: str
    pay_online: str | None = None  # how to pay, as printed on statements
    pay_by_mail: str | None = None
    billing_provider: PracticeProvider
    connections: list[ClearinghouseConnection] = []
