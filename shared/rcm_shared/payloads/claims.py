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
    lines: list[BilledLine] = []
