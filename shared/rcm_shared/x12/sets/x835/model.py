"""The 835's typed models: a payment's header, its claims and their service lines, provider adjustments
(PLB) and the transaction's trailer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from rcm_shared.x12.sets.common import Adjustment

IMPLEMENTATION = "005010X221A1"
FORWARDED = frozenset({"19", "20", "21"})  # CLP02: processed as primary/secondary/tertiary, forwarded on


@dataclass(slots=True)
class Procedure:
    qualifier: str  # HC (CPT/HCPCS), NU (revenue), ...
    code: str
    modifiers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ServicePayment:
    procedure: Procedure
    charge: Decimal
    paid: Decimal
    revenue_code: str | None = None
    units: Decimal | None = None
    original_procedure: Procedure | None = None  # SVC06: the code as billed, when the payer restated it
    original_units: Decimal | None = None
    service_date: date | None = None
    service_date_end: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    line_control_number: str | None = None  # REF*6R
    references: list[tuple[str, str]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # AMT: B6 allowed, ...
    remarks: list[tuple[str, str]] = field(default_factory=list)  # LQ: (HE, RARC)


@dataclass(slots=True)
class ClaimPayment:
    patient_control_number: str  # CLP01: our claim id as sent in CLM01
    status: str  # CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 19-23 ..., 22 reversal
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    filing_indicator: str
    payer_claim_control_number: str
    facility_type: str | None = None
    frequency: str | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    patient: dict[str, str] = field(default_factory=dict)  # NM1*QC: last, first, id qualifier, id
    insured: dict[str, str] = field(default_factory=dict)  # NM1*IL
    corrected_insured: dict[str, str] = field(default_factory=dict)  # NM1*74
    rendering_provider: dict[str, str] = field(default_factory=dict)  # NM1*82
    dates: dict[str, date] = field(default_factory=dict)  # DTM qualifier -> date (232, 233, 050, 036 ...)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # AMT qualifier -> amount (AU, D8, ...)
    quantities: dict[str, Decimal] = field(default_factory=dict)
    references: list[tuple[str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # MIA/MOA remark codes (RARC)
    services: list[ServicePayment] = field(default_factory=list)
    header_number: str | None = None  # LX01 of the 2000 loop
    transaction: str = ""  # ST02, so items stay traceable in a stream
    # NM1*TT, the crossover carrier: with CLP02 19-21 the payer forwarded the claim to this payer itself
    # (name, id_qualifier PI payer id / XV CMS plan id, id)
    crossover_carrier: dict[str, str] = field(default_factory=dict)

    @property
    def forwarded(self) -> bool:
        """CLP02 19/20/21: processed, and forwarded by the payer to the next payer (a crossover): that payer
        adjudicates without a claim from the provider, and sends its own 835."""
        return self.status in FORWARDED

    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), Decimal(0)) + sum(
            (a.amount for s in self.services for a in s.adjustments), Decimal(0)
        )


@dataclass(slots=True)
class PaymentHeader:
    transaction: str
    handling_code: str  # BPR01: I remittance + payment, H notification only, ...
    total_paid: Decimal  # BPR02
    credit_debit: str  # BPR03
    payment_method: str  # BPR04: ACH, CHK, NON, ...
    payment_date: date | None  # BPR16
    trace_number: str  # TRN02 (EFT trace / check number)
    trace_originator: str  # TRN03
    payer_name: str = ""
    payer_id: str = ""  # N1*PR 04 or REF*2U
    payee_name: str = ""
    payee_id_qualifier: str = ""
    payee_id: str = ""  # N1*PE 04 (NPI with XX)
    production_date: date | None = None  # DTM*405
    interchange: str = ""
    sender_id: str = ""


@dataclass(slots=True)
class ProviderAdjustment:
    transaction: str
    provider_id: str  # PLB01
    fiscal_period_end: date | None  # PLB02
    reason: str  # WO, L6, FB, 72, J1 ...
    reference: str  # the identifier after the reason (often a payer claim control number)
    amount: Decimal  # positive reduces the payment


@dataclass(slots=True)
class PaymentTrailer:
    transaction: str
    claims: int
    segments: int


Item835 = PaymentHeader | ClaimPayment | ProviderAdjustment | PaymentTrailer
