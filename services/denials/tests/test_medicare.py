"""CMS's Physician Fee Schedule read from its own CSV layout (denials/domain/medicare.py). The fixture is an excerpt
of the CY 2025 January release (tests/data/README.md); expected amounts are CMS's published fee schedule amounts
where the README names them, else computed by hand in the test's docstring."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from denials.domain.medicare import (
    FACILITY_PLACES_OF_SERVICE,
    GpciRow,
    MedicareSchedule,
    RvuRow,
    is_facility,
    load,
    read_gpcis,
    read_rvus,
)

DATA = Path(__file__).parent / "data"
CF_2025 = Decimal("32.3465")  # CY 2025 PFS final rule; the CONV FACTOR column of every PPRRVU25 row
ARKANSAS, LOS_ANGELES, ALASKA = "0710213", "0118218", "0210201"


@pytest.fixture(scope="module")
def schedule() -> MedicareSchedule:
    return load(DATA / "PPRRVU25_JAN_excerpt.csv", DATA / "GPCI2025_excerpt.csv", CF_2025)


def test_the_rvu_file_is_read_past_its_title_copyright_and_split_header(schedule: MedicareSchedule) -> None:
    assert len(schedule.rvus) == 11
    assert schedule.row("71046", "26") == RvuRow(
        "71046", "26", "A", Decimal("0.22"), Decimal("0.08"), Decimal("0.08"), Decimal("0.01"), "1", "0", "0"
    )
    # NA in the facility column: a global chest X-ray has no facility rate (the facility bills the technical part).
    assert schedule.row("71046").pe_rvu_facility is None  # type: ignore[union-attr]
    assert (schedule.multiple_procedure_indicator("20610"), schedule.bilateral_indicator("20610")) == ("2", "1")
    assert (schedule.multiple_procedure_indicator("99213"), schedule.pctc_indicator("71046")) == ("0", "1")


def test_the_gpci_file_is_read_by_mac_and_locality(schedule: MedicareSchedule) -> None:
    assert sorted(schedule.localities) == [LOS_ANGELES, ALASKA, ARKANSAS]
    assert schedule.locality(ALASKA) == GpciRow(
        "02102", "01", "ALASKA", Decimal("1.5"), Decimal("1.081"), Decimal("0.592")
    )


def test_amounts_match_the_fee_schedule_cms_published_for_arkansas(schedule: MedicareSchedule) -> None:
    """CMS's 2025 payment file for Arkansas (PFAR25A.TXT, MAC 07102 locality 13) lists 20610 at 56.66
    non-facility / 39.97 facility, 20605 at 48.09 / 32.79 and 20802 at 2399.37 in both settings. With the GPCIs
    1.000 / 0.86 / 0.518: 20610 (0.79 + 1.04 x 0.86 + 0.13 x 0.518) x 32.3465 = 1.75174 x 32.3465 = 56.6627;
    20802 has no non-facility PE (NA), so it is paid at the facility rate wherever it is performed."""
    assert schedule.allowed_cents("20610", "", ARKANSAS, facility=False) == 5666
    assert schedule.allowed_cents("20610", "", ARKANSAS, facility=True) == 3997
    assert schedule.allowed_cents("20605", "", ARKANSAS, facility=False) == 4809
    assert schedule.allowed_cents("20605", "", ARKANSAS, facility=True) == 3279
    assert schedule.allowed_cents("20802", "", ARKANSAS, facility=False) == 239937
    assert schedule.allowed_cents("20802", "", ARKANSAS, facility=True) == 239937


def test_the_national_amount_uses_no_geographic_adjustment(schedule: MedicareSchedule) -> None:
    """National (every GPCI 1.000): 99213 (1.30 + 1.35 + 0.10) x 32.3465 = 2.75 x 32.3465 = 88.952875 -> 88.95;
    99214 3.87 x 32.3465 = 125.180955 -> 125.18."""
    assert schedule.allowed_cents("99213", "", None, facility=False) == 8895
    assert schedule.allowed_cents("99214", "", None, facility=False) == 12518


def test_the_same_code_costs_more_where_practice_costs_more(schedule: MedicareSchedule) -> None:
    """99213 non-facility, Los Angeles (1.042 / 1.194 / 0.69): 1.30 x 1.042 + 1.35 x 1.194 + 0.10 x 0.69
    = 1.3546 + 1.6119 + 0.069 = 3.0355 x 32.3465 = 98.1878 -> 98.19; Arkansas (1.000 / 0.86 / 0.518):
    1.30 + 1.161 + 0.0518 = 2.5128 x 32.3465 = 81.2803 -> 81.28; Los Angeles facility (PE 0.57):
    1.3546 + 0.68058 + 0.069 = 2.10418 x 32.3465 = 68.0629 -> 68.06."""
    assert schedule.allowed_cents("99213", "", LOS_ANGELES, facility=False) == 9819
    assert schedule.allowed_cents("99213", "", ARKANSAS, facility=False) == 8128
    assert schedule.allowed_cents("99213", "", LOS_ANGELES, facility=True) == 6806


def test_the_professional_and_technical_components_have_their_own_rows(schedule: MedicareSchedule) -> None:
    """71046 in Arkansas: 26 (0.22 + 0.08 x 0.86 + 0.01 x 0.518) x 32.3465 = 0.29398 x 32.3465 = 9.5092 -> 9.51;
    TC (0.69 x 0.86 + 0.01 x 0.518) x 32.3465 = 0.59858 x 32.3465 = 19.3620 -> 19.36; global 0.89256 x 32.3465
    = 28.8712 -> 28.87. The global and TC have no facility rate; the 26 has."""
    assert schedule.allowed_cents("71046", "26", ARKANSAS, facility=False) == 951
    assert schedule.allowed_cents("71046", "TC", ARKANSAS, facility=False) == 1936
    assert schedule.allowed_cents("71046", "", ARKANSAS, facility=False) == 2887
    assert schedule.allowed_cents("71046", "", ARKANSAS, facility=True) is None
    assert schedule.allowed_cents("71046", "26", ARKANSAS, facility=True) == 951


def test_codes_medicare_does_not_pay_have_no_amount_unless_cms_prices_them_for_other_payers(
    schedule: MedicareSchedule,
) -> None:
    """99024 is bundled (status B); 99242 is status I but carries "+": RVUs CMS publishes for other payers,
    (1.08 + 1.10 + 0.06) x 32.3465 = 2.24 x 32.3465 = 72.45616 -> 72.46 nationally."""
    assert schedule.allowed_cents("99024", "", None, facility=False) is None
    assert schedule.allowed_cents("99999", "", None, facility=False) is None
    assert schedule.allowed_cents("99242", "", None, facility=False) == 7246


def test_an_unknown_locality_is_refused_with_the_known_ones(schedule: MedicareSchedule) -> None:
    with pytest.raises(ValueError, match=r"unknown Medicare locality '0111205'.*0710213"):
        schedule.allowed_cents("99213", "", "0111205", facility=False)


def test_places_of_service_of_a_facility_are_paid_at_the_facility_rate() -> None:
    assert [pos for pos in ("11", "22", "21", "23", "24", "12", "02", "10") if is_facility(pos)] == [
        "22",
        "21",
        "23",
        "24",
        "02",
    ]
    assert not is_facility(None)
    assert "11" not in FACILITY_PLACES_OF_SERVICE


def test_a_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("HCPCS,MOD,WORK RVU,PE RVU\n99213,,1.30,1.35\n")
    with pytest.raises(ValueError, match="not the PPRRVU layout"):
        read_rvus(wrong)
    with pytest.raises(ValueError, match="not a GPCI CSV"):
        read_gpcis(wrong)


def test_a_gpci_file_with_footnotes_and_an_unfloored_column_reads_the_floored_one(tmp_path: Path) -> None:
    """The 2026 file printed the work GPCI with and without the 1.0 floor; Medicare pays with it. Spreadsheet
    exports drop leading zeros (MAC 7102, locality 5); CMS's footnotes follow the table."""
    path = tmp_path / "GPCI2026.csv"
    path.write_text(
        "ADDENDUM E. FINAL CY 2026 GPCIs,,,,,,,\n"
        "Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,"
        "2026 PW GPCI (without 1.0 Floor),2026 PW GPCI (with 1.0 Floor),2026 PE GPCI,2026 MP GPCI\n"
        "7102,AR,13,ARKANSAS,0.970,1.000,0.861,0.520\n"
        "* Alaska has a 1.5 work GPCI floor,,,,,,,\n"
    )
    (row,) = read_gpcis(path)
    assert (row.key, row.work_gpci, row.pe_gpci) == ("0710213", Decimal("1.000"), Decimal("0.861"))


def test_a_bad_number_names_its_line(tmp_path: Path) -> None:
    text = (DATA / "PPRRVU25_JAN_excerpt.csv").read_text().replace("20605,,,A,,0.68", "20605,,,A,,0.6x")
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(ValueError, match=r"bad.csv line 11 \(20605\): '0.6x' is not a number"):
        read_rvus(bad)


def test_the_conversion_factor_must_be_positive() -> None:
    with pytest.raises(ValueError, match="conversion factor must be positive"):
        MedicareSchedule([], [], Decimal(0))
