"""The pricing rules of a payer contract (denials/domain/pricing.py), each with a worked example whose figures
are computed by hand in the test's docstring."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from denials.domain.medicare import MedicareSchedule, load
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


# --- rules that read Medicare's indicators and amounts: the CY 2025 excerpt of tests/data (README.md there) ---

DATA = Path(__file__).parent / "data"
ARKANSAS, LOS_ANGELES = "0710213", "0118218"


@pytest.fixture(scope="module")
def medicare() -> MedicareSchedule:
    return load(DATA / "PPRRVU25_JAN_excerpt.csv", DATA / "GPCI2025_excerpt.csv", Decimal("32.3465"))


JOINTS = fees(("20610", "", 7500), ("20605", "", 6000), ("99213", "", 9200))


def test_multiple_procedures_rank_by_allowed_and_pay_the_second_at_half(medicare: MedicareSchedule) -> None:
    """An office visit (99213-25) and two joint injections the same day; 20605 is billed first with modifier 51.
    Ranked by allowed, not by line order: 20610 75.00 is the primary at 100 %, 20605 60.00 the second at 50 %
    = 30.00; 99213 (multiple procedure indicator 0) is not part of the reduction: 92.00."""
    lines = [line(1, "99213", 15000, "25"), line(2, "20605", 12000, "51"), line(3, "20610", 15000)]
    visit, second, primary = price_claim(lines, ContractTerms(JOINTS), medicare)
    assert (visit.expected_allowed_cents, second.expected_allowed_cents, primary.expected_allowed_cents) == (
        9200,
        3000,
        7500,
    )
    assert second.steps[1] == f"multiple procedures: rank 2 of 2 on {DOS}, 50% = 30.00"
    assert primary.steps[1] == f"multiple procedures: rank 1 of 2 on {DOS}, 100%"
    assert visit.steps == ("fee 99213: 92.00 x 1 unit = 92.00", "lesser of charge 150.00: 92.00")


def test_indicator_2_reduces_without_modifier_51_as_cms_does(medicare: MedicareSchedule) -> None:
    """Neither line carries 51, but Medicare marks both codes multiple procedure indicator 2: 75.00 + 30.00."""
    lines = [line(1, "20610", 15000), line(2, "20605", 12000)]
    assert [p.expected_allowed_cents for p in price_claim(lines, ContractTerms(JOINTS), medicare)] == [7500, 3000]


def test_procedures_on_different_days_are_not_reduced_together(medicare: MedicareSchedule) -> None:
    lines = [line(1, "20610", 15000), line(2, "20605", 12000, dos=DOS + timedelta(days=1))]
    assert [p.expected_allowed_cents for p in price_claim(lines, ContractTerms(JOINTS), medicare)] == [7500, 6000]


def test_a_contract_without_the_reduction_pays_every_procedure_in_full(medicare: MedicareSchedule) -> None:
    lines = [line(1, "20610", 15000), line(2, "20605", 12000, "51")]
    terms = ContractTerms(JOINTS, multiple_procedure=False)
    assert [p.expected_allowed_cents for p in price_claim(lines, terms, medicare)] == [7500, 6000]


def test_without_medicare_indicators_modifier_51_marks_the_secondary_procedure() -> None:
    """No schedule loaded: the provider's modifier 51 is all there is. 20605-51 is reduced to 60.00 x 50 % =
    30.00; 20610 without 51 is its primary at 75.00. Two lines with 51 and no primary among them: each is a
    secondary procedure (the primary is a line outside the rule), 50 % each: 37.50 and 30.00."""
    lines = [line(1, "20610", 15000), line(2, "20605", 12000, "51")]
    assert [p.expected_allowed_cents for p in price_claim(lines, ContractTerms(JOINTS))] == [7500, 3000]
    both = [line(1, "20610", 15000, "51"), line(2, "20605", 12000, "51")]
    priced = price_claim(both, ContractTerms(JOINTS))
    assert [p.expected_allowed_cents for p in priced] == [3750, 3000]
    assert "after a primary procedure outside the reduction" in priced[0].steps[1]


def test_bilateral_pays_150_percent_of_one_side_on_one_line(medicare: MedicareSchedule) -> None:
    """20610-50 (bilateral indicator 1), 1 unit, fee 75.00: 75.00 x 150 % = 112.50, under the charge 300.00.
    Without a schedule the contract's 150 % applies the same way."""
    (both_knees,) = price_claim([line(1, "20610", 30000, "50")], ContractTerms(JOINTS), medicare)
    assert both_knees.expected_allowed_cents == 11250
    assert both_knees.steps[1] == "bilateral (50, Medicare bilateral indicator 1): 150% = 112.50"
    (no_schedule,) = price_claim([line(1, "20610", 30000, "50")], ContractTerms(JOINTS))
    assert no_schedule.expected_allowed_cents == 11250


