"""Payer contracts as documents: a version's terms and fee lines checked field by field (every problem reported
with its row and field), the version in effect on a date, and the CSV and JSON shapes contracts are imported
and exported in. Pure; the pricing of lines under a version is ``denials.domain.pricing``.

A contract is a payer's (optionally one plan's) and is changed only by adding a version: its terms, its fee
lines and its window (``effective_from`` to ``effective_to``, open when none). On a date the version in effect
is the newest one (highest number) whose window holds the date, so a later version may correct an earlier
one from any date on, retroactively or for one period, and the versions before it stay as they were."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from denials.domain.pricing import ContractTerms, FeeLine

CSV_HEADER = ("payer_id", "plan", "code", "modifier", "rate", "effective_from", "effective_to")
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


class _Errors:
    def __init__(self, row: int, prefix: str = "") -> None:
        self.row, self.prefix, self.found = row, prefix, list[RowError]()

    def __call__(self, name: str, reason: str) -> None:
        self.found.append(RowError(self.row, self.prefix + name, reason))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _date(value: Any, name: str, bad: _Errors, *, required: bool) -> date | None:
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        if required:
            bad(name, "a date is required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        bad(name, f"{text!r} is not a date (YYYY-MM-DD)")
        return None


def _percent(value: Any, name: str, bad: _Errors, default: Decimal, *, low: Decimal, high: Decimal) -> Decimal:
    if value is None or _text(value) == "":
        return default
    try:
        number = Decimal(_text(value).rstrip("%"))
    except InvalidOperation:
        bad(name, f"{value!r} is not a number")
        return default
    if not number.is_finite() or not low <= number <= high:
        bad(name, f"must be between {low} and {high}, not {_text(value)}")
        return default
    if number != number.quantize(PERCENT_STEP):
        bad(name, f"at most 4 decimals, not {_text(value)}")
        return default
    return Decimal(format(number.quantize(PERCENT_STEP).normalize(), "f"))  # "62.5", "150": as it is stored


def _flag(value: Any, name: str, bad: _Errors, default: bool) -> bool:
    if value is None or isinstance(value, bool):
        return default if value is None else value
    text = _text(value).lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    bad(name, f"{value!r} is not true or false")
    return default


def check_terms(values: Mapping[str, Any], bad: _Errors) -> Terms:
    """The terms of a version; problems go to ``bad`` (the defaults of ``Terms`` fill what is left out)."""
    rule = _text(values.get("default_rule")) or "none"
    if rule not in DEFAULT_RULES:
        bad("default_rule", f"{rule!r} is not one of {', '.join(DEFAULT_RULES)}")
    percent = _percent(
        values.get("default_percent"), "default_percent", bad, Decimal(0), low=Decimal(0), high=Decimal(1000)
    )
    if rule in DEFAULT_RULES[1:] and percent <= 0:
        bad("default_percent", f"the default rule {rule} needs a percent above 0")
    locality = _text(values.get("medicare_locality")) or None
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


def _rate_cents(value: Any, name: str, bad: _Errors, *, dollars: bool) -> int | None:
    """A rate per unit: dollars with at most 2 decimals (CSV), or whole cents (JSON); above zero."""
    text = _text(value).lstrip("$").replace(",", "") if dollars else _text(value)
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


def check_fee_line(values: Mapping[str, Any], bad: _Errors, *, dollars: bool) -> FeeLine | None:
    before = len(bad.found)
    code = _text(values.get("code")).upper()
    if not CODE.match(code):
        bad("code", f"{code!r} is not a CPT or HCPCS code" if code else "a code is required")
    modifier = _text(values.get("modifier")).upper()
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


def _who(values: Mapping[str, Any], bad: _Errors) -> tuple[str, str]:
    payer = _text(values.get("payer_id"))
    if not PAYER.match(payer):
        bad(
            "payer_id",
            f"{payer!r} is not a payer id (letters, digits, . _ - and spaces)" if payer else "a payer id is required",
        )
    plan = _text(values.get("plan"))
    if not PLAN.match(plan):
        bad("plan", f"{plan!r} is not a plan (at most 40 letters, digits, . _ - and spaces)")
    return payer, plan


def _window(values: Mapping[str, Any], bad: _Errors) -> tuple[date | None, date | None]:
    start = _date(values.get("effective_from"), "effective_from", bad, required=True)
    end = _date(values.get("effective_to"), "effective_to", bad, required=False)
    if start is not None and end is not None and end < start:
        bad("effective_to", "effective_to is before effective_from")
    return start, end


@dataclass
class Checked:
    """What an import found: the versions its good rows make, every bad row, how many data rows it read and
    how many of them were good."""

    versions: list[NewVersion]
    rejected: list[RowError]
    rows: int
    accepted: int


def check_contract(values: Mapping[str, Any], row: int) -> tuple[NewVersion | None, list[RowError], int]:
    """A contract version as ``GET /v1/contracts/{id}`` shows it (its read-only fields ignored): the version
    with its good fee lines (None when the contract itself is wrong, or every fee line it had is), every
    problem, and the number of good fee lines. A fee line twice is a problem of the second one."""
    bad = _Errors(row)
    payer, plan = _who(values, bad)
    start, end = _window(values, bad)
    terms = check_terms(values, bad)
    name = _text(values.get("name")) or None
    if name is not None and len(name) > MAX_NAME:
        bad("name", f"at most {MAX_NAME} characters")
    note = _text(values.get("note")) or None
    raw = values.get("fee_lines") or []
    if not isinstance(raw, list):
        bad("fee_lines", "must be a list of {code, modifier, rate_cents}")
        raw = []
    whole = list(bad.found)
    lines: dict[tuple[str, str], FeeLine] = {}
    for i, item in enumerate(raw):
        line_bad = _Errors(row, f"fee_lines[{i}].")
        if not isinstance(item, Mapping):
            line_bad("", "must be an object {code, modifier, rate_cents}")
        elif (fee := check_fee_line(item, line_bad, dollars=False)) is not None:
            if (fee.code, fee.modifier) in lines:
                line_bad("code", f"{fee.code} {fee.modifier or '(no modifier)'} is listed twice")
            else:
                lines[(fee.code, fee.modifier)] = fee
        bad.found += line_bad.found
    if whole or start is None or (raw and not lines):
        if raw and not lines and not whole:
            bad("fee_lines", "no good fee line is left: nothing of this contract is taken")
        return None, bad.found, 0
    version = NewVersion(payer, plan, start, end, tuple(lines.values()), terms, name, note, (row,))
    return version, bad.found, len(lines)


def read_json(document: Any) -> Checked:
    """Contracts as JSON: one contract object or a list of them, each in the shape the API returns."""
    items = document if isinstance(document, list) else [document]
    out = Checked([], [], len(items), 0)
    for row, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            out.rejected.append(RowError(row, "", "a contract is a JSON object"))
            continue
        version, errors, good = check_contract(item, row)
        out.rejected += errors
        out.accepted += good
        if version is not None:
            out.versions.append(version)
    return out


class BadFile(ValueError):
    """The file is no contract CSV (its header, a row's number of fields): nothing of it is read."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(f"row {row}: {reason}")
        self.row = row


def read_csv(text: str) -> Checked:
    """Fee lines as CSV with the header ``CSV_HEADER``; the rows of one payer, plan and window make one new
    version of that contract (its terms carried from the contract's latest version). Rows are numbered as in
    the file, the header row 1; blank rows are skipped."""
    try:
        records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as exc:
        raise BadFile(1, f"not CSV: {exc}") from exc
    if not records or [h.strip().lower() for h in records[0]] != list(CSV_HEADER):
        raise BadFile(1, f"the header must be {','.join(CSV_HEADER)}")
    groups: dict[tuple[str, str, date, date | None], dict[tuple[str, str], tuple[int, FeeLine]]] = {}
    out = Checked([], [], 0, 0)
    for number, record in enumerate(records[1:], start=2):
        if not any(v.strip() for v in record):
            continue
        out.rows += 1
        if len(record) != len(CSV_HEADER):
            out.rejected.append(RowError(number, "", f"{len(record)} fields where the header has {len(CSV_HEADER)}"))
            continue
        values = dict(zip(CSV_HEADER, record, strict=True))
        bad = _Errors(number)
        payer, plan = _who(values, bad)
        start, end = _window(values, bad)
        fee = check_fee_line(values, bad, dollars=True)
        if bad.found or fee is None or start is None:
            out.rejected += bad.found
            continue
        group = groups.setdefault((payer, plan, start, end), {})
        first = group.get((fee.code, fee.modifier))
        if first is not None:
            out.rejected.append(
                RowError(number, "code", f"{fee.code} {fee.modifier or '(no modifier)'} is in row {first[0]} already")
            )
            continue
        group[(fee.code, fee.modifier)] = (number, fee)
        out.accepted += 1
    for (payer, plan, start, end), lines in groups.items():
        rows = tuple(n for n, _fee in lines.values())
        fees = tuple(fee for _n, fee in lines.values())
        out.versions.append(NewVersion(payer, plan, start, end, fees, rows=rows))
    out.versions.sort(key=lambda v: (v.key, v.effective_from, v.rows))
    return out


def write_csv(payer_id: str, plan: str, versions: Sequence[tuple[date, date | None, Sequence[FeeLine]]]) -> str:
    """Versions' fee lines as the import reads them (rates in dollars)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for start, end, fees in versions:
        for fee in sorted(fees, key=lambda f: (f.code, f.modifier)):
            rate = f"{Decimal(fee.rate_cents) / 100:.2f}"
            writer.writerow(
                [payer_id, plan, fee.code, fee.modifier, rate, start.isoformat(), end.isoformat() if end else ""]
            )
    return buffer.getvalue()
