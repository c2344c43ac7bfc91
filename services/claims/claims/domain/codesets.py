"""Code sets the scrubber checks against: ICD-10-CM (bundled release), place of service, NPI, formats.

ICD-10-CM comes from ``simple-icd-10-cm`` (CDC release of 2026-04-01). A code it does not know is
reported as "unknown to the bundled release", not as invalid: FY2027 codes are in force but not packaged.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources
from types import ModuleType

from rcm_shared.x12.identifiers import npi_valid

CPT = re.compile(r"^\d{4}[0-9FTU]$")
HCPCS = re.compile(r"^[A-V]\d{4}$")
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
TAXONOMY = re.compile(r"^\d{3}[0-9A-Z]{6}X$")
EIN = re.compile(r"^\d{9}$")
ICD10_SHAPE = re.compile(r"^[A-TV-Z][0-9][0-9A-Z]{1,5}$")
REVENUE = re.compile(r"^\d{4}$")
__all__ = ["npi_valid"]
ICD_RELEASE = "ICD-10-CM 2026-04-01 (CDC, via simple-icd-10-cm 1.5.0)"


@cache
def load_icd() -> ModuleType:
    import simple_icd_10_cm  # ~1.5 s and ~190 MB: loaded once per process, on first use

    module: ModuleType = simple_icd_10_cm
    return module


def icd_status(code: str) -> str:
    """'billable', 'not_billable' (a category with children), 'unknown' (not in the bundle), 'malformed'."""
    if not ICD10_SHAPE.match(code):
        return "malformed"
    cm = load_icd()
    if not cm.is_valid_item(code):
        return "unknown"
    return "billable" if cm.is_leaf(code) else "not_billable"


def icd_code_first(code: str) -> bool:
    """A manifestation code: the code set says to code the underlying condition first."""
    cm = load_icd()
    try:
        # The note may sit on the category (F02 "code first the underlying physiological condition").
        lineage = [code, *(a for a in cm.get_ancestors(code) if cm.is_category_or_subcategory(a))]
        # Only manifestations ("... in diseases classified elsewhere"): a conditional note such as Z23's
        # "code first any routine childhood examination" does not forbid listing the code first.
        manifestation = any("classified elsewhere" in cm.get_description(c).lower() for c in lineage)
        return manifestation and any(cm.get_code_first(c) for c in lineage)
    except ValueError:
        return False


# Sex and age edits the code set's structure implies (chapter/block ranges of ICD-10-CM).
_FEMALE = (("O00", "O9A"), ("N70", "N9A"), ("C51", "C58"), ("D06", "D07"), ("Z32", "Z39"))
_MALE = (("N40", "N53"), ("C60", "C63"))
_NEWBORN = (("P00", "P96"), ("Z38", "Z38"))


def _in(code: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    head = code[:3]
    return any(lo <= head <= hi for lo, hi in ranges)


def icd_sex(code: str) -> str | None:
    """'F' or 'M' when the code applies to one sex only, else None."""
    if _in(code, _FEMALE):
        return "F"
    if _in(code, _MALE):
        return "M"
    return None


def icd_newborn(code: str) -> bool:
    return _in(code, _NEWBORN)


def icd_maternity(code: str) -> bool:
    return code[:1] == "O"


@cache
def places_of_service() -> dict[str, str]:
    text = resources.files("claims.data").joinpath("place_of_service.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["code"]: r["name"] for r in rows}
