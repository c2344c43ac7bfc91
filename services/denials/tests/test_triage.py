"""From an adjudication to denials and their priority (denials/domain/triage.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from builders.events import adj
from denials.domain.classify import default_rules
from denials.domain.triage import findings, priority, recovery_probability


def test_multi_cas_claim_picks_the_largest_denial_reason_and_ignores_contractual_and_patient_share() -> None:
    event = adj(
        "C1",
        0,
        [("CO", "45", 3000, None), ("PR", "1", 1000, None), ("CO", "16", 2000, None), ("CO", "197", 4000, None)],
        remarks=["N290"],
    )
    (f,) = findings(event, default_rules())
    assert f.classification.category == "authorization" and f.amount_cents == 6000
    assert f.carcs == ["CO-16", "CO-197", "CO-45", "PR-1"] and f.rarcs == ["N290"]


def test_line_level_denials_on_a_paid_claim() -> None:
    event = adj(
        "C2",
        8000,
        [("CO", "45", 2000, 1), ("CO", "97", 5000, 2), ("CO", "45", 500, 3)],
        charge=15500,
        lines=[(10000, 8000), (5000, 0), (500, 0)],
    )
    (f,) = findings(event, default_rules())
    assert (f.line_number, f.classification.category, f.amount_cents) == (2, "coding_bundling", 5000)


def test_a_crossover_payers_prior_payer_adjustment_is_no_denial() -> None:
    """The Medigap plan's own 835 for a claim Medicare forwarded: CARC 23 carries Medicare's part."""
    event = adj("C8", 2000, [("OA", "23", 8000, 1)], charge=10000, lines=[(10000, 2000)], status="2")
    assert findings(event.model_copy(update={"crossover_answer": True}), default_rules()) == []
    (f,) = findings(event, default_rules())  # the same CARC on a payment that is no crossover answer
    assert f.classification.category == "coordination_of_benefits"


def test_bad_input_becomes_unclassified_never_dropped() -> None:
    (f,) = findings(adj("C3", 0, []), default_rules())  # nothing paid, no reason given
    assert f.classification.category == "unclassified" and f.classification.action == "review"
    assert findings(adj("C4", 0, [("PR", "1", 10000, None)]), default_rules()) == []  # all deductible: not a denial
    assert findings(adj("C5", -5000, [], status="22"), default_rules()) == []  # reversals are not denials


def test_priority_math() -> None:
    assert recovery_probability("missing_information", 0, 0) == pytest.approx(5 / 6)
    assert recovery_probability("timely_filing", 0, 0) == pytest.approx(0.1)
    assert recovery_probability("authorization", 6, 0) == pytest.approx(9 / 12)
    today = date(2026, 11, 28)
    far, near = (
        priority(10000, 0.5, today + timedelta(days=60), today),
        priority(10000, 0.5, today + timedelta(days=5), today),
    )
    assert far == 50.0 and near == 200.0 and priority(10000, 0.5, today - timedelta(days=1), today) == 0.0
