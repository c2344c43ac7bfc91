"""The pricing rules of a payer contract (denials/domain/pricing.py), each with a worked example whose figures
are computed by hand in the test's docstring."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from denials.domain.pricing import ContractTerms, FeeLine, LineToPrice, PricedLine, price_claim

DOS = date(2026, 3, 2)  # any date: pricing does not compare it with today


def fees(*rows: tuple[str, str, int]) -> dict[tuple[str, str], FeeLine]:
    return {(code, modifier): FeeLine(code, modifier, cents) for code, modifier, cents in rows}


def line(
    n: int, code: str, charge: int, *modifiers: str, units: str = "1", dos: date = DOS, pos: str | None = "11"
) -> LineToPrice:
    return LineToPrice(n, code, modifiers, Decimal(units), charge, dos, pos)


def test_a_fee_line_prices_each_unit() -> None:
    """J1885 (ketorolac 15 mg) at 3.45 a unit, 4 units billed at 40.00: 3.45 x 4 = 13.80, under the charge."""
    (priced,) = price_claim([line(1, "J1885", 4000, units="4")], ContractTerms(fees(("J1885", "", 345))))
    assert priced == PricedLine(
        1,
        1380,
        "fee_schedule",
        ("fee J1885: 3.45 x 4 units = 13.80", "lesser of charge 40.00: 13.80"),
        FeeLine("J1885", "", 345),
    )


def test_fractional_units_round_half_up_at_the_end_of_the_line() -> None:
    """2.5 units at 0.33 = 0.825, rounded half up once at the end: 0.83 (not 0.82, banker's rounding)."""
    (priced,) = price_claim([line(1, "97110", 5000, units="2.5")], ContractTerms(fees(("97110", "", 33))))
    assert priced.expected_allowed_cents == 83
    assert priced.steps[-1] == "rounded half up to the cent: 0.83"


def test_the_charge_caps_the_rate_when_the_contract_pays_the_lesser_of_the_two() -> None:
    """99213 contracted at 92.00 but billed at 85.00: lesser of 85.00 and 92.00 = 85.00; a contract without the
    lesser-of clause pays the 92.00."""
    terms = ContractTerms(fees(("99213", "", 9200)))
    (capped,) = price_claim([line(1, "99213", 8500)], terms)
    assert (capped.expected_allowed_cents, capped.steps[-1]) == (8500, "lesser of charge 85.00: 85.00")
    (full,) = price_claim([line(1, "99213", 8500)], ContractTerms(fees(("99213", "", 9200)), lesser_of_charge=False))
    assert full.expected_allowed_cents == 9200


def test_a_code_without_a_fee_line_or_default_rule_has_no_rate() -> None:
    (priced,) = price_claim([line(1, "99499", 10000)], ContractTerms(fees(("99213", "", 9200))))
    assert (priced.expected_allowed_cents, priced.rule, priced.fee_line) == (None, "no_rate", None)
    assert "no fee line for 99499" in priced.steps[0]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (line(1, "99213", 9200, units="-1"), "units must be a positive number"),
        (line(1, "99213", 9200, units="0"), "units must be a positive number"),
        (line(1, "99213", -1), "charge must not be negative"),
        (line(1, "69436", 9200, "50", units="2"), "modifier 50 bills both sides on one line with 1 unit"),
    ],
)
def test_a_line_no_payer_would_price_is_refused_with_the_reason(bad: LineToPrice, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        price_claim([bad], ContractTerms(fees(("99213", "", 9200))))


def test_a_line_number_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="line number 1 appears twice"):
        price_claim([line(1, "99213", 9200), line(1, "99214", 9200)], ContractTerms(fees(("99213", "", 9200))))
