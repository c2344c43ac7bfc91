"""The Medicare Physician Fee Schedule (PFS) as CMS publishes it: relative value units per code and modifier (the
PPRRVU file), geographic practice cost indices per payment locality (the GPCI file) and the year's conversion
factor. A payer contract that pays "a percent of Medicare" prices from it, and its indicators (multiple
procedure, bilateral, professional/technical split) tell the contract rules which codes they apply to.

The payment of a code at a locality is CMS's formula
``[(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF``, with the facility PE RVU for a
service in a facility place of service and the non-facility PE RVU elsewhere; the sum is rounded to cents
(ROUND_HALF_UP) once, at the end, as CMS's fee schedule amounts are stated in cents."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType

# Places of service (CMS POS code set) paid at the facility PE RVU, where the facility bears the practice expense:
# CMS's Medicare Claims Processing Manual ch. 12 section 20.4.2 lists these facility settings. Every other place
# of service (11 office, 12 home, 10 telehealth in the patient's home, ...) is paid at the non-facility PE RVU.
FACILITY_PLACES_OF_SERVICE = frozenset(
    {"02", "19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)

# PFS status codes CMS pays under the fee schedule (A active, R restricted, T paid only when no other service is
# billed on the date); the others (B bundled, C carrier-priced, I invalid for Medicare, N non-covered, X
# statutory exclusion, ...) carry no national payment.
PAYABLE_STATUSES = frozenset({"A", "R", "T"})

CENT = Decimal(1)


def is_facility(place_of_service: str | None) -> bool:
    """Whether a place of service is paid at the facility rate; a line without one is taken as non-facility
    (the office), as the 837P's claim-level place of service defaults the line's."""
    return place_of_service is not None and place_of_service.zfill(2) in FACILITY_PLACES_OF_SERVICE


@dataclass(frozen=True)
class RvuRow:
    """One row of the PPRRVU file: a code, or a code with its 26 (professional) or TC (technical) modifier."""

    code: str
    modifier: str  # "" for the global service, "26", "TC" or "53"
    status: str  # PFS status code
    work_rvu: Decimal
    pe_rvu_non_facility: Decimal | None  # None where CMS prints NA: not paid in a non-facility setting
    pe_rvu_facility: Decimal | None
    mp_rvu: Decimal
    pctc_indicator: str  # 0 no split, 1 global/26/TC split, 2 professional only, 3 technical only, ...
    multiple_procedure_indicator: str  # 0 none, 2 standard 100/50 reduction, 3-7 special rules, 9 n/a
    bilateral_indicator: str  # 0 no 150 %, 1 150 % with modifier 50, 2 already bilateral, 3 each side, 9 n/a
    # "+" in the file's NOT USED FOR MEDICARE PAYMENT column: CMS publishes the RVUs of a code Medicare does not
    # pay (status I, N, R ...) for other payers to use, as a contract paying "a percent of Medicare" does.
    rvus_for_other_payers: bool = False


@dataclass(frozen=True)
class GpciRow:
    """One payment locality of the GPCI file. Its key is CMS's "MAC locality": the Medicare administrative
    contractor number followed by the two-digit locality number (``"0111205"``: MAC 01112, locality 05, San
    Francisco), as the PFS look-up tool prints it."""

    mac: str
    locality: str
    name: str
    work_gpci: Decimal  # with the 1.0 floor CMS applies to the work GPCI by statute
    pe_gpci: Decimal
    mp_gpci: Decimal

    @property
    def key(self) -> str:
        return f"{self.mac}{self.locality}"


NATIONAL = GpciRow(mac="", locality="", name="national (GPCI 1.000)", work_gpci=CENT, pe_gpci=CENT, mp_gpci=CENT)


class MedicareSchedule:
    """One year's fee schedule: RVU rows by (code, modifier), GPCI rows by locality key, the conversion factor."""

    def __init__(self, rvus: Iterable[RvuRow], gpcis: Iterable[GpciRow], conversion_factor: Decimal) -> None:
        if conversion_factor <= 0:
            raise ValueError(f"the conversion factor must be positive, not {conversion_factor}")
        rows: dict[tuple[str, str], RvuRow] = {}
        for row in rvus:
            rows[(row.code.upper(), row.modifier.upper())] = row
        self.rvus: Mapping[tuple[str, str], RvuRow] = MappingProxyType(rows)
        self.localities: Mapping[str, GpciRow] = MappingProxyType({g.key: g for g in gpcis})
        self.conversion_factor = conversion_factor

    def row(self, code: str, modifier: str = "") -> RvuRow | None:
        return self.rvus.get((code.upper(), modifier.upper()))

    def locality(self, key: str | None) -> GpciRow:
        """The GPCIs of a locality key; None is the national amount (every GPCI 1.000)."""
        if key is None:
            return NATIONAL
        gpci = self.localities.get(key)
        if gpci is None:
            known = ", ".join(sorted(self.localities)) or "none loaded"
            raise ValueError(f"unknown Medicare locality {key!r} (MAC number + locality number; known: {known})")
        return gpci

    def amount(self, code: str, modifier: str, locality: str | None, facility: bool) -> Decimal | None:
        """The unrounded fee in cents, or None where Medicare sets no payment (no row, a status it does not
        pay, or no PE RVU in either setting)."""
        gpci = self.locality(locality)
        row = self.row(code, modifier)
        if row is None or not (row.status in PAYABLE_STATUSES or row.rvus_for_other_payers):
            return None
        # NA in the non-facility column: CMS pays the service at the facility rate wherever it is performed.
        pe = row.pe_rvu_facility if facility or row.pe_rvu_non_facility is None else row.pe_rvu_non_facility
        if pe is None:
            return None
        rvus = row.work_rvu * gpci.work_gpci + pe * gpci.pe_gpci + row.mp_rvu * gpci.mp_gpci
        return rvus * self.conversion_factor * 100

    def allowed_cents(self, code: str, modifier: str, locality: str | None, facility: bool) -> int | None:
        """The Medicare fee schedule amount in cents (ROUND_HALF_UP), or None where Medicare sets none."""
        amount = self.amount(code, modifier, locality, facility)
        return None if amount is None else int(amount.quantize(CENT, rounding=ROUND_HALF_UP))

    def multiple_procedure_indicator(self, code: str, modifier: str = "") -> str | None:
        row = self.row(code, modifier) or self.row(code)
        return None if row is None else row.multiple_procedure_indicator

    def bilateral_indicator(self, code: str, modifier: str = "") -> str | None:
        row = self.row(code, modifier) or self.row(code)
        return None if row is None else row.bilateral_indicator

    def pctc_indicator(self, code: str) -> str | None:
        row = self.row(code)
        return None if row is None else row.pctc_indicator


