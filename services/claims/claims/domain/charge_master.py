"""The charge master: the practice's price and description of each code, versioned by effective dates.

Pure rules: a row checked field by field (every problem reported, each naming its row and field), the key an
item is found by (code and its modifiers, sorted), the item in effect on a date, and the numbering of a batch
of new versions. Versions work like the payer contracts of the denials service: each has a window
(``effective_from`` to ``effective_to``, open when none) and a number per key, and on a date the newest version
whose window holds it prices. A new version may start on any date (a price backdated, a typo fixed the same
day); the versions before it stay as they were, and prices never change in place.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from claims.domain import codesets

HEADER = ("code", "modifiers", "revenue_code", "description", "price", "effective_from", "effective_to")
MAX_MODIFIERS = 4
MAX_DESCRIPTION = 200
MAX_CENTS = 10**10  # below 100 million dollars: the 12 digits of a line charge
MODIFIER_SEPARATORS = re.compile(r"[\s:;|]+")

Key = tuple[str, str]  # (code, modifiers joined)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class NewItem:
    """One version of an item as entered (an API body or an import row), checked."""

    code: str
    modifiers: str  # sorted, joined with ':'; '' when none
    revenue_code: str | None
    description: str
    price_cents: int
    effective_from: date
    effective_to: date | None
    row: int = 0  # its row in an import (the header is row 1)
    version: int = 0  # its number among its key's versions, once planned

    @property
    def key(self) -> Key:
        return (self.code, self.modifiers)


@dataclass(frozen=True)
class Version:
    """A stored version of an item: enough to choose it on a date."""

    id: str
    code: str
    modifiers: str
    price_cents: int
    effective_from: date
    effective_to: date | None
    version: int


def modifiers_key(modifiers: Iterable[str]) -> str:
    """The modifiers as an item is keyed by: upper case, sorted, joined with ':' ('' when none)."""
    return ":".join(sorted(m.strip().upper() for m in modifiers if m.strip()))


def is_code(code: str) -> bool:
    return bool(codesets.CPT.match(code) or codesets.HCPCS.match(code) or codesets.REVENUE.match(code))


def _price(text: str) -> int | str:
    try:
        value = Decimal(text.strip().lstrip("$"))
    except InvalidOperation:
        return f"{text!r} is not an amount"
    if not value.is_finite() or value <= 0:
        return "the price must be greater than zero"
    if value != value.quantize(Decimal("0.01")):
        return "the price has more than 2 decimals"
    cents = int(value * 100)
    return cents if cents < MAX_CENTS else "the price is too large"


def _date(text: str) -> date | str:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return f"{text!r} is not a date (YYYY-MM-DD)"


def check_row(values: Mapping[str, str | None], row: int) -> NewItem | list[RowError]:
    """One item from its fields as text (an import row, an API body); every problem of the row, or the item."""
    errors: list[RowError] = []

    def bad(name: str, reason: str) -> None:
        errors.append(RowError(row, name, reason))

    code = (values.get("code") or "").strip().upper()
    if not code:
        bad("code", "a code is required")
    elif not is_code(code):
        bad("code", f"{code} is neither a CPT/HCPCS code nor a 4-digit revenue code")
    mods = [m for m in MODIFIER_SEPARATORS.split((values.get("modifiers") or "").strip().upper()) if m]
    if len(mods) > MAX_MODIFIERS:
        bad("modifiers", f"at most {MAX_MODIFIERS} modifiers")
    for m in mods:
        if not codesets.MODIFIER.match(m):
            bad("modifiers", f"{m} is not a modifier (2 letters or digits)")
    if mods and codesets.REVENUE.match(code):
        bad("modifiers", "a revenue code takes no modifiers")
    revenue = (values.get("revenue_code") or "").strip() or None
    if revenue is not None and not codesets.REVENUE.match(revenue):
        bad("revenue_code", f"{revenue} is not a 4-digit revenue code")
    if revenue is None and codesets.REVENUE.match(code):
        revenue = code
    description = (values.get("description") or "").strip()
    if not description:
        bad("description", "a description is required")
    elif len(description) > MAX_DESCRIPTION:
        bad("description", f"at most {MAX_DESCRIPTION} characters")
    price = _price(values.get("price") or "")
    if isinstance(price, str):
        bad("price", price)
    start = _date(values.get("effective_from") or "")
    if isinstance(start, str):
        bad("effective_from", start)
    end_text = (values.get("effective_to") or "").strip()
    end = _date(end_text) if end_text else None
    if isinstance(end, str):
        bad("effective_to", end)
    elif end is not None and isinstance(start, date) and end < start:
        bad("effective_to", "effective_to is before effective_from")
    if errors:
        return errors
    assert isinstance(price, int) and isinstance(start, date) and not isinstance(end, str)
    return NewItem(code, modifiers_key(mods), revenue, description, price, start, end, row)


def plan(items: Sequence[NewItem], latest: Mapping[Key, int]) -> list[NewItem]:
    """The new versions numbered in order, each one above the latest of its code and modifiers (``latest``: the
    highest stored number of each key that has one; a version earlier in the batch counts too)."""
    last = dict(latest)
    out = []
    for item in items:
        last[item.key] = last.get(item.key, 0) + 1
        out.append(replace(item, version=last[item.key]))
    return out


class BadFile(ValueError):
    """The file is not a charge-master CSV (its header, a row's number of fields): nothing in it is read."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(f"row {row}: {reason}")
        self.row = row


def read_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    """The data rows of a charge-master CSV with their row numbers (the header is row 1), blank rows skipped.
    The header must name the columns of ``HEADER`` in that order."""
    try:
        records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as exc:
        raise BadFile(1, f"not CSV: {exc}") from exc
    if not records or [h.strip().lower() for h in records[0]] != list(HEADER):
        raise BadFile(1, f"the header must be {','.join(HEADER)}")
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(v.strip() for v in record):
            continue
        if len(record) != len(HEADER):
            raise BadFile(number, f"{len(record)} fields where the header has {len(HEADER)}")
        rows.append((number, dict(zip(HEADER, record, strict=True))))
    return rows


def in_effect(versions: Iterable[Version], on: date) -> Version | None:
    """The version in effect on a date: the newest (highest number) whose window holds it, or None."""
    found = (v for v in versions if v.effective_from <= on and (v.effective_to is None or v.effective_to >= on))
    return max(found, key=lambda v: v.version, default=None)


def line_charge(price_cents: int, units: Decimal) -> Decimal:
    """A line's charge: the unit price times the units, to the cent."""
    return (Decimal(price_cents) * units / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
