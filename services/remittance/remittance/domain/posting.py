"""Pure posting rules: balancing an 835 and turning adjudication into ledger entries (integer cents).

No I/O here: the handler streams the 835 through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rcm_shared.x12.sets.common import Adjustment
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, ProviderAdjustment

REVERSAL = "22"
DENIED = "4"


def cents(amount: Decimal) -> int:
    """Exact conversion; X12 amounts have at most two decimals (anything finer is refused)."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"amount {amount} has more than two decimals")
    return int(value)


# Ledger entry types, by CAS group and reason.
PAYMENT = "payment"
CONTRACTUAL = "contractual"  # CO: the provider writes it off
DEDUCTIBLE = "deductible"  # PR-1
COINSURANCE = "coinsurance"  # PR-2
COPAY = "copay"  # PR-3
PATIENT_OTHER = "patient_other"  # other PR reasons
OTHER_ADJUSTMENT = "other_adjustment"  # OA, PI (and CR)
PROVIDER_ADJUSTMENT = "provider_adjustment"  # PLB

PATIENT_TYPES = frozenset({DEDUCTIBLE, COINSURANCE, COPAY, PATIENT_OTHER})
# What the denials work moves out of insurance A/R: a denied amount billed to the patient, or written off.
PATIENT_TRANSFER = "patient_transfer"
WRITE_OFF = "write_off"


def entry_type(adj: Adjustment) -> str:
    if adj.group == "CO":
        return CONTRACTUAL
    if adj.group == "PR":
        return {"1": DEDUCTIBLE, "2": COINSURANCE, "3": COPAY}.get(adj.reason, PATIENT_OTHER)
    return OTHER_ADJUSTMENT


@dataclass
class Totals:
    """Running totals of one transaction set, for the BPR check after the last claim."""

    paid: Decimal = Decimal(0)
    plb: Decimal = Decimal(0)
    claims: int = 0
    problems: list[str] = field(default_factory=list)


MAX_PROBLEMS = 50


def _m(amount: Decimal) -> str:
    return f"{amount:.2f}"


def check_claim(claim: ClaimPayment, totals: Totals) -> None:
    """Claim and line balancing: CLP03 - CLP04 = sum of CAS; SVC02 - SVC03 = sum of line CAS."""
    totals.claims += 1
    totals.paid += claim.paid
    adjustments = claim.adjustment_total()
    if claim.charge - claim.paid != adjustments and len(totals.problems) < MAX_PROBLEMS:
        totals.problems.append(
            f"claim {claim.patient_control_number}: charge {_m(claim.charge)} - paid {_m(claim.paid)} = "
            f"{_m(claim.charge - claim.paid)}, but adjustments total {_m(adjustments)}"
        )
    for n, line in enumerate(claim.services, start=1):
        line_adj = sum((a.amount for a in line.adjustments), Decimal(0))
        if line.charge - line.paid != line_adj and len(totals.problems) < MAX_PROBLEMS:
            totals.problems.append(
                f"claim {claim.patient_control_number} line {n} ({line.procedure.code}): charge {_m(line.charge)} - "
                f"paid {_m(line.paid)} = {_m(line.charge - line.paid)}, but line adjustments total {_m(line_adj)}"
            )
    for a in [*claim.adjustments, *(a for s in claim.services for a in s.adjustments)]:
        try:
            cents(a.amount)
        except ValueError as exc:
            totals.problems.append(f"claim {claim.patient_control_number}: {exc}")


def check_plb(plb: ProviderAdjustment, totals: Totals) -> None:
    totals.plb += plb.amount


def check_payment(header: PaymentHeader, totals: Totals) -> list[str]:
    """BPR02 = sum CLP04 - sum PLB (PLB amounts reduce the payment)."""
    problems = list(totals.problems)
    expected = totals.paid - totals.plb
    signed = -header.total_paid if header.credit_debit == "D" else header.total_paid
    if signed != expected:
        problems.insert(
            0,
            f"BPR02 {_m(header.total_paid)} does not equal claim payments {_m(totals.paid)} minus provider "
            f"adjustments {_m(totals.plb)} = {_m(expected)}",
        )
    return problems


@dataclass(frozen=True)
class Entry:
    entry_type: str
    amount_cents: int
    group_code: str | None = None
    reason_code: str | None = None
    line_index: int | None = None  # index into the claim's service lines, None for claim level


def claim_entries(claim: ClaimPayment) -> list[Entry]:
    """Ledger entries of one claim payment: paid per line (or per claim), adjustments by category."""
    out: list[Entry] = []
    if claim.services:
        for i, line in enumerate(claim.services):
            if line.paid:
                out.append(Entry(PAYMENT, cents(line.paid), line_index=i))
            out += [Entry(entry_type(a), cents(a.amount), a.group, a.reason, i) for a in line.adjustments]
        line_paid = sum((line.paid for line in claim.services), Decimal(0))
        if claim.paid != line_paid:  # claim-level interest or payment not spread on lines
            out.append(Entry(PAYMENT, cents(claim.paid - line_paid)))
    elif claim.paid:
        out.append(Entry(PAYMENT, cents(claim.paid)))
    out += [Entry(entry_type(a), cents(a.amount), a.group, a.reason) for a in claim.adjustments]
    return out


def patient_responsibility_cents(entries: list[Entry]) -> int:
    return sum(e.amount_cents for e in entries if e.entry_type in PATIENT_TYPES)