# The PPRRVU CSV's columns by position (CMS's RVUPUF layout; the same for 2019-2026 up to BILAT SURG, where
# 2026 adds a column further right). Its header is split over several lines, so positions, checked against
# the last header line, are what identify a column.
_HCPCS, _MOD, _STATUS, _NOT_USED, _WORK, _PE_NF, _PE_NF_NA, _PE_F, _PE_F_NA, _MP = 0, 1, 3, 4, 5, 6, 7, 8, 9, 10
_PCTC, _MULT_PROC, _BILAT = 13, 18, 19
_RVU_HEADER = {_HCPCS: "HCPCS", _MOD: "MOD", _PCTC: "IND", _MULT_PROC: "PROC", _BILAT: "SURG"}


def _decimal(cell: str, where: str) -> Decimal:
    try:
        value = Decimal(cell.strip() or "0")
    except InvalidOperation:
        raise ValueError(f"{where}: {cell!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{where}: {cell!r} is not a non-negative number")
    return value


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    # CMS's files are Windows-1252 text (the copyright lines carry no other encoding).
    with path.open(newline="", encoding="cp1252") as f:
        yield from enumerate(csv.reader(f), start=1)


def read_rvus(path: Path) -> list[RvuRow]:
    """The rows of CMS's PPRRVU CSV (e.g. PPRRVU25_JAN.csv from RVU25A.zip): the title and copyright lines and
    the split header before the line starting HCPCS are skipped, and so is any row whose first cell is no code."""
    rows: list[RvuRow] = []
    header_seen = False
    for number, row in _rows(path):
        cells = [cell.strip() for cell in row]
        if not header_seen:
            if cells and cells[0].upper() == "HCPCS":
                for index, name in _RVU_HEADER.items():
                    if len(cells) <= index or cells[index].upper() != name:
                        raise ValueError(
                            f"{path.name} line {number}: not the PPRRVU layout (column {index + 1} is "
                            f"{cells[index] if len(cells) > index else 'missing'!r}, expected {name!r})"
                        )
                header_seen = True
            continue
        if not cells or not cells[0] or not cells[0].isalnum():
            continue
        where = f"{path.name} line {number} ({cells[0]})"
        if len(cells) <= _BILAT:
            raise ValueError(f"{where}: {len(cells)} columns, the PPRRVU layout has at least {_BILAT + 1}")
        rows.append(
            RvuRow(
                code=cells[_HCPCS].upper(),
                modifier=cells[_MOD].upper(),
                status=cells[_STATUS].upper(),
                work_rvu=_decimal(cells[_WORK], where),
                pe_rvu_non_facility=None if cells[_PE_NF_NA] == "NA" else _decimal(cells[_PE_NF], where),
                pe_rvu_facility=None if cells[_PE_F_NA] == "NA" else _decimal(cells[_PE_F], where),
                mp_rvu=_decimal(cells[_MP], where),
                pctc_indicator=cells[_PCTC],
                multiple_procedure_indicator=cells[_MULT_PROC],
                bilateral_indicator=cells[_BILAT],
                rvus_for_other_payers=cells[_NOT_USED] == "+",
            )
        )
    if not header_seen:
        raise ValueError(f"{path.name}: no header line starting with HCPCS: not CMS's PPRRVU CSV")
    return rows


