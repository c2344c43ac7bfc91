"""Each scrubber rule: one passing case (the clean claim) and one failing case."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from builders.encounters import DOS, TODAY, days_ago, encounter, on
from claims.domain.encounter import ClaimCreate
from claims.domain.ncci import NcciTables, load_mue, load_ptp
from claims.domain.scrubber import Eligibility, ScrubContext, Unresolved, load_payer_rules, rule_texts, scrub

FIXTURES = Path(__file__).parent / "fixtures"


def ncci() -> NcciTables:
    tables = NcciTables()
    load_ptp(FIXTURES / "ncci_ptp_sample.txt", tables)
    load_mue(FIXTURES / "mue_sample.csv", tables)
    return tables


def run(doc: dict[str, Any], **ctx: Any) -> list[Any]:
    context = ScrubContext(today=TODAY, ncci=ncci(), payer_rules=load_payer_rules(), **ctx)
    return scrub(ClaimCreate.model_validate(doc), context)


def rules_of(doc: dict[str, Any], **ctx: Any) -> set[str]:
    return {e.rule for e in run(doc, **ctx)}


def test_clean_claim_has_no_edit() -> None:
    assert run(encounter()) == []


PO_BOX = {"line1": "PO Box 12", "city": "Springfield", "state": "IL", "postal_code": "62701"}
CASES = [
    ("NPI001", {"billing_provider.npi": "1234567890"}),
    ("TAX001", {"billing_provider.tax_id": "12-345678"}),
    ("TAXO001", {"billing_provider.taxonomy": "207Q0000"}),
    ("NAME001", {"subscriber.first_name": ...}),
    ("ADDR001", {"billing_provider.address": PO_BOX}),
    ("DX001", {"diagnoses": ["E11.9", "123"]}),
    ("DX002", {"diagnoses": ["E11"]}),
    ("DX003", {"diagnoses": ["E11.9", "Z99.99"]}),
    ("DX004", {"diagnoses": ["G63", "E11.9"]}),
    ("DX005", {"diagnoses": ["N40.1"]}),
    ("DX006", {"diagnoses": ["P07.14"]}),
    ("DX007", {"diagnoses": ["E11.9", "E11.9"]}),
    ("PROC001", {"lines.0.procedure_code": "9921A"}),  # the shape of a code, but none
    ("PROC001", {"lines.0.procedure_code": "99213XYZW"}),
    ("MOD001", {"lines.0.modifiers": ["2"]}),
    ("PTR001", {"lines.0.diagnosis_pointers": [3]}),
    ("UNIT001", {"lines.0.units": "0"}),
    ("CHG001", {"lines.0.charge": "0.00"}),
    ("CM001", {"lines.0.charge": ...}),  # unpriced: the charge master had no item for it
    ("DATE001", {"lines.1.service_date": "2999-01-01"}),
    ("DATE002", {"subscriber.birth_date": "2030-01-01"}),
    ("POS001", {"facility_code": "98"}),
    ("TF001", {"lines.0.service_date": days_ago(400), "lines.1.service_date": days_ago(400)}),
    ("TF002", {"lines.0.service_date": days_ago(350), "lines.1.service_date": days_ago(350)}),
    ("AUTH001", {"payer.payer_id": "ACME01", "lines.1.procedure_code": "97110"}),
    ("PAYER001", {"payer.payer_id": "ACME01", "lines.1.procedure_code": "S9083"}),
    ("PM002", {"billing_provider": ...}),  # none given, and no practice profile resolved one
    ("PM005", {"facility_code": ...}),
]


@pytest.mark.parametrize(("rule", "changes"), CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_its_case_only(rule: str, changes: dict[str, Any]) -> None:
    edits = run(encounter(**changes))
    assert rule in {e.rule for e in edits}, edits
    edit = next(e for e in edits if e.rule == rule)
    assert edit.severity == rule_texts()[rule].severity and edit.message and edit.field


PATIENT = {
    "last_name": "Doe",
    "first_name": "Timmy",
    "birth_date": "2015-06-01",
    "relationship": "19",
    "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
}


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"subscriber.address": ...}, ["subscriber.address"]),
        ({"subscriber.birth_date": ...}, ["subscriber.birth_date"]),
        ({"subscriber.birth_date": ..., "subscriber.address": ...}, ["subscriber.birth_date", "subscriber.address"]),
        ({"patient": {k: v for k, v in PATIENT.items() if k != "address"}}, ["patient.address"]),
        ({"patient": {k: v for k, v in PATIENT.items() if k != "birth_date"}}, ["patient.birth_date"]),
        (
            {"patient": {k: v for k, v in PATIENT.items() if k not in ("birth_date", "address")}},
            ["patient.birth_date", "patient.address"],
        ),
    ],
)
def test_a_missing_demographic_is_named_by_its_own_field(changes: dict[str, Any], fields: list[str]) -> None:
    """The person billed for is the patient when the claim names one, else the subscriber: each finding names
    the field that is missing, so the fix goes to the right box."""
    edits = [e for e in run(encounter(**changes)) if e.rule == "NAME001"]
    assert [e.field for e in edits] == fields, edits
    assert all(f.split(".")[1].replace("_", " ") in e.message for e, f in zip(edits, fields, strict=True)), edits


def test_a_patient_with_birth_date_and_address_needs_none_from_the_subscriber() -> None:
    doc = encounter(**{"patient": PATIENT, "subscriber.birth_date": ..., "subscriber.address": ...})
    assert "NAME001" not in rules_of(doc)


def test_every_rule_in_the_data_file_is_exercised() -> None:
    exercised = (
        {c[0] for c in CASES}
        | {
            "NCCI001",
            "NCCI002",
            "MUE001",
            "DUP001",
            "ELIG001",
            "ELIG002",
            "PROC002",
            "DATE003",
        }
        | {p.rule for p in UNRESOLVED}
    )
    assert set(rule_texts()) == exercised


# What charge entry's resolution reports (use_cases.references; through the API in test_references).
UNRESOLVED = [
    Unresolved("PM001", {"npi": "1245319599", "date": DOS, "known": "1234567893"}),
    Unresolved(
        "PM003", {"field": "rendering_provider_npi", "role": "rendering provider", "npi": "1679576722", "date": DOS}
    ),
    Unresolved("PM004", {"facility": "NORTH", "date": DOS}),
    Unresolved("PM006", {"field": "facility_id", "what": "service facility", "problem": "refused: name"}),
    Unresolved("PM007", {"payer": "MCRB1", "date": DOS}),
]


def test_a_reference_that_resolved_to_nothing_is_a_finding_naming_its_field_and_the_date() -> None:
    doc = encounter(**{"billing_provider": ..., "facility_code": ...})
    edits = run(doc, unresolved=UNRESOLVED)
    got = [(e.rule, e.severity, e.field) for e in edits if e.rule.startswith("PM")]
    # no PM002 beside PM001 (the reference says why there is no billing provider), nor PM005 beside PM004 (the
    # facility would have given the place of service)
    assert got == [
        ("PM001", "error", "billing_provider_npi"),
        ("PM003", "error", "rendering_provider_npi"),
        ("PM004", "error", "facility_id"),
        ("PM006", "error", "facility_id"),
        ("PM007", "warning", "payer.payer_id"),  # a payer the practice may bill out of network: a warning
    ]
    messages = {e.rule: e.message for e in edits}
    assert f"payer MCRB1 is not among the practice's payer enrollments in effect on {DOS}" in messages["PM007"]
    assert f"NPI 1245319599 is not a billing provider of the practice profile in effect on {DOS}" in messages["PM001"]
    assert "(1234567893)" in messages["PM001"] and "NORTH" in messages["PM004"] and DOS in messages["PM003"]


def test_institutional_rules() -> None:
    doc = encounter(kind="institutional", facility_code="13", **{"lines.0.revenue_code": None})
    found = rules_of(doc)
    assert {"PROC002", "DATE003", "NAME001"} <= found
    ok = encounter(
        kind="institutional",
        facility_code="13",
        statement_from=DOS,
        statement_to=DOS,
        attending_provider=encounter()["rendering_provider"],
        **{"lines.0.revenue_code": "0450", "lines.1.revenue_code": "0300"},
    )
    assert rules_of(ok) == set()


def test_ncci_ptp_and_modifier_handling() -> None:
    # Fixture: 93000 is column 2 of 99214 with modifier indicator 1; 36415 of 99214 with indicator 0.
    pair = {"lines.1.procedure_code": "93000"}
    assert "NCCI002" in rules_of(encounter(**pair))
    for modifier in ("59", "XE", "XS", "XP", "XU"):
        assert "NCCI002" not in rules_of(encounter(**pair, **{"lines.1.modifiers": [modifier]}))
    never = {"lines.1.procedure_code": "36415", "lines.1.modifiers": ["59"]}
    assert "NCCI001" in rules_of(encounter(**never))
    other_day = {**pair, "lines.1.service_date": days_ago(11)}
    assert not {"NCCI001", "NCCI002"} & rules_of(encounter(**other_day))


def test_ncci_deleted_edit_no_longer_applies() -> None:
    # Fixture: 99214/99211 was deleted on 2020-12-31.
    assert "NCCI001" not in rules_of(encounter(**{"lines.1.procedure_code": "99211"}))


def test_mue_limit() -> None:
    assert "MUE001" in rules_of(encounter(**{"lines.1.units": "2"}))  # fixture: 83036 MUE 1
    assert "MUE001" not in rules_of(encounter(**{"lines.1.units": "1"}))


def mue_edits(doc: dict[str, Any], **ctx: Any) -> list[Any]:
    return [e for e in run(doc, **ctx) if e.rule == "MUE001"]


EXTRA_83036 = {
    "procedure_code": "83036",
    "charge": "45.50",
    "units": "1",
    "service_date": DOS,
    "diagnosis_pointers": [1],
}


def test_mue_per_date_of_service_sums_the_lines_of_the_day() -> None:
    # Fixture: 83036 MUE 1, MAI 3 (date of service, clinical): two lines of one unit the same day are two.
    split = encounter(lines=[*encounter()["lines"], EXTRA_83036])
    (edit,) = mue_edits(split)
    assert edit.field == "lines[2].units"
    assert edit.message == f"2 units of 83036 on {DOS} exceed the MUE of 1 per date of service (MAI 3)"
    other_day = encounter(lines=[*encounter()["lines"], {**EXTRA_83036, "service_date": days_ago(11)}])
    assert mue_edits(other_day) == []


def test_mue_per_line_is_not_summed(tmp_path: Path) -> None:
    per_line = tmp_path / "mue.csv"
    per_line.write_text(
        "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator\n83036,1,1 Line Edit\n"
    )
    tables = NcciTables()
    load_mue(per_line, tables)
    split = ClaimCreate.model_validate(encounter(lines=[*encounter()["lines"], EXTRA_83036]))
    assert [e.rule for e in scrub(split, ScrubContext(today=TODAY, ncci=tables, units_billed={}))] == []
    two = ClaimCreate.model_validate(encounter(**{"lines.1.units": "2"}))
    (edit,) = scrub(two, ScrubContext(today=TODAY, ncci=tables))
    assert edit.message == f"2 units of 83036 on {DOS} exceed the MUE of 1 per line (MAI 1)"


def test_mue_per_date_of_service_counts_the_units_of_other_claims() -> None:
    billed = {("83036", on(DOS)): Decimal(1)}
    (edit,) = mue_edits(encounter(), units_billed=billed)
    assert edit.field == "lines[1].units"
    assert edit.message == (
        f"2 units of 83036 on {DOS} exceed the MUE of 1 per date of service (MAI 3; 1 of them on other claims"
        " from this provider)"
    )
    assert mue_edits(encounter(), units_billed={("83036", on(days_ago(11))): Decimal(1)}) == []


def test_a_mue_file_with_an_unknown_adjudication_indicator_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "mue.csv"
    bad.write_text("HCPCS/CPT Code,MUE Values,MUE Adjudication Indicator\n83036,1,X Unknown\n")
    with pytest.raises(ValueError, match=re.escape("mue.csv row 2 (83036): MUE adjudication indicator 'X Unknown'")):
        load_mue(bad, NcciTables())


def test_duplicates_and_eligibility_from_context() -> None:
    assert "DUP001" in rules_of(encounter(), duplicates=["C0001"])
    inactive = Eligibility("inactive", "chk-1", None, None)
    assert "ELIG001" in rules_of(encounter(), eligibility=inactive)
    ended = Eligibility("active", "chk-2", date(2020, 1, 1), date(2021, 1, 1))
    assert "ELIG001" in rules_of(encounter(), eligibility=ended)
    assert "ELIG001" not in rules_of(encounter(), eligibility=Eligibility("active", "chk-3", None, None))


def test_eligibility_required_by_payer_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[default]\ntimely_filing_days = 90\n[payers.MCRB1]\nrequire_eligibility = true\n")
    ctx = ScrubContext(today=TODAY, payer_rules=load_payer_rules(rules))
    found = {e.rule for e in scrub(ClaimCreate.model_validate(encounter()), ctx)}
    assert "ELIG002" in found
    late = encounter(**{"lines.0.service_date": days_ago(100), "lines.1.service_date": days_ago(100)})
    assert "TF001" in {e.rule for e in scrub(ClaimCreate.model_validate(late), ctx)}  # payer's own limit


def test_messages_say_what_to_fix() -> None:
    (edit,) = run(encounter(**{"billing_provider.npi": "1234567890"}))
    assert edit.message == "NPI 1234567890 fails the check digit: re-key it from the NPPES record"
    assert edit.field == "billing_provider.npi" and edit.severity == "error"
