"""The 276/277's typed models: a status inquiry, a claim's statuses, and what a 277CA or 277 answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

REQUEST_IMPLEMENTATION = "005010X212"
ACK_IMPLEMENTATION = "005010X214"


@dataclass
class StatusInquiry:
    payer_name: str
    payer_id: str
    submitter_name: str
    submitter_id: str
    provider_name: str
    provider_npi: str
    subscriber_last: str
    subscriber_first: str | None
    member_id: str
    trace_number: str
    claim_id: str  # REF*EJ patient control number (our CLM01)
    total_charge: Decimal
    service_date: date
    service_date_end: date | None = None
    payer_claim_control_number: str | None = None  # REF*1K
    subscriber_birth_date: date | None = None
    subscriber_sex: str | None = None
    patient_last: str | None = None  # a dependent patient (2000E/2100E); None when the subscriber is the patient
    patient_first: str | None = None
    patient_birth_date: date | None = None
    patient_sex: str | None = None


@dataclass
class Status:
    category: str  # STC01-1: A1..A8 acknowledgments, F0..F4 finalized, P0..P5 pending, R0..R16 requests, E errors
    code: str  # STC01-2: claim status code
    entity: str | None = None  # STC01-3
    effective_date: date | None = None  # STC02
    action: str | None = None  # STC03: WQ accepted, U rejected (277CA)
    charge: Decimal | None = None  # STC04
    paid: Decimal | None = None  # STC05
    check_date: date | None = None  # STC08
    check_number: str | None = None  # STC09
    free_text: str | None = None  # STC12


@dataclass
class LineStatus:
    procedure: str
    charge: Decimal
    paid: Decimal | None
    statuses: list[Status] = field(default_factory=list)
    line_control_number: str | None = None
    service_date: date | None = None


@dataclass
class ClaimStatus:
    implementation: str  # 005010X212 (status response) or 005010X214 (277CA)
    transaction: str
    payer_name: str
    payer_id: str
    provider_id: str | None
    member_last: str
    member_first: str | None
    member_id: str | None
    trace_number: str  # TRN02: in a 277CA the patient control number as sent; in a 277 the 276 trace
    claim_id: str | None  # REF*EJ (277) or TRN02 (277CA): the patient control number, our claim id
    payer_claim_control_number: str | None = None  # REF*1K
    statuses: list[Status] = field(default_factory=list)
    service_date: date | None = None
    service_date_end: date | None = None
    lines: list[LineStatus] = field(default_factory=list)
    level: str = "claim"  # claim, or the level a batch status is about: payer, receiver (submitter), provider

    @property
    def accepted(self) -> bool | None:
        """277CA verdict: A1/A2/A5 accepted; A3/A4/A6/A7/A8 (and E*) rejected; None when no ack status."""
        cats = {s.category for s in self.statuses}
        if cats & {"A3", "A4", "A6", "A7", "A8", "E0", "E1", "E2", "E3", "E4"}:
            return False
        if cats & {"A1", "A2", "A5"}:
            return True
        return None


@dataclass
class ClaimAck:
    """One claim's verdict in a 277CA: accepted (A1:20 / A2:20) or rejected with its status code."""

    claim_id: str  # CLM01 as received, echoed in TRN02
    member_last: str
    member_first: str | None
    member_id: str
    charge: Decimal
    service_date: date
    service_date_end: date | None = None
    status: Status = field(default_factory=lambda: Status("A2", "20", action="WQ"))
    payer_claim_control_number: str | None = None  # REF*1K, for accepted claims

    @property
    def accepted(self) -> bool:
        return self.status.category in ("A1", "A2", "A5")


@dataclass
class ProviderAcks:
    """The claims of one billing provider (2000C) in a 277CA."""

    provider_name: str
    provider_npi: str
    claims: list[ClaimAck]


@dataclass
class StatusAnswer:
    """The payer's answer to one 276 inquiry: the inquiry echoed, its claim's status and ids."""

    inquiry: StatusInquiry
    status: Status
    payer_claim_control_number: str | None = None
