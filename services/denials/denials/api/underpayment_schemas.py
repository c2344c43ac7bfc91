"""API schemas of expected payment and the underpayment/overpayment worklist."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

VarianceKind = Literal["under", "over"]
VarianceStatus = Literal["open", "appealed", "accepted", "contract_adjusted", "cancelled"]
GroupBy = Literal["payer", "contract", "code", "cause"]


class ContractLine(BaseModel):
    code: str
    modifier: str
    rate_cents: int


class VarianceRead(BaseModel):
    id: str
    claim_id: str
    line_number: int
    remittance_id: str
    payer_id: str
    contract_id: str
    contract_version: int
    code: str
    modifiers: list[str]
    units: str
    service_date: date
    kind: VarianceKind = Field(description="under: allowed below the contract; over: above it (credit balance risk)")
    cause: str = Field(
        description="units, multiple_procedure, bilateral, lesser_of_charge (the payer applied that rule otherwise "
        "than the contract), else rate, percent_of_charges or percent_of_medicare"
    )
    expected_allowed_cents: int
    allowed_cents: int
    expected_paid_cents: int = Field(
        description="what the payer pays at the expected allowed amount: paid x expected allowed / allowed"
    )
    paid_cents: int
    amount_cents: int = Field(description="the money at stake: |allowed - expected allowed|")
    rule: str
    steps: list[str]
    fee_line: ContractLine | None
    status: VarianceStatus
    opened_at: datetime
    updated_at: datetime


class HistoryRead(BaseModel):
    action: str
    actor: str
    note: str | None
    at: datetime


class VarianceDetail(VarianceRead):
    history: list[HistoryRead]
    appeal_letter: str | None
    adjusted_version_id: str | None


class GroupTotal(BaseModel):
    key: str = Field(description="the payer id, contract id, code or cause; empty in the totals")
    kind: VarianceKind
    count: int
    amount_cents: int


class WorklistRead(BaseModel):
    items: list[VarianceRead]
    groups: list[GroupTotal] = Field(description="by group_by and kind, the most money first")
    totals: list[GroupTotal] = Field(description="by kind, of every item the filters select (not only this page)")


class AppealBody(BaseModel):
    note: str | None = Field(default=None, max_length=4000)


class AcceptBody(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)

    @field_validator("reason")
    @classmethod
    def _says_something(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("accepting a variance needs a reason")
        return value.strip()


class AdjustContractBody(BaseModel):
    effective_from: date = Field(description="the first day the payer's rate is the contract's")
    note: str | None = Field(default=None, max_length=4000)


class Adjudicated(BaseModel):
    remittance_id: str
    line_number: int = Field(description="the line's position in the 835's claim payment, from 1")
    matched_by: str | None = Field(
        description="line_control_number (REF*6R) or position (the same code at the same position); none "
        "before it is compared"
    )
    allowed_cents: int
    paid_cents: int
    patient_cents: int
    expected_paid_cents: int | None
    variance_cents: int | None = Field(description="allowed - expected allowed; none when no rate applied")


class ExpectedLine(BaseModel):
    line_number: int
    code: str
    modifiers: list[str]
    units: str
    charge_cents: int
    service_date: date
    place_of_service: str | None
    contract_id: str | None
    contract_version: int | None
    rule: str = Field(
        description="fee_schedule, percent_of_charges, percent_of_medicare, no_rate, no_contract, error (the "
        "reason in steps: a line no payer prices, e.g. an odd code or modifier)"
    )
    steps: list[str]
    fee_line: ContractLine | None
    expected_allowed_cents: int | None
    adjudicated: Adjudicated | None


class NotCompared(BaseModel):
    remittance_id: str
    line_number: int = Field(description="the line's position in the 835's claim payment, from 1")
    procedure_code: str | None
    line_control_number: str | None
    allowed_cents: int
    paid_cents: int
    reason: str | None = Field(description="why it answers no billed line")


class ExpectedPaymentRead(BaseModel):
    claim_id: str
    payer_id: str
    expected_allowed_cents: int | None = Field(description="the lines' sum; none when a line has no expected amount")
    lines: list[ExpectedLine]
    items: list[VarianceRead]
    not_compared: list[NotCompared] = Field(
        description="lines of the 835 matched to no billed line (neither by control number, REF*6R, nor by "
        "position with the same code): held against nothing"
    )