def test_bilateral_follows_medicare_indicators_3_and_0(medicare: MedicareSchedule) -> None:
    """70332 (jaw joint X-ray) has bilateral indicator 3, each side priced on its own: 40.00 x 200 % = 80.00;
    71046 (indicator 0, modifier 50 not applicable) stays at 100 %: 30.00."""
    terms = ContractTerms(fees(("70332", "", 4000), ("71046", "", 3000)))
    jaw, chest = price_claim([line(1, "70332", 20000, "50"), line(2, "71046", 20000, "50")], terms, medicare)
    assert (jaw.expected_allowed_cents, chest.expected_allowed_cents) == (8000, 3000)


def test_bilateral_does_not_apply_to_a_code_of_indicator_9(medicare: MedicareSchedule) -> None:
    """99242 (office consultation; bilateral indicator 9: the concept does not apply) billed with modifier 50 at
    a contract rate of 70.00: 70.00 at 100 %, not 105.00."""
    (consult,) = price_claim([line(1, "99242", 20000, "50")], ContractTerms(fees(("99242", "", 7000))), medicare)
    assert consult.expected_allowed_cents == 7000
    assert consult.steps[1] == "bilateral (50, Medicare bilateral indicator 9): 100% = 70.00"


def test_a_bilateral_procedure_ranks_at_its_150_percent_amount(medicare: MedicareSchedule) -> None:
    """20605 60.00 and 20610-50 112.50 the same day: the bilateral line ranks first at 112.50 (100 %), 20605
    second at 30.00, as CMS ranks the bilateral-adjusted amount."""
    lines = [line(1, "20605", 12000), line(2, "20610", 30000, "50")]
    assert [p.expected_allowed_cents for p in price_claim(lines, ContractTerms(JOINTS), medicare)] == [3000, 11250]


def test_a_contract_rate_for_the_professional_component_is_used_as_is(medicare: MedicareSchedule) -> None:
    """71046-26 with a contract line (71046, 26) at 12.00: 12.00, and that is the line an appeal cites."""
    terms = ContractTerms(fees(("71046", "", 4000), ("71046", "26", 1200)))
    (read,) = price_claim([line(1, "71046", 9000, "26", pos="22")], terms, medicare)
    assert (read.expected_allowed_cents, read.fee_line) == (1200, FeeLine("71046", "26", 1200))


def test_a_global_rate_is_split_in_medicare_proportions(medicare: MedicareSchedule) -> None:
    """Only a global rate of 40.00 for 71046; Medicare in Arkansas (the contract's locality), non-facility:
    26 9.51, TC 19.36, global 28.87 (test_medicare.py). 26: 40.00 x 9.51 / 28.87 = 13.1763 -> 13.18;
    TC: 40.00 x 19.36 / 28.87 = 26.8237 -> 26.82."""
    terms = ContractTerms(fees(("71046", "", 4000)), medicare_locality=ARKANSAS)
    lines = [line(1, "71046", 9000, "26", pos="22"), line(2, "71046", 9000, "TC")]
    professional, technical = price_claim(lines, terms, medicare)
    assert (professional.expected_allowed_cents, technical.expected_allowed_cents) == (1318, 2682)
    assert professional.steps[1].startswith("26 share of the global rate (Medicare 71046-26 9.51 / global 28.87)")
    assert professional.fee_line == FeeLine("71046", "", 4000)


def test_without_medicare_the_contract_split_is_40_60() -> None:
    """No schedule: the stated split, professional 40 % of 40.00 = 16.00, technical 60 % = 24.00."""
    terms = ContractTerms(fees(("71046", "", 4000)))
    lines = [line(1, "71046", 9000, "26"), line(2, "71046", 9000, "TC")]
    assert [p.expected_allowed_cents for p in price_claim(lines, terms)] == [1600, 2400]


