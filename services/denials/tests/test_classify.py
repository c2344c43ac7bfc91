"""Denial classification (denials/domain/classify.py): every category from its CARC/RARC codes, the contractual
codes and the patient's share no denial, a classification file checked against the contractual codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders.events import adj
from denials.domain.classify import CATEGORIES, default_rules
from denials.domain.triage import findings

# What a billing specialist files each adjustment under, written from the X12 CARC/RARC code lists (the
# comment is the code's meaning), not read from classification.csv. (group, CARC, RARCs, category)
DENIAL_CASES = [
    ("CO", "27", [], "eligibility"),  # expenses incurred after coverage terminated
    ("CO", "31", [], "eligibility"),  # patient cannot be identified as our insured
    ("CO", "197", [], "authorization"),  # precertification/authorization/notification absent
    ("CO", "15", [], "authorization"),  # the authorization number is missing, invalid or does not apply
    ("CO", "97", [], "coding_bundling"),  # included in the allowance for another service
    ("CO", "4", [], "coding_bundling"),  # procedure code inconsistent with the modifier used
    ("CO", "50", [], "medical_necessity"),  # not deemed a medical necessity by the payer
    ("CO", "16", ["N290"], "missing_information"),  # lacks information: rendering provider id missing
    ("CO", "16", [], "missing_information"),  # claim lacks information or has submission/billing errors
    ("CO", "29", [], "timely_filing"),  # the time limit for filing has expired
    ("OA", "18", [], "duplicate"),  # exact duplicate claim/service
    ("OA", "22", [], "coordination_of_benefits"),  # may be covered by another payer (COB)
    ("CO", "109", [], "coordination_of_benefits"),  # not covered by this payer: send to the correct one
    ("CO", "96", [], "contractual"),  # non-covered charge(s)
    ("PR", "204", [], "contractual"),  # not covered under the patient's current benefit plan
    ("CO", "Z99", [], "unclassified"),  # no such CARC: a person must look
]


# Adjustments of a claim processed as agreed: the fee schedule and the patient's share deny nothing.
NOT_DENIAL_CASES = [
    ("CO", "45", "contractual_adjustment"),  # charge exceeds fee schedule/maximum allowable
    ("CO", "253", "contractual_adjustment"),  # sequestration reduction
    ("PR", "1", "patient_responsibility"),  # deductible amount
    ("PR", "2", "patient_responsibility"),  # coinsurance amount
    ("PR", "3", "patient_responsibility"),  # co-payment amount
]


@pytest.mark.parametrize(
    ("group", "carc", "rarcs", "category"),
    DENIAL_CASES,
    ids=["-".join(c[:2]) + "".join(f"+{r}" for r in c[2]) for c in DENIAL_CASES],
)
def test_every_category(group: str, carc: str, rarcs: list[str], category: str) -> None:
    rules = default_rules()
    (f,) = findings(adj("C1", 0, [(group, carc, 10000, None)], remarks=rarcs), rules)
    assert (f.classification.category, f.amount_cents, f.line_number) == (category, 10000, None)
    assert f.carcs == [f"{group}-{carc}"] and f.rarcs == rarcs
    # the same adjustment on one line of a paid claim denies that line, under the same category
    paid = adj("C2", 5000, [(group, carc, 5000, 2)], lines=[(5000, 5000), (5000, 0)], remarks=rarcs)
    (line,) = findings(paid, rules)
    assert (line.classification.category, line.amount_cents, line.line_number) == (category, 5000, 2)


@pytest.mark.parametrize(
    ("group", "carc", "category"), NOT_DENIAL_CASES, ids=[f"{c[0]}-{c[1]}" for c in NOT_DENIAL_CASES]
)
def test_contractual_adjustments_and_the_patient_share_are_no_denial(group: str, carc: str, category: str) -> None:
    rules = default_rules()
    assert rules.classify(group, carc, []).category == category
    assert findings(adj("C1", 0, [(group, carc, 10000, None)]), rules) == []
    assert findings(adj("C2", 5000, [(group, carc, 5000, 1)], lines=[(10000, 5000)]), rules) == []


def test_the_cases_name_every_category() -> None:
    """A category added to the classifier needs its case above."""
    named = {c[3] for c in DENIAL_CASES} | {c[2] for c in NOT_DENIAL_CASES}
    assert named == set(CATEGORIES)


def test_rarc_refines_the_classification() -> None:
    rules = default_rules()
    assert rules.classify("CO", "16", ["N290"]).root_cause == "rendering provider identifier missing or invalid"
    assert rules.classify("CO", "16", []).root_cause == "claim lacks information or has submission errors"


def test_the_contractual_codes_claims_adjusts_open_no_denial() -> None:
    """Claims takes these out of A/R as contractual (the shared code list): a denial on them would move the
    same money out again."""
    from denials.domain.triage import findings
    from rcm_shared.x12.carc import CONTRACTUAL_CARCS, CONTRACTUAL_GROUPS

    rules = default_rules()
    for group in sorted(CONTRACTUAL_GROUPS):
        for carc in sorted(CONTRACTUAL_CARCS):
            event = adj("C1", 8000, [(group, carc, 2000, 1)], lines=[(10000, 8000)])
            assert findings(event, rules) == [], (group, carc)
            assert rules.classify(group, carc, []).category == "contractual_adjustment", (group, carc)


def test_a_classification_file_that_disagrees_with_the_contractual_codes_is_refused(tmp_path: Path) -> None:
    from denials.domain.classify import load_rules

    header = "group,carc,rarc,category,root_cause,avoidable,action\n"
    missing = tmp_path / "missing.csv"
    missing.write_text(header + "CO,45,,contractual_adjustment,fee schedule,no,write_off\n")
    with pytest.raises(ValueError, match="contractual"):
        load_rules(missing)
    default = (Path(__file__).parents[1] / "denials" / "data" / "classification.csv").read_text()
    extra = tmp_path / "extra.csv"
    extra.write_text(default + "CO,50,,contractual_adjustment,medical necessity,no,write_off\n")
    with pytest.raises(ValueError, match="CO-50"):
        load_rules(extra)
