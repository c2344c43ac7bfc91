"""The rules of the practice master data (claims.domain.practice, practice_checks), without I/O: the NPI's
check digit, tax ids, addresses the 837 accepts, the version in effect on a date."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from claims.domain.practice import (
    Address,
    BillingProvider,
    Connection,
    Enrollment,
    Profile,
    Provider,
    StatementHeader,
    from_document,
    in_effect,
    npi_is_valid,
    to_document,
)
from claims.domain.practice_checks import FieldError, check_enrollment, check_profile

STREET = Address("100 Main St", "Springfield", "il", "62701-1234")
# Dates pinned: these rules compare versions with each other, never with today.
JAN, JUL = date(2025, 1, 1), date(2025, 7, 1)


def profile(**provider: object) -> Profile:
    bp = BillingProvider(
        **{"npi": "1234567893", "name": "Valley", "tax_id": "12-3456789", "address": STREET, **provider}
    )
    return Profile(
        version=0,
        effective_from=JAN,
        legal_name="Valley LLC",
        billing_providers=(bp,),
        statement=StatementHeader(
            "Valley", Address("1 Elm St", "Springfield", "IL", "62701"), "1 (800) 555-0100", pay_by_mail="PO Box 1"
        ),
        connections=(Connection("sandbox", "VALLEY01", "CLEARINGHOUSE", "Valley", "800.555.0100"),),
    )


def fields(result: object) -> list[str]:
    assert isinstance(result, list), result
    return [e.field for e in result if isinstance(e, FieldError)]


@pytest.mark.parametrize(
    ("npi", "valid"),
    [
        ("1234567893", True),  # the NPI standard's worked example: 80840 123456789, check digit 3
        ("1234567890", False),
        ("1679576722", True),
        ("123456789", False),
        ("12345678931", False),
        ("12345678a3", False),
    ],
)
def test_an_npi_is_valid_when_its_last_digit_is_the_luhn_check_digit_of_80840_and_the_first_nine(
    npi: str, valid: bool
) -> None:
    assert npi_is_valid(npi) is valid


def test_a_valid_profile_is_normalized_as_the_837_writes_it() -> None:
    checked = check_profile(profile(taxonomy="207q00000x"))
    assert isinstance(checked, Profile)
    bp = checked.billing_provider
    assert (bp.tax_id, bp.taxonomy, bp.address.state, bp.address.postal_code) == (
        "123456789",
        "207Q00000X",
        "IL",
        "627011234",
    )
    assert (checked.statement.phone, checked.statement.phone_display) == ("8005550100", "(800) 555-0100")
    assert checked.connections[0].contact_phone == "8005550100"
    assert checked.connections[0].receiver == "sandbox"  # 1000B names the connection when no receiver name


@pytest.mark.parametrize(
    ("provider", "field"),
    [
        ({"npi": "1234567890"}, "billing_providers.0.npi"),
        ({"tax_id": "07-1234567"}, "billing_providers.0.tax_id"),  # 07: no EIN is assigned under it
        ({"tax_id": "12345678"}, "billing_providers.0.tax_id"),
        ({"tax_id": "666-12-3456", "tax_id_type": "SSN", "is_person": True}, "billing_providers.0.tax_id"),
        ({"tax_id": "123-00-4567", "tax_id_type": "SSN", "is_person": True}, "billing_providers.0.tax_id"),
        ({"tax_id": "123-45-6789", "tax_id_type": "SSN"}, "billing_providers.0.tax_id_type"),  # an organization
        ({"taxonomy": "207Q00000"}, "billing_providers.0.taxonomy"),
        ({"address": replace(STREET, postal_code="62701")}, "billing_providers.0.address.postal_code"),
        ({"address": replace(STREET, line1="P.O. Box 9")}, "billing_providers.0.address.line1"),
        ({"address": replace(STREET, state="XX")}, "billing_providers.0.address.state"),
        ({"first_name": "Ann"}, "billing_providers.0.first_name"),
    ],
)
def test_each_wrong_billing_provider_field_is_named(provider: dict[str, object], field: str) -> None:
    assert fields(check_profile(profile(**provider))) == [field]


def test_a_person_may_bill_under_a_valid_ssn() -> None:
    checked = check_profile(profile(tax_id="123-45-6789", tax_id_type="SSN", is_person=True, first_name="Ann"))
    assert isinstance(checked, Profile) and checked.billing_provider.tax_id == "123456789"


def test_an_enrollment_names_only_the_practices_connections() -> None:
    e = Enrollment("MCRB1", "Medicare", "mb", JAN, {"sandbox": "00952", "gone": "X"})
    known = {c.name: c for c in profile().connections}
    assert fields(check_enrollment(e, known)) == ["connection_payer_ids.gone"]
    ok = check_enrollment(replace(e, connection_payer_ids={"sandbox": "00952"}), known)
    assert isinstance(ok, Enrollment) and ok.claim_filing_indicator == "MB" and ok.payer_id_at("sandbox") == "00952"


def test_on_a_date_the_newest_version_whose_window_holds_it_applies() -> None:
    """Like the payer contracts: a later version may start on any date, before the others (backdated) or on
    the same day (a correction), for good or for a window; the versions before it stay as they were."""
    v1 = Provider("1679576722", "Smith", JUL, version=1)
    v2 = Provider("1679576722", "Smyth", JUL, version=2)  # the same day: a typo fixed
    v3 = Provider("1679576722", "Smith", JAN, version=3, effective_to=date(2025, 3, 31))  # backdated, one quarter
    versions = [v3, v1, v2]
    assert in_effect(versions, date(2024, 12, 31)) is None
    assert in_effect(versions, JAN) is v3 and in_effect(versions, date(2025, 3, 31)) is v3
    assert in_effect(versions, date(2025, 4, 1)) is None  # no version's window holds it
    assert in_effect(versions, JUL) is v2 and in_effect(versions, date(2030, 1, 1)) is v2
    v4 = Provider("1679576722", "Smith-Jones", JAN, version=4)  # from January on, for good: wins everywhere
    assert all(in_effect([*versions, v4], d) is v4 for d in (JAN, date(2025, 4, 1), JUL))


def test_a_profile_reads_back_from_its_stored_document() -> None:
    checked = check_profile(profile())
    assert isinstance(checked, Profile)
    stored = replace(checked, version=3, pay_to=Address("PO Box 1", "Springfield", "IL", "62701"))
    assert from_document(3, JAN, None, "Valley LLC", to_document(stored)) == stored
