"""An adjudicated line held against what its contract says it is worth: the payer's allowed amount, the
variance and its kind (under, over), the contract rule that explains it, and the rate that reproduces the
payer's amount (what a contract adjusted to the payer's figure would say). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from rcm_shared.payloads.remittance import AdjustmentOut, LinePaymentOut

from denials.domain.medicare import MedicareSchedule
from denials.domain.pricing import ContractTerms, FeeLine, LineToPrice, price_claim

# The causes of a variance, in the order they are tried: a contract rule the payer applied differently
# (its line priced with the rule turned the other way gives the payer's amount), else the rate itself.
RULE_CAUSES = ("units", "multiple_procedure", "bilateral", "lesser_of_charge")
CAUSES = (*RULE_CAUSES, "rate", "percent_of_charges", "percent_of_medicare")
CENT = 1  # the payer's rounding may differ from ours by a cent


DEDUCTIBLE, COPAY = "1", "3"  # the CARCs of the patient's share the payer's own share is not a percentage of


@dataclass(frozen=True)
class LineAnswer:
    """The 835's word on one line: what the payer allowed, paid, and left to the patient (all PR), and of that
    the deductible (PR 1) and the copay (PR 3)."""

    line_number: int
    allowed_cents: int
    paid_cents: int
    patient_cents: int
    deductible_cents: int = 0
    copay_cents: int = 0


def answers(lines: Sequence[LinePaymentOut], adjustments: Sequence[AdjustmentOut]) -> list[LineAnswer]:
    """Each line's allowed amount (the 835's AMT*B6, else paid + the line's patient share, PR) and its PR
    adjustments under CARC 1 (deductible) and 3 (copay), from the line's own CAS. A patient share the 835 puts
    at the claim level (no line number) is not apportioned to lines: the line's deductible and copay are then
    0 and its expected payment is the proportional one (``expected_paid``)."""
    out = []
    for line in lines:
        mine = [a for a in adjustments if a.line_number == line.line_number and a.group == "PR"]
        patient = sum(a.amount_cents for a in mine)

        def of(carc: str, mine: list[AdjustmentOut] = mine) -> int:
            return sum(a.amount_cents for a in mine if a.reason.lstrip("0") == carc)

        allowed = line.allowed_cents if line.allowed_cents is not None else line.paid_cents + patient
        out.append(LineAnswer(line.line_number, allowed, line.paid_cents, patient, of(DEDUCTIBLE), of(COPAY)))
    return out


@dataclass(frozen=True)
class Variance:
    kind: str  # under | over
    amount_cents: int  # the money at stake, positive: |allowed - expected allowed|
    expected_paid_cents: int  # what the payer pays at the contract's allowed amount (``expected_paid``)


def expected_paid(expected_allowed: int, allowed: int, paid: int, deductible: int = 0, copay: int = 0) -> int:
    """What the payer pays when it allows the contract's amount. The patient's deductible (PR 1) and copay
    (PR 3) are fixed amounts: a higher allowed amount leaves them as they are. What is left of the allowed
    amount after them the payer pays in the proportion the 835 shows (its share against the coinsurance):
    paid + (expected allowed - allowed) x paid / (allowed - deductible - copay), half up to the cent.

    - coinsurance only: 92.50 contracted, 80.00 allowed, 16.00 coinsurance, 64.00 paid: 64.00 + 12.50 x 64/80
      = 74.00; the payer owes 10.00, the patient the other 2.50;
    - a copay: 92.50 contracted, 80.00 allowed, 20.00 copay, 60.00 paid: 60.00 + 12.50 x 60/60 = 72.50; the
      payer owes all of the 12.50;
    - a deductible and 20% coinsurance: 92.50 contracted, 80.00 allowed, 50.00 deductible, 6.00 coinsurance,
      24.00 paid: 24.00 + 12.50 x 24/30 = 34.00; the payer owes 10.00.

    Nothing left after the deductible and copay (allowed - deductible - copay <= 0, nothing allowed included):
    the payer's share of the rest cannot be read off the 835, so all of it is taken as the payer's: expected
    allowed - deductible - copay (not below 0). Something left but nothing paid: the payer's share is 0."""
    base = allowed - deductible - copay
    if base <= 0:
        return max(0, expected_allowed - deductible - copay)
    share = Decimal(paid) + Decimal(expected_allowed - allowed) * Decimal(paid) / Decimal(base)
    return max(0, int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def variance(expected_allowed: int, answer: LineAnswer, tolerance_cents: int) -> Variance | None:
    """None when the payer allowed the contract's amount (within the tolerance) or denied the line (allowed
    0: a denial's business, not an underpayment)."""
    if answer.allowed_cents <= 0:
        return None
    difference = answer.allowed_cents - expected_allowed
    if abs(difference) <= tolerance_cents:
        return None
    paid = expected_paid(
        expected_allowed, answer.allowed_cents, answer.paid_cents, answer.deductible_cents, answer.copay_cents
    )
    return Variance("under" if difference < 0 else "over", abs(difference), paid)


def _priced(
    lines: Sequence[LineToPrice], terms: ContractTerms, medicare: MedicareSchedule | None, number: int
) -> int | None:
    try:
        priced = price_claim(lines, terms, medicare)
    except ValueError:
        return None
    return next((p.expected_allowed_cents for p in priced if p.line_number == number), None)


def cause(
    lines: Sequence[LineToPrice],
    terms: ContractTerms,
    medicare: MedicareSchedule | None,
    line_number: int,
    allowed_cents: int,
    rule: str,
) -> str:
    """Why the payer's amount differs: the first contract rule which, turned the other way, prices the line at
    the payer's amount (one unit paid of several, a multiple procedure reduction or a bilateral rate applied
    or not as the contract says, the lesser of the charge); else the rate of the rule that priced it."""
    line = next(ln for ln in lines if ln.line_number == line_number)
    others = [ln for ln in lines if ln.line_number != line_number]
    trials = {
        "units": (lines, terms) if line.units <= 1 else ([*others, replace(line, units=Decimal(1))], terms),
        "multiple_procedure": (lines, replace(terms, multiple_procedure=not terms.multiple_procedure)),
        "bilateral": (lines, replace(terms, bilateral_percent=Decimal(100)))
        if terms.bilateral_percent != 100
        else (lines, terms),
        "lesser_of_charge": (lines, replace(terms, lesser_of_charge=not terms.lesser_of_charge)),
    }
    baseline = _priced(lines, terms, medicare, line_number)
    for name in RULE_CAUSES:
        trial_lines, trial_terms = trials[name]
        amount = _priced(trial_lines, trial_terms, medicare, line_number)
        if amount is not None and amount != baseline and abs(amount - allowed_cents) <= CENT:
            return name
    return "rate" if rule == "fee_schedule" else rule if rule in CAUSES else "rate"


def rate_reproducing(
    lines: Sequence[LineToPrice],
    terms: ContractTerms,
    medicare: MedicareSchedule | None,
    line_number: int,
    key: tuple[str, str],
    allowed_cents: int,
) -> int | None:
    """The rate per unit of fee line ``key`` under which the contract prices the line at the payer's allowed
    amount, found by pricing the claim again: every rule of the contract (units, splits, reductions, lesser of
    charge) applies to it as to the old rate. Where rounding lets several rates give the amount exactly, the one
    nearest the old rate scaled by allowed / expected; where none does, the nearest (the lower of two). None
    when no rate reaches the amount (the lesser of the charge caps it below)."""

    def price(rate: int) -> int:
        fees = {**terms.fee_lines, key: FeeLine(key[0], key[1], rate)}
        amount = _priced(lines, replace(terms, fee_lines=fees), medicare, line_number)
        return -1 if amount is None else amount

    def least(at_least: int) -> int | None:
        """The least rate pricing the line at ``at_least`` or more (the price rises with the rate)."""
        low, high = 1, max(at_least, 1) * 64
        if price(high) < at_least:
            return None
        while low < high:
            middle = (low + high) // 2
            if price(middle) >= at_least:
                high = middle
            else:
                low = middle + 1
        return low

    low = least(allowed_cents)
    if low is None:
        return None
    if price(low) != allowed_cents:
        return low - 1 if low > 1 and allowed_cents - price(low - 1) <= price(low) - allowed_cents else low
    above = least(allowed_cents + 1)
    high = above - 1 if above is not None else low
    old = terms.fee_lines.get(key)
    reference = old.rate_cents if old is not None else low
    scaled = Decimal(allowed_cents) * reference / max(price(reference), 1)
    return min(max(int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)), low), high)
