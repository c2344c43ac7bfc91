"""Payer contracts: listed, read (a version with its fee lines and the list of versions), a new version
entered, imported from CSV or JSON (a dry run reports, an apply writes the versions without a bad row), exported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from rcm_shared.errors import Conflict, Invalid
from rcm_shared.unit import Unit

from denials.domain import contract_files as files
from denials.domain import contracts as cd
from denials.domain.medicare import MedicareSchedule
from denials.domain.pricing import FeeLine
from denials.repository import ContractRepository
from denials.repository.contracts import stored, terms_of


@dataclass(frozen=True)
class ContractView:
    """A contract, one of its versions with its fee lines, and every version's row."""

    contract: Any
    version: Any
    fee_lines: list[FeeLine]
    versions: list[Any]


@dataclass(frozen=True)
class Planned:
    """A version an import writes (or would, in a dry run)."""

    payer_id: str
    plan: str
    contract_id: str | None  # None: a new contract, in a dry run
    version: int
    effective_from: Any
    effective_to: Any
    fee_lines: int
    rows: tuple[int, ...]


@dataclass
class ImportReport:
    rows: int
    accepted: int
    rejected: list[cd.RowError] = field(default_factory=list)
    versions: list[Planned] = field(default_factory=list)
    applied: bool = False
    refused: list[files.Refused] = field(default_factory=list)  # versions not written because of bad rows


async def list_contracts(unit: Unit, payer_id: str | None) -> list[tuple[Any, Any]]:
    """Each contract with its latest version."""
    repo = ContractRepository(unit)
    rows = await repo.contracts(payer_id)
    latest: dict[str, Any] = {}
    for version in await repo.version_rows([r.id for r in rows]):
        latest[version.contract_id] = version  # in version order: the last one stays
    return [(r, latest[r.id]) for r in rows if r.id in latest]


async def get_contract(unit: Unit, contract_id: str, version: int | None = None) -> ContractView:
    repo = ContractRepository(unit)
    row = await repo.get(contract_id)
    chosen = await repo.version(contract_id, version)
    fees = await repo.fee_lines([chosen.id])
    return ContractView(row, chosen, fees[chosen.id], await repo.version_rows([contract_id]))


def medicare_problems(terms: cd.Terms, medicare: MedicareSchedule | None) -> list[tuple[str, str]]:
    """A percent of Medicare needs the schedule loaded, and a locality it has."""
    problems = []
    if terms.default_rule == "percent_of_medicare" and medicare is None:
        problems.append(
            ("default_rule", "percent_of_medicare needs the Medicare fee schedule (DENIALS_MEDICARE_RVU_FILE, ...)")
        )
    if medicare is not None and terms.medicare_locality is not None:
        try:
            medicare.locality(terms.medicare_locality)
        except ValueError as exc:
            problems.append(("medicare_locality", str(exc)))
    return problems


async def add_version(unit: Unit, values: Mapping[str, Any], medicare: MedicareSchedule | None) -> ContractView:
    """A new version of the payer's (and plan's) contract, the contract created with its first one. Invalid
    naming every field that is wrong (a fee line included: nothing is written)."""
    version, errors, _good = cd.check_contract(values, 1)
    if version is not None and version.terms is not None:
        errors += [cd.RowError(1, name, reason) for name, reason in medicare_problems(version.terms, medicare)]
    if errors or version is None:
        raise Invalid(
            "; ".join(f"{e.field}: {e.reason}" for e in errors),
            errors=[{"field": e.field, "reason": e.reason} for e in errors],
        )
    (planned,) = await _write(unit, [version], "api", dry_run=False)
    assert planned.contract_id is not None
    return await get_contract(unit, planned.contract_id)


async def import_contracts(
    unit: Unit, document: str | Any, *, csv: bool, dry_run: bool, medicare: MedicareSchedule | None
) -> ImportReport:
    """Contracts as CSV text (fee lines; terms carried from each contract's latest version) or as parsed JSON
    (the shape ``GET /v1/contracts/{id}`` returns, one or a list): every bad row reported, and every version a
    bad row refuses (a version is written whole or not at all); a dry run writes nothing, an apply writes the
    versions none of whose rows is bad. Invalid when a CSV is not one (its row named)."""
    if csv:
        try:
            checked = files.read_csv(document)
        except files.BadFile as exc:
            raise Invalid(str(exc), title="Not a contract CSV", row=exc.row) from exc
    else:
        checked = files.read_json(document)
    versions = []
    for version in checked.versions:
        problems = medicare_problems(version.terms, medicare) if version.terms is not None else []
        if problems:
            checked.rejected += [cd.RowError(version.rows[0], name, reason) for name, reason in problems]
            checked.accepted -= len(version.fee_lines)
        else:
            versions.append(version)
    planned = await _write(unit, versions, "import", dry_run=dry_run)
    rejected = sorted(checked.rejected, key=lambda e: (e.row, e.field))
    return ImportReport(checked.rows, checked.accepted, rejected, planned, not dry_run, checked.refused)


