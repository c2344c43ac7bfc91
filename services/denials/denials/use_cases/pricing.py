"""Pricing claims' lines under their payers' contracts, for expected payment and the worklist's actions: the
versions and fee lines a batch of claims needs read once, each line under the version in effect on its date;
and the Medicare fee schedule the settings name, loaded once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from rcm_shared.payloads.claims import BilledLine
from rcm_shared.unit import Unit

from denials.config import DenialsSettings
from denials.domain import medicare as cms
from denials.domain.contracts import StoredVersion, contract_terms, in_effect
from denials.domain.medicare import MedicareSchedule
from denials.domain.pricing import ContractTerms, LineToPrice, PricedLine, odd_fields, price_claim
from denials.repository import ContractRepository


class MedicareFilesError(RuntimeError):
    """The Medicare fee schedule files the settings name cannot be read."""


@cache
def _schedule(rvu_file: str, gpci_file: str, conversion_factor: Decimal) -> MedicareSchedule:
    try:
        return cms.load(Path(rvu_file), Path(gpci_file), conversion_factor)
    except (OSError, ValueError) as exc:
        raise MedicareFilesError(f"DENIALS_MEDICARE_RVU_FILE / DENIALS_MEDICARE_GPCI_FILE: {exc}") from exc


def medicare_schedule(settings: DenialsSettings) -> MedicareSchedule | None:
    """The Medicare fee schedule of the settings (read once per process), or None when none is set."""
    if not settings.medicare_rvu_file or settings.medicare_conversion_factor is None:
        return None
    return _schedule(settings.medicare_rvu_file, settings.medicare_gpci_file, settings.medicare_conversion_factor)


@dataclass(frozen=True)
class Pricing:
    version: StoredVersion | None
    priced: PricedLine


class Pricer:
    """Prices claims' lines under their payers' contracts: the versions of the payers and the fee lines of the
    codes billed are read once for a batch of claims."""

    def __init__(self, unit: Unit, medicare: MedicareSchedule | None) -> None:
        self.repo = ContractRepository(unit)
        self.medicare = medicare
        self.versions: dict[str, list[StoredVersion]] = {}
        self.terms: dict[str, ContractTerms] = {}

    async def load(self, claims: Mapping[str, tuple[str, Sequence[LineToPrice]]]) -> None:
        self.versions = await self.repo.payer_versions({payer for payer, _lines in claims.values()})
        codes: dict[str, set[str]] = {}
        chosen: dict[str, StoredVersion] = {}
        for payer, lines in claims.values():
            for line in lines:
                v = in_effect(self.versions.get(payer, ()), line.service_date)
                if v is not None:
                    chosen[v.id] = v
                    codes.setdefault(v.id, set()).add(line.code.strip().upper())
        fees = await self.repo.fee_lines(chosen, {c for cs in codes.values() for c in cs}) if chosen else {}
        self.terms = {vid: contract_terms(v.terms, fees.get(vid, [])) for vid, v in chosen.items()}

    def price(self, payer_id: str, lines: Sequence[LineToPrice]) -> dict[int, Pricing]:
        """Each line priced under the version in effect on its date (lines of one version priced together, so
        that the multiple procedure ranking sees them all); a line no version covers has ``no_contract``."""
        groups: dict[str | None, list[LineToPrice]] = {}
        version_of: dict[str, StoredVersion] = {}
        for line in lines:
            v = in_effect(self.versions.get(payer_id, ()), line.service_date)
            groups.setdefault(v.id if v else None, []).append(line)
            if v is not None:
                version_of[v.id] = v
        out: dict[int, Pricing] = {}
        for version_id, group in groups.items():
            if version_id is None:
                for line in group:
                    why = f"no contract of payer {payer_id} in effect on {line.service_date.isoformat()}"
                    out[line.line_number] = Pricing(
                        None, PricedLine(line.line_number, None, "no_contract", (why,), None)
                    )
                continue
            v = version_of[version_id]
            priced = _price_apart(group, self.terms[version_id], self.medicare)
            out.update({p.line_number: Pricing(v, p) for p in priced})
        return out


def _price_apart(
    lines: Sequence[LineToPrice], terms: ContractTerms, medicare: MedicareSchedule | None
) -> list[PricedLine]:
    """The lines priced together; a line no payer would price (its units, its modifiers) is set apart with the
    reason as its trail and the others priced together without it; a contract that cannot be applied gives
    every line its reason."""
    try:
        return price_claim(lines, terms, medicare)
    except ValueError:
        pass
    refused: dict[int, str] = {}
    for line in lines:
        try:
            price_claim([line], terms, medicare)
        except ValueError as exc:
            refused[line.line_number] = str(exc)
    good = [line for line in lines if line.line_number not in refused]
    try:
        priced = price_claim(good, terms, medicare) if good else []
    except ValueError as exc:  # what no line alone shows (a line number twice): every line has the reason
        refused.update({line.line_number: str(exc) for line in good})
        priced = []
    return priced + [PricedLine(number, None, "error", (reason,), None) for number, reason in refused.items()]


def pricing_columns(p: Pricing, now: datetime) -> dict[str, Any]:
    fee = p.priced.fee_line
    return {
        "contract_id": p.version.contract_id if p.version else None,
        "version_id": p.version.id if p.version else None,
        "contract_version": p.version.version if p.version else None,
        "expected_allowed_cents": p.priced.expected_allowed_cents,
        "rule": p.priced.rule,
        "steps": list(p.priced.steps),
        "fee_line": {"code": fee.code, "modifier": fee.modifier, "rate_cents": fee.rate_cents} if fee else None,
        "priced_at": now,
    }


def _units(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(0)  # priced as an error line: units must be a positive number


def billed_line(line: BilledLine, fallback: date) -> LineToPrice:
    """A billed line to price; fields no payer prices (``odd_fields``) make it an error line with the reason."""
    pos = line.place_of_service.strip() if line.place_of_service is not None else None
    problem = odd_fields(line.procedure_code, line.modifiers, line.units, pos)
    return LineToPrice(
        line.line_number,
        line.procedure_code,
        tuple(line.modifiers),
        Decimal(0) if problem else _units(line.units),
        line.charge_cents,
        line.service_date or fallback,
        pos if not problem else None,
        problem,
    )


def stored_columns(line: LineToPrice, line_control_number: str | None) -> dict[str, Any]:
    """A billed line's own columns. A line with a problem keeps its code and modifiers cut to the columns'
    widths (the problem, stored with it, names them whole, and keeps it from being priced)."""
    modifiers = ":".join(line.modifiers)
    lcn = line_control_number if line_control_number and len(line_control_number) <= 80 else None
    return {
        "line_number": line.line_number,
        "code": line.code[:8],
        "modifiers": modifiers[:11],
        "units": str(line.units),
        "charge_cents": line.charge_cents,
        "service_date": line.service_date,
        "line_control_number": lcn,
        "place_of_service": line.place_of_service,
        "problem": line.problem,
    }


def to_price(row: Any) -> LineToPrice:
    """A stored billed line, to be priced again."""
    modifiers = tuple(m for m in row.modifiers.split(":") if m)
    return LineToPrice(
        row.line_number,
        row.code,
        modifiers,
        _units(row.units),
        row.charge_cents,
        row.service_date,
        row.place_of_service,
        row.problem,
    )
