"""Payer contracts as files: the CSV and JSON shapes contracts are imported and exported in, every bad row
reported with its reason, and the versions an import writes or refuses. A version is exactly its rows (its
fee lines): one with a bad row is refused whole, since written without that row it would drop the code's rate
from its date on. Pure; each row's checks are ``denials.domain.contracts``'."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from denials.domain.contracts import (
    Errors,
    NewVersion,
    RowError,
    check_contract,
    check_fee_line,
    text_of,
    who,
    window,
)
from denials.domain.pricing import FeeLine

CSV_HEADER = ("payer_id", "plan", "code", "modifier", "rate", "effective_from", "effective_to")


@dataclass(frozen=True)
class Refused:
    """A version an import does not write although its own rows are good: a bad row may belong to it, and a
    version is exactly its rows (written without that row, it would drop the code's rate from its date)."""

    payer_id: str
    plan: str
    effective_from: date
    effective_to: date | None
    rows: tuple[int, ...]  # its good rows
    because_of: tuple[int, ...]  # the bad rows that may be its


@dataclass
class Checked:
    """What an import found: the versions it writes (every row of each good), every bad row, the versions
    refused because of bad rows, how many data rows it read, and how many fee lines the versions written
    carry."""

    versions: list[NewVersion]
    rejected: list[RowError]
    rows: int
    accepted: int
    refused: list[Refused] = field(default_factory=list)


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
        elif errors and all(e.field.startswith("fee_lines") for e in errors):
            payer, plan = text_of(item.get("payer_id")), text_of(item.get("plan"))
            start, end = window(item, Errors(row))
            assert start is not None  # no error outside the fee lines: the window is good
            out.refused.append(Refused(payer, plan, start, end, (row,), (row,)))
    return out


class BadFile(ValueError):
    """The file is no contract CSV (its header, a row's number of fields): nothing of it is read."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(f"row {row}: {reason}")
        self.row = row


def read_csv(text: str) -> Checked:
    """Fee lines as CSV with the header ``CSV_HEADER``; the rows of one payer, plan and window make one new
    version of that contract (its terms carried from the contract's latest version). A version is exactly its
    rows, so one with a bad row is refused whole: every version a bad row may belong to (by the payer, plan
    and dates it names, any where a field cannot be read) is ``refused``. Rows are numbered as in the file, the
    header row 1; blank rows are skipped."""
    try:
        records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as exc:
        raise BadFile(1, f"not CSV: {exc}") from exc
    if not records or [h.strip().lower() for h in records[0]] != list(CSV_HEADER):
        raise BadFile(1, f"the header must be {','.join(CSV_HEADER)}")
    groups: dict[tuple[str, str, date, date | None], dict[tuple[str, str], tuple[int, FeeLine]]] = {}
    out = Checked([], [], 0, 0)
    suspects: list[_BadRow] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(v.strip() for v in record):
            continue
        out.rows += 1
        if len(record) != len(CSV_HEADER):
            out.rejected.append(RowError(number, "", f"{len(record)} fields where the header has {len(CSV_HEADER)}"))
            suspects.append(_BadRow(number, None, None, None, None, end_known=False))
            continue
        values = dict(zip(CSV_HEADER, record, strict=True))
        bad = Errors(number)
        payer, plan = who(values, bad)
        start, end = window(values, bad)
        fee = check_fee_line(values, bad, dollars=True)
        if not bad.found and fee is not None and start is not None:
            group = groups.setdefault((payer, plan, start, end), {})
            first = group.get((fee.code, fee.modifier))
            if first is None:
                group[(fee.code, fee.modifier)] = (number, fee)
                continue
            why = f"{fee.code} {fee.modifier or '(no modifier)'} is in row {first[0]} already"
            bad("code", why)
        out.rejected += bad.found
        wrong = {e.field for e in bad.found}
        suspects.append(
            _BadRow(
                number,
                None if "payer_id" in wrong else payer,
                None if "plan" in wrong else plan,
                None if "effective_from" in wrong else start,
                end,
                end_known="effective_to" not in wrong,
            )
        )
    for (payer, plan, start, end), lines in groups.items():
        rows = tuple(n for n, _fee in lines.values())
        because = tuple(s.row for s in suspects if s.could_be(payer, plan, start, end))
        if because:
            out.refused.append(Refused(payer, plan, start, end, rows, because))
            continue
        out.versions.append(NewVersion(payer, plan, start, end, tuple(fee for _n, fee in lines.values()), rows=rows))
        out.accepted += len(lines)
    out.versions.sort(key=lambda v: (v.key, v.effective_from, v.rows))
    out.refused.sort(key=lambda r: (r.payer_id, r.plan, r.effective_from, r.rows))
    return out


@dataclass(frozen=True)
class _BadRow:
    """A bad CSV row and what of its version can be read (None: a field that cannot be read, any version's)."""

    row: int
    payer: str | None
    plan: str | None
    start: date | None
    end: date | None
    end_known: bool

    def could_be(self, payer: str, plan: str, start: date, end: date | None) -> bool:
        """Whether the row may be one of this version's (its fields that can be read name it)."""
        return (
            (self.payer is None or self.payer == payer)
            and (self.plan is None or self.plan == plan)
            and (self.start is None or self.start == start)
            and (not self.end_known or self.end == end)
        )


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
