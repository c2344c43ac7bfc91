"""The charge master: items listed, a new version entered (from any date), CSV imports (dry run or applied); and the
pricing of charge entry's lines that come without a charge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rcm_shared.errors import Invalid
from rcm_shared.unit import Unit

from claims.domain import charge_master as cm
from claims.domain.encounter import ClaimCreate
from claims.repository import ChargeMasterRepository


@dataclass
class ImportReport:
    rows: int
    accepted: int
    rejected: list[cm.RowError] = field(default_factory=list)
    applied: bool = False


async def list_items(unit: Unit, code: str | None, on: date | None, limit: int, offset: int) -> list[Any]:
    return await ChargeMasterRepository(unit).items(code.strip().upper() if code else None, on, limit, offset)


async def add_item(unit: Unit, values: Mapping[str, str | None]) -> Any:
    """A new version of an item (its fields as text), from any date: the newest of its code and modifiers, it
    prices every date of its window. Invalid when a field is wrong (each named)."""
    item = cm.check_row(values, 0)
    if isinstance(item, list):
        raise Invalid(
            "; ".join(f"{e.field}: {e.reason}" for e in item),
            errors=[{"field": e.field, "reason": e.reason} for e in item],
        )
    repo = ChargeMasterRepository(unit)
    (new_id,) = await repo.write(cm.plan([item], await repo.latest([item.key])))
    (row,) = await repo.get([new_id])
    return row


async def import_items(unit: Unit, text: str, *, dry_run: bool) -> ImportReport:
    """A charge-master CSV: every bad row reported with its field and reason; a dry run writes nothing, an
    applied import writes the good rows (in this unit's one transaction), each a new version numbered in file
    order (a later row of the same item is the newer version). Invalid when the file is not a charge-master
    CSV (the row named)."""
    try:
        records = cm.read_csv(text)
    except cm.BadFile as exc:
        raise Invalid(str(exc), title="Not a charge-master CSV", row=exc.row) from exc
    good: list[cm.NewItem] = []
    rejected: list[cm.RowError] = []
    for number, values in records:
        checked = cm.check_row(values, number)
        if isinstance(checked, list):
            rejected += checked
        else:
            good.append(checked)
    if not dry_run:
        repo = ChargeMasterRepository(unit)
        await repo.write(cm.plan(good, await repo.latest({item.key for item in good})))
    return ImportReport(len(records), len(good), rejected, applied=not dry_run)


def _line_key(procedure_code: str | None, revenue_code: str | None, modifiers: Sequence[str]) -> cm.Key | None:
    code = (procedure_code or revenue_code or "").strip().upper()
    return (code, cm.modifiers_key(modifiers if procedure_code else ())) if code else None


async def price_lines(unit: Unit, docs: Sequence[ClaimCreate]) -> list[ClaimCreate]:
    """The documents with each line without a charge priced from the item in effect on its service date (its
    procedure code and modifiers; its revenue code when it has no procedure code): the unit price times the
    units. A line no item prices keeps no charge (the scrubber's CM001). Nothing is read when every line has
    a charge."""
    keys = {
        key
        for doc in docs
        for line in doc.lines
        if line.charge is None and (key := _line_key(line.procedure_code, line.revenue_code, line.modifiers))
    }
    if not keys:
        return list(docs)
    versions: dict[cm.Key, list[cm.Version]] = {}
    for v in await ChargeMasterRepository(unit).versions(keys):
        versions.setdefault((v.code, v.modifiers), []).append(v)
    out = []
    for doc in docs:
        lines = []
        for line in doc.lines:
            key = _line_key(line.procedure_code, line.revenue_code, line.modifiers)
            item = cm.in_effect(versions.get(key, ()), line.service_date) if key and line.charge is None else None
            lines.append(
                line.model_copy(update={"charge": cm.line_charge(item.price_cents, line.units)}) if item else line
            )
        out.append(doc.model_copy(update={"lines": lines}))
    return out
