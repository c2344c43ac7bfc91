"""NCCI procedure-to-procedure (PTP) edits and medically unlikely edits (MUE), from operator files.

CMS publishes both quarterly (they contain CPT, so they are not shipped here). The loaders read the
tab- or comma-separated files as published, keeping the columns we need:
- PTP: column 1 code, column 2 code, effective date, deletion date ('*' = none), modifier indicator
  (0: never billed together, 1: allowed with an NCCI-associated modifier, 9: not applicable).
- MUE: HCPCS/CPT code, MUE value, MUE adjudication indicator (MAI). The MAI says what the value limits:
  1 the units of one claim line; 2 (policy) and 3 (clinical benchmark) the units of one date of service,
  summed over every line and claim of the same patient from the same provider. The CMS column reads
  "3 Date of Service Edit: Clinical": its leading digit is the indicator. A file without the column is
  read as per-line values, the only kind of MUE before CMS added the indicator.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PTP_MODIFIERS = frozenset(
    {
        "59",
        "XE",
        "XS",
        "XP",
        "XU",
        "25",
        "91",
        "24",
        "57",
        "LT",
        "RT",
        "E1",
        "E2",
        "E3",
        "E4",
        "FA",
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "F6",
        "F7",
        "F8",
        "F9",
        "TA",
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
        "LC",
        "LD",
        "RC",
        "LM",
        "RI",
        "27",
    }
)


@dataclass(frozen=True)
class PtpEdit:
    column1: str
    column2: str
    effective: date
    deleted: date | None
    modifier_indicator: str

    def active(self, on: date) -> bool:
        return self.effective <= on and (self.deleted is None or on <= self.deleted)


@dataclass(frozen=True)
class Mue:
    value: int  # the most units payable
    indicator: str  # MAI: 1 per claim line, 2 per date of service (policy), 3 per date of service (clinical)

    @property
    def per_day(self) -> bool:
        return self.indicator in ("2", "3")


@dataclass
class NcciTables:
    ptp: dict[tuple[str, str], list[PtpEdit]] = field(default_factory=dict)
    mue: dict[str, Mue] = field(default_factory=dict)

    def pair(self, first: str, second: str, on: date) -> PtpEdit | None:
        for edit in self.ptp.get((first, second), []):
            if edit.active(on):
                return edit
        return None


def _date(text: str) -> date | None:
    text = text.strip()
    if not text or text == "*":
        return None
    if len(text) == 8 and text.isdigit():
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return date.fromisoformat(text)


def _rows(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8-sig")
    delimiter = "\t" if "\t" in text.splitlines()[0] else ","
    return [row for row in csv.reader(text.splitlines(), delimiter=delimiter) if row]


def load_ptp(path: Path, tables: NcciTables) -> int:
    count = 0
    for row in _rows(path):
        if not row[0].strip() or not row[0].strip()[0].isalnum() or row[0].lower().startswith("column"):
            continue  # headers and notes
        # CMS layout: column 1, column 2, "*" (in existence before 1996), effective, deletion, modifier
        # indicator, rationale. A 5-column file (no prior-1996 and rationale columns) is accepted too.
        eff, dele, mod = (3, 4, 5) if len(row) >= 6 else (2, 3, 4)
        effective = _date(row[eff])
        if effective is None:
            continue
        edit = PtpEdit(row[0].strip(), row[1].strip(), effective, _date(row[dele]), row[mod].strip())
        tables.ptp.setdefault((edit.column1, edit.column2), []).append(edit)
        count += 1
    return count


def load_mue(path: Path, tables: NcciTables) -> int:
    count = 0
    for n, row in enumerate(_rows(path), start=1):
        if len(row) < 2:
            continue  # the copyright notice above the header
        code, value = row[0].strip(), row[1].strip()
        if value.isdigit() and code and code[0].isalnum() and not code.lower().startswith("hcpcs"):
            indicator = (row[2].strip() if len(row) > 2 else "")[:1] or "1"
            if indicator not in ("1", "2", "3"):
                raise ValueError(
                    f"{path.name} row {n} ({code}): MUE adjudication indicator {row[2].strip()!r} is not 1, 2 or 3"
                )
            tables.mue[code] = Mue(int(value), indicator)
            count += 1
    return count
