"""Events produced by the denials service."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from rcm_shared.events import EventPayload


class LineCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_number: int  # 1-based, as billed
    procedure_code: str | None = None
    modifiers: list[str] | None = None
    units: str | None = None
    diagnosis_pointers: list[int] | None = None


class ClaimCorrection(BaseModel):
    """What to change on the resubmitted claim; fields left None keep the original's value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prior_authorization: str | None = None
    referral_number: str | None = None
    diagnoses: list[str] | None = None
    lines: list[LineCorrection] = []


class ResubmissionRequestedV1(EventPayload):
    """Denials asks claims to send a corrected (frequency 7) claim, keyed by the original claim id."""

    event_type = "denial.resubmission_requested"
    schema_version = 1

    denial_id: str
    claim_id: str
    reason: str  # the denial's root cause from the rulebook: never the person's note (free text may hold PHI)
    correction: ClaimCorrection = ClaimCorrection()


class DenialOpenedV1(EventPayload):
    """A denial entered the work queue, keyed by claim id."""

    event_type = "denial.opened"
    schema_version = 1

    denial_id: str
    claim_id: str
    line_number: int | None
    payer_id: str
    category: str
    action: str
    amount_cents: int
    deadline: date | None


class DenialResolvedV1(EventPayload):
    """A denial left the work queue: recovered, written off, billed to the patient or closed.

    The money a resolution moves travels with it, so the ledgers post exactly what the denial decided, once
    per denial: ``patient_transfer_cents`` leaves insurance A/R for the patient's account (billed_patient),
    ``written_off_cents`` leaves it as an adjustment (written_off)."""

    event_type = "denial.resolved"
    schema_version = 1

    denial_id: str
    claim_id: str
    outcome: str
    recovered_cents: int
    days_to_resolve: int
    # True when no other denial on the claim is still open: the claim is settled with the payer
    claim_settled: bool = False
    line_number: int | None = None  # None: the whole claim
    patient_transfer_cents: int = 0
    written_off_cents: int = 0
    # the remittance whose adjudication opened the denial: the move stands on it (denials decides when the
    # payer's later word takes it back: ``DenialMoveUndoneV1``)
    source_remittance_id: str | None = None


class DenialMoveUndoneV1(EventPayload):
    """The payer's later word took back the money a denial's resolution moved, keyed by claim id (on the
    resolutions' topic, so it always follows the move it undoes).

    Denials alone decides it, from the payer's answers it reads in order: a payment on the denied line (the
    whole claim for a claim-level denial) from another remittance, a reversal of the adjudication the denial
    came from, or the claim voided or replaced; never a crossover payer's answer. The ledgers take back exactly
    ``patient_transfer_cents`` (from the patient's account to insurance A/R) and ``written_off_cents`` (back
    into insurance A/R), once per denial. ``outcome`` is the denial's status after it: ``recovered`` (the
    payer paid the line) or ``superseded`` (the adjudication it came from no longer stands)."""

    event_type = "denial.move_undone"
    schema_version = 1

    denial_id: str
    claim_id: str
    line_number: int | None = None  # None: the whole claim
    outcome: str
    patient_transfer_cents: int = 0
    written_off_cents: int = 0
    source_remittance_id: str | None = None
    # the payer's answer that took it back: a remittance id, or None for a void or replacement of the claim
    answered_by_remittance_id: str | None = None


class AppealSentV1(EventPayload):
    """An appeal of a denial was sent to the payer, keyed by claim id: the claim waits for the payer's answer,
    due by ``answer_by``."""

    event_type = "denial.appeal_sent"
    schema_version = 1

    denial_id: str
    claim_id: str
    line_number: int | None
    payer_id: str
    amount_cents: int
    sent_on: date
    answer_by: date


class DeadlineApproachingV1(EventPayload):
    """An open denial's appeal or refiling deadline is near."""

    event_type = "denial.deadline_approaching"
    schema_version = 1

    denial_id: str
    claim_id: str
    deadline: date
    days_left: int
    amount_cents: int
    # filing: the appeal or refiling window closes; appeal_answer: the payer's answer to an appeal is due
    kind: str = "filing"
