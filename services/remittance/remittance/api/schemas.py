"""API schemas of the remittance service. Money is integer cents (exact); dates are ISO dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from remittance.domain.held import HeldClaim, HeldPlb

# The values a list filter accepts, so that the OpenAPI names them and an unknown one is refused (422) rather
# than answered with an empty list (remittance.models says where each is written).
RemittanceStatus = Literal["posted", "held", "rejected", "superseded"]
ReviewStatus = Literal["open", "resolved"]
ReviewKind = Literal[
    "unbalanced",
    "unmatched_claim",
    "unmatched_line",
    "unpaired_reversal",
    "unposted_patient_transfer",
    "quarantined_file",
]


class IngestedRemittance(BaseModel):
    remittance_id: str
    status: str = Field(
        description="posted, held (unbalanced: nothing posted; release or reject it, or the payer's corrected 835 "
        "with the same TRN02 supersedes it) or duplicate (already received)"
    )
    trace_number: str
    payer_id: str
    claim_count: int
    total_paid_cents: int
    hold_reasons: list[str] = []
    supersedes: str | None = Field(
        None, description="the held (or rejected) remittance with the same TRN02 that this corrected 835 replaces"
    )


class IngestResponse(BaseModel):
    remittances: list[IngestedRemittance]


class ProviderAdjustmentRead(BaseModel):
    provider_id: str
    fiscal_period_end: date | None
    reason: str
    reference: str
    amount_cents: int
    claim_id: str | None


class RemittanceRead(BaseModel):
    id: str
    status: str
    hold_reasons: list[str]
    payer_id: str
    payer_name: str
    payee_id: str
    payee_name: str
    trace_number: str
    payment_method: str
    total_paid_cents: int
    plb_total_cents: int
    payment_date: date | None
    claim_count: int
    received_at: datetime
    posted_at: datetime | None
    imbalance_cents: int | None = Field(
        None, description="held: BPR02 minus (claim payments minus provider adjustments); 0 when only a claim fails"
    )
    review_decision: str | None = Field(None, description="released or rejected, by an operator, on a held 835")
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None
    superseded_by: str | None = Field(None, description="the payer's corrected 835 (same TRN02) that replaced it")
    provider_adjustments: list[ProviderAdjustmentRead] = []


class AdjustmentRead(BaseModel):
    group: str | None
    reason: str | None
    amount_cents: int
    line: int | None = None


class LineRead(BaseModel):
    line_number: int
    line_control_number: str | None
    procedure_code: str
    modifiers: list[str]
    original_procedure_code: str | None
    charge_cents: int
    paid_cents: int
    allowed_cents: int | None
    units: str | None
    original_units: str | None = None  # SVC07: the units billed, when the payer paid for fewer
    service_date: date | None
    match_method: str


class ClaimPaymentRead(BaseModel):
    id: str
    remittance_id: str
    claim_id: str
    payer_claim_control_number: str
    status_code: str
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    adjustments: list[AdjustmentRead]
    remarks: list[str]
    matched: bool
    reversal_of: str | None
    reversed_by: str | None
    lines: list[LineRead] = []
    # a crossover: the carrier this payment's payer forwarded the claim to, and whether it has answered
    # (pending | released: late, the patient's share is due | answered); on the answer, the payment it answers
    crossover_payer_id: str | None = None
    crossover_payer_name: str | None = None
    crossover_state: str | None = None
    crossover_of: str | None = None


class LedgerEntryRead(BaseModel):
    remittance_id: str
    entry_type: str
    group_code: str | None
    reason_code: str | None
    amount_cents: int
    posted_at: datetime


class DenialPostingRead(BaseModel):
    denial_id: str
    line_number: int | None
    kind: str = Field(description="patient_transfer (billed to the patient's account) or write_off")
    amount_cents: int
    account_id: str | None
    posted_at: datetime


class ClaimPostings(BaseModel):
    claim_id: str
    payments: list[ClaimPaymentRead]
    ledger: list[LedgerEntryRead]
    totals_cents: dict[str, int] = Field(description="net per entry type across all postings (reversals included)")
    patient_responsibility_cents: int
    denial_postings: list[DenialPostingRead] = Field(
        default=[], description="what the denials work moved out of insurance A/R: to the patient, or written off"
    )


class ReviewItemRead(BaseModel):
    id: int
    remittance_id: str | None
    kind: str
    claim_id: str | None
    detail: str
    status: str
    note: str | None
    created_at: datetime
    resolved_at: datetime | None


class ReviewResolve(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


@dataclass(frozen=True)
class HeldClaimRead(HeldClaim):
    pass


@dataclass(frozen=True)
class HeldPlbRead(HeldPlb):
    pass


class HeldSetRead(BaseModel):
    remittance_id: str
    status: str
    imbalance_cents: int | None
    hold_reasons: list[str]
    claims: list[HeldClaimRead]
    provider_adjustments: list[HeldPlbRead]


class HeldDecision(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="why: what the operator checked and decided")


class DepositCreate(BaseModel):
    trace_number: str = Field(min_length=1, max_length=80)
    amount_cents: int = Field(ge=0, le=10**15)  # more than any deposit, inside a BIGINT (a larger one is a 422)
    deposit_date: date


class DepositRead(BaseModel):
    id: str
    trace_number: str
    amount_cents: int
    deposit_date: date
    remittance_id: str | None


class Reconciliation(BaseModel):
    unmatched_deposits: list[DepositRead]
    unmatched_remittances: list[RemittanceRead]


class PayerTotals(BaseModel):
    payer_id: str
    remittances: int
    paid_cents: int
    contractual_cents: int
    patient_responsibility_cents: int
    provider_adjustment_cents: int


class TenderCreate(BaseModel):
    """A patient payment (or refund): exact cents, how it was paid, and optionally the claims it is for."""

    account_id: str = Field(min_length=1, max_length=20)
    amount_cents: int = Field(gt=0, le=10_000_000_00)
    method: Literal["cash", "card", "check", "ach"]
    reference: str | None = Field(default=None, max_length=80, description="card authorization, check number")
    received_on: date | None = None
    claim_ids: list[str] = Field(default=[], max_length=100, description="payments: apply to these first")


class TenderRead(BaseModel):
    payment_id: str
    account_id: str
    kind: str
    amount_cents: int
    replayed: bool  # True: the Idempotency-Key was seen before; nothing was posted again
    balance_cents: int


class ClaimBalance(BaseModel):
    claim_id: str
    balance_cents: int


class PatientAccountRead(BaseModel):
    account_id: str
    balance_cents: int  # positive: due from the patient; negative: a credit
    due_cents: int
    credit_cents: int
    claims: list[ClaimBalance]  # patient balances per claim (only claims every payer has adjudicated)
    on_account_cents: int  # payments not applied to a claim (and refunds of them)
    pending_with_insurance: list[str]  # claims a payer still has: nothing of them is due yet


class StatementRunCreate(BaseModel):
    as_of: date | None = Field(
        default=None, description="the statement date (default today, UTC): only what was posted by its end counts"
    )
    cycle_day: int | None = Field(default=None, ge=1, le=28, description="only accounts billed on this day")


class StatementSummary(BaseModel):
    id: str
    account_id: str
    amount_due_cents: int


class NotMailable(BaseModel):
    statement_id: str
    account_id: str
    reason: str | None = Field(description="why no mailing address is known (the statement is produced all the same)")


class StatementRunRead(BaseModel):
    run_id: str
    as_of: date
    statements: list[StatementSummary]
    not_mailable: list[NotMailable] = Field(
        default=[], description="the run's statements without a known mailing address: to hand out or fix"
    )