def test_percent_of_billed_charges() -> None:
    """No fee line for 99214, default 80 % of charges: 150.00 x 80 % = 120.00; at 120 % the lesser-of clause
    caps 180.00 at the charge 150.00."""
    (eighty,) = price_claim([line(1, "99214", 15000)], ContractTerms({}, "percent_of_charges", Decimal(80)))
    assert (eighty.expected_allowed_cents, eighty.rule) == (12000, "percent_of_charges")
    (capped,) = price_claim([line(1, "99214", 15000)], ContractTerms({}, "percent_of_charges", Decimal(120)))
    assert capped.expected_allowed_cents == 15000


def test_percent_of_medicare_follows_the_locality_and_the_place_of_service(medicare: MedicareSchedule) -> None:
    """120 % of Medicare for 20610: Arkansas office 56.66 x 1.2 = 67.992 -> 67.99; Arkansas outpatient hospital
    (POS 22, facility) 39.97 x 1.2 = 47.964 -> 47.96; Los Angeles office (1.042 / 1.194 / 0.69):
    (0.79 x 1.042 + 1.04 x 1.194 + 0.13 x 0.69) x 32.3465 = 2.15464 x 32.3465 = 69.6951 -> 69.70, x 1.2 = 83.64."""

    def at(locality: str, pos: str) -> PricedLine:
        terms = ContractTerms({}, "percent_of_medicare", Decimal(120), medicare_locality=locality)
        return price_claim([line(1, "20610", 20000, pos=pos)], terms, medicare)[0]

    office = at(ARKANSAS, "11")
    assert (office.expected_allowed_cents, office.rule) == (6799, "percent_of_medicare")
    assert office.steps[0] == "Medicare 20610 (ARKANSAS, non-facility): 56.66"
    assert at(ARKANSAS, "22").expected_allowed_cents == 4796
    assert at(LOS_ANGELES, "11").expected_allowed_cents == 8364


def test_percent_of_medicare_prices_the_component_row(medicare: MedicareSchedule) -> None:
    """71046-26 in Arkansas at 120 %: 9.51 x 1.2 = 11.412 -> 11.41; a bundled code (99024, status B) has no rate."""
    terms = ContractTerms({}, "percent_of_medicare", Decimal(120), medicare_locality=ARKANSAS)
    read, bundled = price_claim([line(1, "71046", 9000, "26"), line(2, "99024", 5000)], terms, medicare)
    assert read.expected_allowed_cents == 1141
    assert (bundled.expected_allowed_cents, bundled.rule) == (None, "no_rate")


def test_percent_of_medicare_needs_a_schedule_and_a_known_locality(medicare: MedicareSchedule) -> None:
    terms = ContractTerms({}, "percent_of_medicare", Decimal(120), medicare_locality="0111205")
    with pytest.raises(ValueError, match="unknown Medicare locality '0111205'"):
        price_claim([line(1, "20610", 20000)], terms, medicare)
    with pytest.raises(ValueError, match="no Medicare fee schedule is loaded"):
        price_claim([line(1, "20610", 20000)], ContractTerms({}, "percent_of_medicare", Decimal(120)))


def test_a_contract_line_for_a_modifier_carries_that_modifiers_price(medicare: MedicareSchedule) -> None:
    """A contract that prices 20610-50 itself at 100.00 is not raised by 150 % again."""
    terms = ContractTerms(fees(("20610", "", 7500), ("20610", "50", 10000)))
    (both_knees,) = price_claim([line(1, "20610", 30000, "50")], terms, medicare)
    assert (both_knees.expected_allowed_cents, both_knees.steps[0]) == (10000, "fee 20610-50: 100.00 x 1 unit = 100.00")


def test_the_trail_shows_fractions_of_a_cent_to_four_places_and_rounds_once(medicare: MedicareSchedule) -> None:
    """40.00 x 9.51 / 28.87 = 13.17630758... shown as 13.1763..., rounded half up at the end: 13.18."""
    terms = ContractTerms(fees(("71046", "", 4000)), medicare_locality=ARKANSAS)
    (read,) = price_claim([line(1, "71046", 9000, "26")], terms, medicare)
    assert read.steps[1].endswith("): 13.1763...")
    assert read.steps[-1] == "rounded half up to the cent: 13.18"
