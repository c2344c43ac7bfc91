"""An adjudicated line held against its contract (denials/domain/variance.py): the allowed amount, the variance,
the rule that explains it and the rate that reproduces the payer's amount. Figures computed by hand in each
test's docstring."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from builders.contracts import paid
from denials.domain.pricing import ContractTerms, FeeLine, LineToPrice
from denials.domain.variance import LineAnswer, answers, cause, expected_paid, rate_reproducing, variance
from rcm_shared.payloads.remittance import AdjustmentOut

DAY = date(2026, 3, 2)


def _terms(**rates: int) -> ContractTerms:
    return ContractTerms(fee_lines={(code[1:], ""): FeeLine(code[1:], "", r) for code, r in rates.items()})


def _line(number: int, code: str, charge: int, *modifiers: str, units: str = "1") -> LineToPrice:
    return LineToPrice(number, code, modifiers, Decimal(units), charge, DAY)


def test_the_allowed_amount_is_the_835s_or_paid_plus_the_patient_share() -> None:
    stated = paid("C1", [(1, "99213", 15000, 8000, 1600)])
    unstated = paid("C1", [(1, "99213", 15000, 8000, 1600)], allowed_stated=False)
    assert answers(stated.lines, stated.adjustments) == [LineAnswer(1, 8000, 6400, 1600)]
    assert answers(unstated.lines, unstated.adjustments) == [LineAnswer(1, 8000, 6400, 1600)]


def test_a_variance_is_beyond_the_tolerance_and_a_denied_line_is_none() -> None:
    """Expected 92.50, allowed 80.00 with 16.00 coinsurance (20 %): 12.50 under; the payer pays 80 % of what it
    allows, so at 92.50 it pays 64.00 + 12.50 x 0.8 = 74.00 (not 92.50 - 16.00 = 76.50: the patient's 20 %
    of the 12.50 is the patient's)."""
    found = variance(9250, LineAnswer(1, 8000, 6400, 1600), 0)
    assert (found.kind, found.amount_cents, found.expected_paid_cents) == ("under", 1250, 7400)  # type: ignore[union-attr]
    assert variance(9250, LineAnswer(1, 8000, 6400, 1600), 1250) is None
    assert variance(9250, LineAnswer(1, 9251, 9251, 0), 0).kind == "over"  # type: ignore[union-attr]
    assert variance(9250, LineAnswer(1, 0, 0, 0), 0) is None


def test_the_payer_pays_its_own_share_of_the_difference_in_the_allowed_amount() -> None:
    """Allowed 80.00, nothing paid and no deductible or copay: the payer's share is 0, 0.00 at 92.50 too.
    Allowed 98.00 paid in full against 92.50: 92.50 is what it should have paid. 1/3 paid of 100.00 allowed,
    expected 50.00: 33.33 - 50.00 x 33.33 / 100 = 16.665 -> 16.67 (half up)."""
    assert expected_paid(9250, 8000, 0) == 0
    assert expected_paid(9250, 9800, 9800) == 9250
    assert expected_paid(5000, 10000, 3333) == 1667
    assert expected_paid(9250, 0, 0) == 9250  # nothing allowed: nothing to go by


def test_a_copay_and_a_deductible_stay_the_patients_at_the_contracts_amount() -> None:
    """92.50 contracted, 80.00 allowed (12.50 under) in each case; the payer owes expected paid - paid:
    - coinsurance 20 % (16.00), paid 64.00: 64.00 + 12.50 x 64/80 = 74.00, owed 10.00;
    - copay 20.00, paid 60.00: 60.00 + 12.50 x 60/(80 - 20) = 72.50, owed 12.50 (the copay does not grow);
    - deductible 50.00 + 20 % coinsurance of the other 30.00 (6.00), paid 24.00: 24.00 + 12.50 x 24/(80 - 50)
      = 34.00, owed 10.00;
    - all 80.00 to the deductible, paid 0.00: nothing left to read the payer's share from: 92.50 - 80.00 = 12.50;
      copay 20.00 of an allowed 15.00 (more than allowed): 92.50 - 20.00 = 72.50."""
    assert expected_paid(9250, 8000, 6400) - 6400 == 1000
    assert expected_paid(9250, 8000, 6000, copay=2000) - 6000 == 1250
    assert expected_paid(9250, 8000, 2400, deductible=5000) - 2400 == 1000
    assert expected_paid(9250, 8000, 0, deductible=8000) == 1250
    assert expected_paid(9250, 1500, 0, copay=2000) == 7250
    assert expected_paid(1000, 8000, 0, deductible=8000) == 0  # never below nothing
    # the variance carries them: allowed 80.00, copay 20.00, paid 60.00
    found = variance(9250, LineAnswer(1, 8000, 6000, 2000, 0, 2000), 0)
    assert (found.kind, found.amount_cents, found.expected_paid_cents) == ("under", 1250, 7250)  # type: ignore[union-attr]


def test_the_835s_line_deductible_and_copay_are_its_pr_1_and_pr_3() -> None:
    """Allowed 80.00: PR 1 50.00 and PR 2 6.00 on line 1; PR 3 20.00 on line 2; a claim-level PR 1 is no line's."""
    event = paid("C1", [(1, "99213", 15000, 8000, 5600), (2, "99213", 15000, 8000, 2000)])
    shares = [
        AdjustmentOut(group="PR", reason="1", amount_cents=5000, line_number=1),
        AdjustmentOut(group="PR", reason="2", amount_cents=600, line_number=1),
        AdjustmentOut(group="PR", reason="3", amount_cents=2000, line_number=2),
        AdjustmentOut(group="CO", reason="3", amount_cents=100, line_number=2),  # not the patient's
        AdjustmentOut(group="PR", reason="1", amount_cents=900, line_number=None),
    ]
    kept = [a for a in event.adjustments if a.group != "PR"]
    assert answers(event.lines, [*kept, *shares]) == [
        LineAnswer(1, 8000, 2400, 5600, 5000, 0),
        LineAnswer(2, 8000, 6000, 2000, 0, 2000),
    ]


def test_a_reduction_the_payer_left_out_is_the_multiple_procedure_rule() -> None:
    """20610 at 100.00 and 20605-51 at 80.00 on one day: the second at 50 % = 40.00; paid 80.00 in full."""
    lines = [_line(1, "20610", 20000), _line(2, "20605", 20000, "51")]
    terms = _terms(c20610=10000, c20605=8000)
    assert cause(lines, terms, None, 2, 8000, "fee_schedule") == "multiple_procedure"
    assert cause(lines, terms, None, 2, 3600, "fee_schedule") == "rate"


def test_bilateral_and_lesser_of_charge_explain_their_variances() -> None:
    """20610-50 at 100.00: 150 % = 150.00, paid as one side 100.00. 99213 at 92.50 billed 80.00: the lesser is
    80.00, paid 92.50."""
    assert cause([_line(1, "20610", 30000, "50")], _terms(c20610=10000), None, 1, 10000, "fee_schedule") == "bilateral"
    assert cause([_line(1, "99213", 8000)], _terms(c99213=9250), None, 1, 9250, "fee_schedule") == "lesser_of_charge"


def test_the_payers_rate_is_found_under_the_contracts_own_rules() -> None:
    """20605-51 reduced to 50 %: allowed 36.00 is a rate of 72.00 (71.99 gives 35.995 -> 36.00 too; the old rate
    scaled, 80.00 x 36.00 / 40.00, decides). Three units allowed 7.51: 3 x 2.50 = 7.50 is nearer than 3 x 2.51 =
    7.53. A charge of 80.00 caps any rate below an allowed 90.00."""
    lines = [_line(1, "20610", 20000), _line(2, "20605", 20000, "51")]
    terms = _terms(c20610=10000, c20605=8000)
    assert rate_reproducing(lines, terms, None, 2, ("20605", ""), 3600) == 7200
    three = [_line(1, "36415", 1500, units="3")]
    assert rate_reproducing(three, _terms(c36415=300), None, 1, ("36415", ""), 751) == 250
    capped = [_line(1, "99213", 8000)]
    assert rate_reproducing(capped, _terms(c99213=9250), None, 1, ("99213", ""), 9000) is None
