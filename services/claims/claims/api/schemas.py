"""API schemas of the claims service (ClaimCreate, the encounter, lives in claims.domain.encounter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field
from rcm_shared.payloads.denials import ClaimCorrection

from claims.domain.balance import insurance_balance
from claims.domain.encounter import ClaimCreate
from claims.domain.follow_up import FollowUpItem
from claims.domain.reports import Kpis

# The values a list filter accepts, so that the OpenAPI names them and an unknown one is refused (422) rather
# than answered with an empty list; tests/test_state.py checks them against the domain's.
ClaimState = Literal[
    "draft",
    "ready",
    "submitted",
    "accepted",
    "rejected",
    "paid",
    "partially_paid",
    "denied",
    "appealed",
    "corrected",
    "closed",
    "void",
]
FollowUpReason = Literal["no_999", "no_277ca", "no_payment", "no_crossover_payment", "timely_filing"]


class EditRead(BaseModel):
    rule: str
    severity: str
    field: str
    message: str


class ClaimRead(BaseModel):
    id: str = Field(description="also the patient control number sent in CLM01 and echoed in the 835")
    kind: str
    state: str
    frequency: str
    original_claim_id: str | None
    payer_id: str
    service_from: date
    service_to: date
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    contractual_cents: int = 0
    patient_transfer_cents: int = Field(0, description="denied amounts billed to the patient (denials work)")
    written_off_cents: int = Field(0, description="denied amounts written off (denials work)")
    payer_claim_control_number: str | None
    edits: list[EditRead]
    status_detail: dict[str, Any]
    submission_id: str | None
    patient_account: str | None = Field(description="the patient's account: its balance is in remittance")
    next_payer_id: str | None = Field(description="the payer billed after this one adjudicates (COB)")
    crossover_payer_id: str | None = Field(
        None, description="the payer this claim's payer forwarded it to (835 CLP02 19-21, NM1*TT): not billed by us"
    )
    crossover_payer_name: str | None = None
    crossover_state: str | None = Field(None, description="pending until the crossover payer's 835, then answered")
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    paid_on: date | None = Field(default=None, description="the payment date (BPR16) of the 835 that first paid it")
    document: ClaimCreate

    @computed_field(description="what the payer still owes on the claim: its share of insurance A/R")  # type: ignore[prop-decorator]
    @property
    def insurance_balance_cents(self) -> int:
        return insurance_balance(
            self.state,
            self.charge_cents,
            self.paid_cents,
            self.contractual_cents,
            self.patient_responsibility_cents,
            self.patient_transfer_cents,
            self.written_off_cents,
        )


class TransitionRead(BaseModel):
    from_state: str | None
    to_state: str
    actor: str
    reason: str | None
    at: datetime


class SubmitRequest(BaseModel):
    claim_ids: list[str] | None = Field(default=None, description="omit to submit every ready claim")


class SubmissionRead(BaseModel):
    submission_id: str
    payer_id: str
    claim_ids: list[str]
    delivered: bool
    destination: str | None = None
    error: str | None = None
    acknowledgment: dict[str, Any] | None = None


class CorrectRequest(BaseModel):
    """Either a full replacement encounter, or a correction of the original (not both)."""

    document: ClaimCreate | None = None
    correction: ClaimCorrection | None = None


class AckRead(BaseModel):
    kind: str
    claims_updated: list[str]
    unknown: list[str]


@dataclass
class KpisRead(Kpis):
    """Revenue-cycle KPIs over original claims (definitions in the claims service's reports module)."""


class AgingRow(BaseModel):
    """Open insurance balance of one payer, in cents, by days since the date of service."""

    model_config = ConfigDict(populate_by_name=True)

    payer_id: str
    claims: int
    total_cents: int
    d0_30: int = Field(alias="0-30")
    d31_60: int = Field(alias="31-60")
    d61_90: int = Field(alias="61-90")
    d91_120: int = Field(alias="91-120")
    d120_plus: int = Field(alias="120+")
    credit_claims: int = Field(0, description="open claims with more taken off than charged (not in the total)")
    credit_cents: int = Field(0, description="their negative balances, summed: for a person to look at")


class StatusRecordRead(BaseModel):
    """An acknowledgment or status answer the claim received (999, 277CA, 277), or a 276 sent for it."""

    source: str
    summary: str
    codes: list[str]
    at: datetime


@dataclass
class FollowUpRead(FollowUpItem):
    """One claim on the insurance follow-up work list: why it is there and what to do next."""


class InquiryRequest(BaseModel):
    as_of: date | None = None  # evaluate the list as of this date (default today)
    limit: int = Field(500, ge=1, le=5000)


class ChargeMasterItemCreate(BaseModel):
    """A new version of a charge-master item, from any date (backdated, or a same-day correction): the newest
    version of its code and modifiers, it prices every date of its window; earlier versions price the rest."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=4, max_length=5, description="CPT (5 digits), HCPCS (letter + 4 digits) or revenue code (4 digits)"
    )
    modifiers: list[str] = Field(default=[], max_length=4)
    revenue_code: str | None = Field(default=None, description="the revenue code billed with this code (837I)")
    description: str = Field(min_length=1, max_length=200, description="the practice's own text")
    price: Decimal = Field(gt=0, decimal_places=2, max_digits=10, description="unit price, in dollars")
    effective_from: date
    effective_to: date | None = Field(default=None, description="the last day in effect; open when omitted")


class ChargeMasterItemRead(BaseModel):
    id: str
    code: str
    modifiers: list[str]
    version: int = Field(description="1, 2, ... per code and modifiers: on a date the highest whose window holds it")
    revenue_code: str | None
    description: str
    price_cents: int
    effective_from: date
    effective_to: date | None
    created_at: datetime
    created_by: str


class ImportRowError(BaseModel):
    row: int = Field(description="the row in the file; the header is row 1")
    field: str
    reason: str


class ChargeMasterImportRead(BaseModel):
    rows: int = Field(description="data rows read")
    accepted: int = Field(description="rows written (applied) or that would be (dry run)")
    rejected: list[ImportRowError]
    applied: bool