async def _write(unit: Unit, versions: Sequence[cd.NewVersion], source: str, *, dry_run: bool) -> list[Planned]:
    """The versions in order, each the next number of its contract (a contract made for its first), terms
    carried from the contract's latest version where a version brings none (the defaults for a new one)."""
    repo = ContractRepository(unit)
    existing = await repo.by_key({v.key for v in versions})
    numbers = await repo.latest_numbers([r.id for r in existing.values()])
    last_terms: dict[tuple[str, str], cd.Terms] = {}
    for key, row in existing.items():
        if row.id in numbers:
            last_terms[key] = terms_of(await repo.version(row.id))
    ids: dict[tuple[str, str], str | None] = {key: row.id for key, row in existing.items()}
    counts: dict[tuple[str, str], int] = {key: numbers.get(row.id, 0) for key, row in existing.items()}
    out = []
    for version in versions:
        terms = version.terms or last_terms.get(version.key) or cd.Terms()
        last_terms[version.key] = terms
        number = counts.get(version.key, 0) + 1
        counts[version.key] = number
        if not dry_run:
            contract_id = ids.get(version.key)
            if contract_id is None:
                contract_id = await repo.add_contract(version.payer_id, version.plan, version.name)
                ids[version.key] = contract_id
            await repo.add_version(contract_id, number, version, terms, source)
        out.append(
            Planned(
                version.payer_id,
                version.plan,
                ids.get(version.key),
                number,
                version.effective_from,
                version.effective_to,
                len(version.fee_lines),
                version.rows,
            )
        )
    return out


async def export_csv(unit: Unit, contract_id: str, version: int | None) -> str:
    view = await get_contract(unit, contract_id, version)
    v = view.version
    return files.write_csv(
        view.contract.payer_id, view.contract.plan, [(v.effective_from, v.effective_to, view.fee_lines)]
    )


@dataclass(frozen=True)
class Adjusted:
    """The version an adjustment wrote, and its window."""

    row: Any
    effective_from: date
    effective_to: date | None


async def adjust_rate(
    unit: Unit, contract_id: str, base: int, key: tuple[str, str], rate_cents: int, effective_from: date, note: str
) -> Adjusted:
    """A new version of the contract changing one rate and nothing else: version ``base``'s terms and fee lines
    with the rate of fee line ``key`` set (added when it had none), from ``effective_from`` to the end of
    ``base``'s window, or to the day before a newer version starts, whichever is first (on those dates the
    newer version stays in effect as it was). Invalid when ``effective_from`` is outside ``base``'s window;
    Conflict when a newer version is in effect on it (``base`` is no longer the contract there)."""
    repo = ContractRepository(unit)
    contract = await repo.get(contract_id)
    row = await repo.version(contract_id, base)
    version = stored(row)
    if not cd.covers(version, effective_from):
        ends = version.effective_to.isoformat() if version.effective_to else "open"
        raise Invalid(
            f"effective_from {effective_from.isoformat()} is outside version {base} of contract {contract_id} "
            f"({version.effective_from.isoformat()} to {ends}), the version the rate was found under"
        )
    newer = [stored(r) for r in await repo.version_rows([contract_id]) if r.version > base]
    over = [v for v in newer if cd.covers(v, effective_from)]
    if over:
        raise Conflict(
            f"version {over[-1].version} of contract {contract_id} is in effect on {effective_from.isoformat()}, "
            f"not version {base}: enter a new version of the contract instead"
        )
    end = version.effective_to
    starts = [v.effective_from for v in newer if v.effective_from > effective_from]
    if starts and (end is None or min(starts) <= end):
        end = min(starts) - timedelta(days=1)
    fees = {(fee.code, fee.modifier): fee for fee in (await repo.fee_lines([row.id]))[row.id]}
    fees[key] = FeeLine(key[0], key[1], rate_cents)
    terms = terms_of(row)
    new = cd.NewVersion(contract.payer_id, contract.plan, effective_from, end, tuple(fees.values()), terms, note=note)
    number = (await repo.latest_numbers([contract_id]))[contract_id] + 1
    await repo.add_version(contract_id, number, new, terms, "adjustment")
    return Adjusted(await repo.version(contract_id, number), effective_from, end)
