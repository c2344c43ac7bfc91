"""Events produced by the remittance service."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from rcm_shared.events import EventPayload


class AdjustmentOut(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str  # CO, PR, OA, PI
    reason: str  # CARC
    amount_cents: int
    line_number: int | None = None  # None: claim level


class LinePaymentOut(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_number: int
    line_control_number: str | None
    procedure_code: str
    charge_cents: int
    paid_cents: int
    allowed_cents: int | None = None
    remarks: list[str] = []


class ClaimAdjudicatedV1(EventPayload):
    """One claim payment (CLP loop) posted from an 835, keyed by claim id."""

    event_type = "remittance.claim_adjudicated"
    schema_version = 1

    remittance_id: str
    claim_id: str  # CLP01, the patient control number sent in CLM01
    payer_id: str
    payer_claim_control_number: str
    status_code: str  # CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 22 reversal ...
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    contractual_cents: int
    adjustments: list[AdjustmentOut]
    remarks: list[str] = []  # RARC from MIA/MOA/LQ
    lines: list[LinePaymentOut] = []
    payment_date: date | None = None
    matched: bool = True  # False: no billed claim with this id is known to remittance
    # CLP02 19-21 with NM1*TT: the payer forwarded the claim to this payer (a crossover); no claim is sent to it
    crossover_payer_id: str | None = None
    crossover_payer_name: str | None = None
    # this payment is a crossover payer's answer to a claim another payer forwarded to it
    crossover_answer: bool = False
    # the payer's reversal of this payment was posted before it (its 835 was held, then released): the reversal
    # already took the money back and set the claim's state and patient share; the payment only nets with it
    reversed_already: bool = False


class ClaimReversedV1(EventPayload):
    """A payer reversal (CLP02 = 22) of an earlier payment, keyed by claim id."""

    event_type = "remittance.claim_reversed"
    schema_version = 1

    remittance_id: str
    claim_id: str
    payer_id: str
    payer_claim_control_number: str
    reversed_paid_cents: int  # the (negative) amounts of the reversal
    reversed_charge_cents: int
    original_remittance_id: str | None  # None: the original posting was not found (review item opened)


class ProviderAdjustedV1(EventPayload):
    """A provider-level adjustment (PLB) posted, keyed by remittance id."""

    event_type = "remittance.provider_adjusted"
    schema_version = 1

    remittance_id: str
    provider_id: str
    reason: str  # WO, L6, FB, 72, J1, CS, ...
    reference: str
    amount_cents: int  # positive reduces the payment
    claim_id: str | None = None


class PatientBalanceChangedV1(EventPayload):
    """A patient account's balance moved (a payer's patient responsibility became due, a patient payment,
    a refund, a reversal), keyed by account number. Amounts in cents; no names."""

    event_type = "remittance.patient_balance_changed"
    schema_version = 1

    account_id: str
    balance_cents: int  # positive: the patient owes; negative: a credit
    change_cents: int
    cause: str  # insurance | payment | refund
    claim_ids: list[str] = []


class StatementIssuedV1(EventPayload):
    """A patient statement was produced (PDF and structured document), keyed by account number."""

    event_type = "remittance.statement_issued"
    schema_version = 1

    statement_id: str
    run_id: str
    account_id: str
    statement_date: date
    amount_due_cents: int
    due_date: date
    visits: int
