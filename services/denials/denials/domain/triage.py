"""From an adjudicated claim to denials, and how urgent each one is. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1

from denials.domain.classify import NOT_DENIALS, Classification, Rules


@dataclass(frozen=True)
class DenialFinding:
    line_number: int | None  # None: the whole claim
    amount_cents: int  # what the denial withholds (the recoverable amount)
    classification: Classification
    carcs: list[str]
    rarcs: list[str]


def _primary(adjustments: list[AdjustmentOut], rules: Rules, rarcs: list[str]) -> tuple[Classification, int] | None:
    """The largest adjustment that is a denial (not contractual, not patient share) decides the category."""
    best: tuple[Classification, int] | None = None
    for a in adjustments:
        c = rules.classify(a.group, a.reason, rarcs)
        if c.category in NOT_DENIALS or a.amount_cents <= 0:
            continue
        if best is None or a.amount_cents > best[1]:
            best = (c, a.amount_cents)
    return best


def findings(event: ClaimAdjudicatedV1, rules: Rules) -> list[DenialFinding]:
    """Denials in one claim payment: the whole claim when nothing was paid, else each denied line. A line paid
    below its contract is no denial: it is an item of the underpayment worklist (``use_cases/expected.py``)."""
    if event.status_code == "22":
        return []
    if event.crossover_answer:  # a crossover payer's CARC 23 is the forwarding payer's part, not a denial
        event = event.model_copy(update={"adjustments": [a for a in event.adjustments if a.reason != "23"]})
    rarcs = list(dict.fromkeys(event.remarks))
    claim_level = [a for a in event.adjustments if a.line_number is None]
    if event.paid_cents == 0 and event.charge_cents > 0:
        hit = _primary(event.adjustments, rules, rarcs)
        if hit is None:
            if not event.adjustments:  # nothing paid and no reason given: a person must look
                return [DenialFinding(None, event.charge_cents, rules.classify("", "", []), [], rarcs)]
            return []  # all patient share / contractual (e.g. the deductible ate it): not a denial
        denied = sum(
            a.amount_cents
            for a in event.adjustments
            if rules.classify(a.group, a.reason, rarcs).category not in NOT_DENIALS
        )
        return [
            DenialFinding(None, denied, hit[0], sorted({f"{a.group}-{a.reason}" for a in event.adjustments}), rarcs)
        ]
    out = []
    for line in event.lines:
        line_adjustments = [a for a in event.adjustments if a.line_number == line.line_number]
        hit = _primary(line_adjustments, rules, list(line.remarks) or rarcs)
        if hit is None:
            continue
        denied = sum(
            a.amount_cents
            for a in line_adjustments
            if rules.classify(a.group, a.reason, rarcs).category not in NOT_DENIALS
        )
        out.append(
            DenialFinding(
                line.line_number,
                denied,
                hit[0],
                sorted({f"{a.group}-{a.reason}" for a in line_adjustments}),
                list(line.remarks),
            )
        )
    hit = _primary(claim_level, rules, rarcs)
    if hit is not None:
        out.append(DenialFinding(None, hit[1], hit[0], sorted({f"{a.group}-{a.reason}" for a in claim_level}), rarcs))
    return out


# Category priors for the probability of recovery: Beta(a, b) per category, updated with history.
PRIORS = {
    "eligibility": (2, 3),
    "authorization": (3, 3),
    "coding_bundling": (4, 2),
    "medical_necessity": (3, 3),
    "missing_information": (5, 1),
    "timely_filing": (1, 9),
    "duplicate": (1, 9),
    "coordination_of_benefits": (4, 2),
    "contractual": (1, 9),
    "unclassified": (2, 2),
}


def recovery_probability(category: str, recovered: int, lost: int) -> float:
    """Posterior mean of Beta(prior a + recovered, prior b + lost) for this payer and category."""
    a, b = PRIORS.get(category, (2, 2))
    return (a + recovered) / (a + b + recovered + lost)


def priority(amount_cents: int, probability: float, deadline: date | None, today: date) -> float:
    """Expected recovery in dollars, weighted up as the deadline nears (x4 in its last week)."""
    expected = amount_cents / 100 * probability
    if deadline is None:
        return round(expected, 2)
    days_left = (deadline - today).days
    if days_left < 0:
        return 0.0  # too late to act: the work queue shows it last
    urgency = 1 + 3 * max(0.0, (30 - days_left) / 30) if days_left > 7 else 4.0
    return round(expected * urgency, 2)