def _gpci_columns(cells: list[str], where: str) -> dict[str, int]:
    """Columns by name: the names carry the year ("2025 PE GPCI") and, in some years, the work GPCI comes both
    with and without the 1.0 floor, of which the floored one is what CMS pays."""
    lowered = [cell.lower() for cell in cells]
    found: dict[str, int] = {}
    for index, name in enumerate(lowered):
        if name.startswith("medicare administrative contractor") or name in {"mac", "carrier"}:
            found.setdefault("mac", index)
        elif name.startswith("locality number") or name == "locality":
            found.setdefault("locality", index)
        elif name.startswith("locality name"):
            found.setdefault("name", index)
        elif "pw gpci" in name and "without" not in name:
            found.setdefault("work", index)
        elif "pe gpci" in name:
            found.setdefault("pe", index)
        elif "mp gpci" in name:
            found.setdefault("mp", index)
    missing = {"mac", "locality", "name", "work", "pe", "mp"} - found.keys()
    if missing:
        raise ValueError(f"{where}: the GPCI header has no {', '.join(sorted(missing))} column")
    return found


def read_gpcis(path: Path) -> list[GpciRow]:
    """The localities of CMS's GPCI CSV (e.g. GPCI2025.csv, Addendum E): the title and blank lines before the
    header and the footnotes after the table (rows whose MAC is no number) are skipped."""
    columns: dict[str, int] | None = None
    rows: list[GpciRow] = []
    for number, row in _rows(path):
        cells = [cell.strip() for cell in row]
        where = f"{path.name} line {number}"
        if columns is None:
            if cells and cells[0].lower().startswith(("medicare administrative contractor", "mac", "carrier")):
                columns = _gpci_columns(cells, where)
            continue
        if len(cells) <= max(columns.values()) or not cells[columns["mac"]].isdigit():
            continue
        rows.append(
            GpciRow(
                mac=cells[columns["mac"]].zfill(5),
                locality=cells[columns["locality"]].zfill(2),
                name=cells[columns["name"]].rstrip("*").strip(),
                work_gpci=_decimal(cells[columns["work"]], where),
                pe_gpci=_decimal(cells[columns["pe"]], where),
                mp_gpci=_decimal(cells[columns["mp"]], where),
            )
        )
    if columns is None:
        raise ValueError(f"{path.name}: no header line naming the Medicare Administrative Contractor: not a GPCI CSV")
    return rows


def load(rvu_csv: Path, gpci_csv: Path, conversion_factor: Decimal) -> MedicareSchedule:
    """A schedule from CMS's PPRRVU and GPCI CSVs of one year and that year's conversion factor (CMS states it in
    the final rule and in the PPRRVU file's CONV FACTOR column: 32.3465 for 2025)."""
    return MedicareSchedule(read_rvus(rvu_csv), read_gpcis(gpci_csv), conversion_factor)
