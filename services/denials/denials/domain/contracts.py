"""Payer contracts as documents: a version's terms and fee lines checked field by field (every problem reported
with its row and field), and the version in effect on a date. Pure; the CSV and JSON files contracts are
imported and exported in are ``denials.domain.contract_files``, the pricing of lines under a version
``denials.domain.pricing``.

A contract is a payer's (optionally one plan's) and is changed only by adding a version: its terms, its fee
lines and its window (``effective_from`` to ``effective_to``, open when none). On a date the version in effect
is the newest one (highest number) whose window holds the date, so a later version may correct an earlier
one from any date on, retroactively or for one period, and the versions before it stay as they were."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from denials.domain.pricing import ContractTerms, FeeLine

DEFAULT_RULES = ("none", "percent_of_charges", "percent_of_medicare")
CODE = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")  # CPT (incl. category II/III) or HCPCS level II
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
PAYER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$")
PLAN = re.compile(r"^[A-Za-z0-9 ._-]{0,40}$")
MAX_CENTS = 10**10  # a rate below 100 million dollars
PERCENT_STEP = Decimal("0.0001")
MAX_NAME = 200
TERMS_FIELDS = (
    "default_rule",
    "default_percent",
    "medicare_locality",
    "multiple_procedure",
    "bilateral_percent",
    "lesser_of_charge",
    "professional_component_percent",
)


@dataclass(frozen=True)
class RowError:
    row: int  # CSV: the file's row (the header is row 1); JSON: the contract's position in the list, from 1
    field: str
    reason: str


@dataclass(frozen=True)
class Terms:
    """A version's rules besides its fee lines (``ContractTerms`` without them)."""

    default_rule: str = "none"
    default_percent: Decimal = Decimal(0)
    medicare_locality: str | None = None
    multiple_procedure: bool = True
    bilateral_percent: Decimal = Decimal(150)
    lesser_of_charge: bool = True
    professional_component_percent: Decimal = Decimal(40)


@dataclass(frozen=True)
class NewVersion:
    """A version as entered (an API body, a JSON contract, a group of CSV rows), checked."""

    payer_id: str
    plan: str  # "" for every plan of the payer
    effective_from: date
    effective_to: date | None
    fee_lines: tuple[FeeLine, ...]
    terms: Terms | None = None  # None: the contract's latest version's (a CSV carries fee lines only)
    name: str | None = None
    note: str | None = None
    rows: tuple[int, ...] = ()  # where it came from in an import

    @property
    def key(self) -> tuple[str, str]:
        return (self.payer_id, self.plan)


@dataclass(frozen=True)
class StoredVersion:
    """A stored version: enough to choose it for a date and price under it (its fee lines come apart)."""

    id: str
    contract_id: str
    version: int
    effective_from: date
    effective_to: date | None
    terms: Terms


def covers(v: StoredVersion, on: date) -> bool:
    return v.effective_from <= on and (v.effective_to is None or on <= v.effective_to)


def in_effect(versions: Iterable[StoredVersion], on: date) -> StoredVersion | None:
    """The newest version whose window holds the date, or None (no contract terms that day)."""
    return max((v for v in versions if covers(v, on)), key=lambda v: v.version, default=None)


def contract_terms(terms: Terms, fee_lines: Iterable[FeeLine]) -> ContractTerms:
    return ContractTerms(
        fee_lines={(f.code, f.modifier): f for f in fee_lines},
        default_rule=terms.default_rule,  # type: ignore[arg-type]  # checked against DEFAULT_RULES on entry
        default_percent=terms.default_percent,
        medicare_locality=terms.medicare_locality,
        multiple_procedure=terms.multiple_procedure,
        bilateral_percent=terms.bilateral_percent,
        lesser_of_charge=terms.lesser_of_charge,
        professional_component_percent=terms.professional_component_percent,
    )


class Errors:
    def __init__(self, row: int, prefix: str = "") -> None:
        self.row, self.prefix, self.found = row, prefix, list[RowError]()

    def __call__(self, name: str, reason: str) -> None:
        self.found.append(RowError(self.row, self.prefix + name, reason))


