"""API schemas of the denials service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from rcm_shared.payloads.denials import ClaimCorrection

from denials.domain.classify import Category

# The values a list filter accepts, so that the OpenAPI names them and an unknown one is refused (422)
# rather than answered with an empty list; tests/test_queue.py checks them against the domain's.
DenialStatus = Literal[
    "open",
    "in_progress",
    "appealed",
    "resubmitted",
    "write_off_pending",
    "recovered",
    "written_off",
    "billed_patient",
    "closed",
    "superseded",
]
DenialCategory = Category


class DenialRead(BaseModel):
    id: str
    claim_id: str
    line_number: int = Field(description="0: the whole claim")
    payer_id: str
    payer_claim_control_number: str | None
    category: str
    root_cause: str
    avoidable: str
    action: str = Field(
        description="recommended: correct_and_resubmit, appeal, bill_secondary, bill_patient, write_off, review"
    )
    carcs: list[str]
    rarcs: list[str]
    amount_cents: int
    status: str
    assignee: str | None
    deadline: date | None
    replacement_claim_id: str | None
    recovered_cents: int
    opened_at: datetime
    resolved_at: datetime | None


class QueueItem(DenialRead):
    recovery_probability: float
    priority: float = Field(description="expected recovery in dollars weighted by deadline urgency")


class HistoryRead(BaseModel):
    action: str
    actor: str
    note: str | None
    at: datetime


class DenialDetail(DenialRead):
    history: list[HistoryRead]
    appeal_letter: str | None = None


class ActionRequest(BaseModel):
    action: Literal[
        "assign",
        "comment",
        "appeal",
        "resubmit",
        "write_off",
        "bill_patient",
        "upheld",
        "approve_write_off",
        "reject_write_off",
    ]
    note: str | None = Field(default=None, max_length=4000)
    assignee: str | None = Field(default=None, max_length=120)
    correction: ClaimCorrection | None = None

    @model_validator(mode="after")
    def _what_the_action_needs(self) -> ActionRequest:
        """A write-off (and its rejection) names its reason and a comment says something (the work history is
        what an auditor and the next person on the account read); an assignment names who."""
        if self.action in ("write_off", "comment", "reject_write_off") and not (self.note or "").strip():
            raise ValueError(f"{self.action} needs a note")
        if self.action == "assign" and not (self.assignee or "").strip():
            raise ValueError("assign needs an assignee")
        return self


class Breakdown(BaseModel):
    key: str
    denials: int
    amount_cents: int


class Analytics(BaseModel):
    since: date
    until: date
    adjudicated_claims: int
    denied_claims: int
    denial_rate: float
    by_payer: list[Breakdown]
    by_category: list[Breakdown]
    by_carc: list[Breakdown]
    avoidable_share: float
    recovered_cents: int
    recovery_rate: float
    average_days_to_resolve: float | None
