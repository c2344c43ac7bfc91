"""Denial classification from CAS group + CARC (+ RARC), rules as data (classification.csv)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

from rcm_shared.x12.carc import CONTRACTUAL_CARCS, CONTRACTUAL_GROUPS

Category = Literal[
    "eligibility",
    "authorization",
    "coding_bundling",
    "medical_necessity",
    "missing_information",
    "timely_filing",
    "duplicate",
    "coordination_of_benefits",
    "contractual",
    "contractual_adjustment",
    "patient_responsibility",
    "unclassified",
]
CATEGORIES: tuple[str, ...] = get_args(Category)
# Adjustments that are expected outcomes of a paid claim, not denials.
NOT_DENIALS = frozenset({"contractual_adjustment", "patient_responsibility"})


@dataclass(frozen=True)
class Classification:
    category: str
    root_cause: str
    avoidable: str  # yes | no | partly | unknown
    action: str  # correct_and_resubmit | appeal | bill_secondary | bill_patient | write_off | review
    group: str
    carc: str
    rarc: str | None


UNCLASSIFIED = (
    "unclassified",
    "no rule for this group/CARC/RARC: review and extend classification.csv",
    "unknown",
    "review",
)


@dataclass
class Rules:
    rows: dict[tuple[str, str, str], tuple[str, str, str, str]]

    def classify(self, group: str, carc: str, rarcs: list[str]) -> Classification:
        for rarc in rarcs:
            for g in (group, "*"):
                hit = self.rows.get((g, carc, rarc))
                if hit:
                    return Classification(*hit, group=group, carc=carc, rarc=rarc)
        for g in (group, "*"):
            hit = self.rows.get((g, carc, ""))
            if hit:
                return Classification(*hit, group=group, carc=carc, rarc=rarcs[0] if rarcs else None)
        return Classification(*UNCLASSIFIED, group=group, carc=carc, rarc=rarcs[0] if rarcs else None)


def load_rules(path: Path | None = None) -> Rules:
    text = path.read_text() if path else resources.files("denials.data").joinpath("classification.csv").read_text()
    rows: dict[tuple[str, str, str], tuple[str, str, str, str]] = {}
    reader = csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    for r in reader:
        if r["category"] not in CATEGORIES:
            raise ValueError(f"classification row {r}: unknown category {r['category']!r}")
        rows[(r["group"].strip(), r["carc"].strip(), (r["rarc"] or "").strip())] = (
            r["category"],
            r["root_cause"],
            r["avoidable"],
            r["action"],
        )
    _agree_with_the_contractual_codes(rows)
    return Rules(rows)


def _agree_with_the_contractual_codes(rows: dict[tuple[str, str, str], tuple[str, str, str, str]]) -> None:
    """Claims takes the shared contractual codes out of insurance A/R as contract reductions; a file that
    opened denials on them (or called other codes contractual) would move money out of A/R twice (or
    never): refused."""
    wanted = {(g, c) for g in CONTRACTUAL_GROUPS for c in CONTRACTUAL_CARCS}
    found = {(g, c) for (g, c, rarc), hit in rows.items() if hit[0] == "contractual_adjustment"}
    missing = sorted(f"{g}-{c}" for g, c in wanted if rows.get((g, c, ""), ("",))[0] != "contractual_adjustment")
    extra = sorted(f"{g}-{c}" for g, c in found - wanted)
    if missing or extra:
        raise ValueError(
            "the classification's contractual adjustments must be the shared contractual codes "
            f"(rcm_shared.x12.carc): missing {', '.join(missing) or 'none'}; "
            f"not contractual {', '.join(extra) or 'none'}"
        )


@cache
def default_rules() -> Rules:
    return load_rules()