def text_of(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _date(value: Any, name: str, bad: Errors, *, required: bool) -> date | None:
    if isinstance(value, date):
        return value
    text = text_of(value)
    if not text:
        if required:
            bad(name, "a date is required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        bad(name, f"{text!r} is not a date (YYYY-MM-DD)")
        return None


def _percent(value: Any, name: str, bad: Errors, default: Decimal, *, low: Decimal, high: Decimal) -> Decimal:
    if value is None or text_of(value) == "":
        return default
    try:
        number = Decimal(text_of(value).rstrip("%"))
    except InvalidOperation:
        bad(name, f"{value!r} is not a number")
        return default
    if not number.is_finite() or not low <= number <= high:
        bad(name, f"must be between {low} and {high}, not {text_of(value)}")
        return default
    if number != number.quantize(PERCENT_STEP):
        bad(name, f"at most 4 decimals, not {text_of(value)}")
        return default
    return Decimal(format(number.quantize(PERCENT_STEP).normalize(), "f"))  # "62.5", "150": as it is stored


def _flag(value: Any, name: str, bad: Errors, default: bool) -> bool:
    if value is None or isinstance(value, bool):
        return default if value is None else value
    text = text_of(value).lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    bad(name, f"{value!r} is not true or false")
    return default


def check_terms(values: Mapping[str, Any], bad: Errors) -> Terms:
    """The terms of a version; problems go to ``bad`` (the defaults of ``Terms`` fill what is left out)."""
    rule = text_of(values.get("default_rule")) or "none"
    if rule not in DEFAULT_RULES:
        bad("default_rule", f"{rule!r} is not one of {', '.join(DEFAULT_RULES)}")
    percent = _percent(
        values.get("default_percent"), "default_percent", bad, Decimal(0), low=Decimal(0), high=Decimal(1000)
    )
    if rule in DEFAULT_RULES[1:] and percent <= 0:
        bad("default_percent", f"the default rule {rule} needs a percent above 0")
    locality = text_of(values.get("medicare_locality")) or None
    if locality is not None and not re.fullmatch(r"[0-9]{4,12}", locality):
        bad("medicare_locality", f"{locality!r} is not a MAC number + locality number (e.g. 0111205)")
    return Terms(
        default_rule=rule,
        default_percent=percent,
        medicare_locality=locality,
        multiple_procedure=_flag(values.get("multiple_procedure"), "multiple_procedure", bad, True),
        bilateral_percent=_percent(
            values.get("bilateral_percent"), "bilateral_percent", bad, Decimal(150), low=Decimal(0), high=Decimal(300)
        ),
        lesser_of_charge=_flag(values.get("lesser_of_charge"), "lesser_of_charge", bad, True),
        professional_component_percent=_percent(
            values.get("professional_component_percent"),
            "professional_component_percent",
            bad,
            Decimal(40),
            low=Decimal(0),
            high=Decimal(100),
        ),
    )


def _rate_cents(value: Any, name: str, bad: Errors, *, dollars: bool) -> int | None:
    """A rate per unit: dollars with at most 2 decimals (CSV), or whole cents (JSON); above zero."""
    text = text_of(value).lstrip("$").replace(",", "") if dollars else text_of(value)
    if not text:
        bad(name, "a rate is required")
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        bad(name, f"{text!r} is not an amount")
        return None
    cents = number * 100 if dollars else number
    if not number.is_finite() or cents != cents.to_integral_value():
        bad(name, "the rate has more than 2 decimals" if dollars else f"{text} is not a whole number of cents")
        return None
    if cents <= 0 or cents >= MAX_CENTS:
        bad(name, "the rate must be above zero" if cents <= 0 else "the rate is too large")
        return None
    return int(cents)


def check_fee_line(values: Mapping[str, Any], bad: Errors, *, dollars: bool) -> FeeLine | None:
    before = len(bad.found)
    code = text_of(values.get("code")).upper()
    if not CODE.match(code):
        bad("code", f"{code!r} is not a CPT or HCPCS code" if code else "a code is required")
    modifier = text_of(values.get("modifier")).upper()
    if modifier and not MODIFIER.match(modifier):
        bad("modifier", f"{modifier!r} is not a modifier (2 letters or digits; one per line)")
    rate = _rate_cents(
        values.get("rate") if dollars else values.get("rate_cents"),
        "rate" if dollars else "rate_cents",
        bad,
        dollars=dollars,
    )
    if len(bad.found) > before or rate is None:
        return None
    return FeeLine(code, modifier, rate)


def who(values: Mapping[str, Any], bad: Errors) -> tuple[str, str]:
    payer = text_of(values.get("payer_id"))
    if not PAYER.match(payer):
        bad(
            "payer_id",
            f"{payer!r} is not a payer id (letters, digits, . _ - and spaces)" if payer else "a payer id is required",
        )
    plan = text_of(values.get("plan"))
    if not PLAN.match(plan):
        bad("plan", f"{plan!r} is not a plan (at most 40 letters, digits, . _ - and spaces)")
    return payer, plan


def window(values: Mapping[str, Any], bad: Errors) -> tuple[date | None, date | None]:
    start = _date(values.get("effective_from"), "effective_from", bad, required=True)
    end = _date(values.get("effective_to"), "effective_to", bad, required=False)
    if start is not None and end is not None and end < start:
        bad("effective_to", "effective_to is before effective_from")
    return start, end


def check_contract(values: Mapping[str, Any], row: int) -> tuple[NewVersion | None, list[RowError], int]:
    """A contract version as ``GET /v1/contracts/{id}`` shows it (its read-only fields ignored): the version
    (None when anything of it is wrong, a fee line included: a version written without a bad fee line would
    drop that code's rate), every problem, and the number of its fee lines. A fee line twice is a problem of
    the second one."""
    bad = Errors(row)
    payer, plan = who(values, bad)
    start, end = window(values, bad)
    terms = check_terms(values, bad)
    name = text_of(values.get("name")) or None
    if name is not None and len(name) > MAX_NAME:
        bad("name", f"at most {MAX_NAME} characters")
    note = text_of(values.get("note")) or None
    raw = values.get("fee_lines") or []
    if not isinstance(raw, list):
        bad("fee_lines", "must be a list of {code, modifier, rate_cents}")
        raw = []
    lines: dict[tuple[str, str], FeeLine] = {}
    for i, item in enumerate(raw):
        line_bad = Errors(row, f"fee_lines[{i}].")
        if not isinstance(item, Mapping):
            line_bad("", "must be an object {code, modifier, rate_cents}")
        elif (fee := check_fee_line(item, line_bad, dollars=False)) is not None:
            if (fee.code, fee.modifier) in lines:
                line_bad("code", f"{fee.code} {fee.modifier or '(no modifier)'} is listed twice")
            else:
                lines[(fee.code, fee.modifier)] = fee
        bad.found += line_bad.found
    if bad.found or start is None:  # a version is exactly its fee lines: one bad line refuses it whole
        return None, bad.found, 0
    version = NewVersion(payer, plan, start, end, tuple(lines.values()), terms, name, note, (row,))
    return version, bad.found, len(lines)
