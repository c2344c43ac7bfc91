"""Charge entry's references to the practice's master data, resolved on the date of service: each line's
description from the charge master.

The stored document holds what was resolved, so that the 837 and the events built from it later say what
was true on the date of service, whatever the master data says by then.
"""

from __future__ import annotations

from collections.abc import Sequence

from rcm_shared.unit import Unit

from claims.domain import charge_master as cm
from claims.domain.encounter import ClaimCreate, ServiceLineIn
from claims.repository import ChargeMasterRepository


def _item_key(line: ServiceLineIn) -> cm.Key | None:
    """The charge-master item of a line: its procedure code and modifiers, else its revenue code."""
    code = (line.procedure_code or line.revenue_code or "").strip().upper()
    return (code, cm.modifiers_key(line.modifiers if line.procedure_code else ())) if code else None


async def describe_lines(unit: Unit, docs: Sequence[ClaimCreate]) -> list[ClaimCreate]:
    """The documents with each line that has no description given the charge master's description of its item
    in effect on its service date; a line no item describes keeps none. Nothing is read when every line has a
    description."""
    keys = {key for doc in docs for line in doc.lines if line.description is None and (key := _item_key(line))}
    if not keys:
        return list(docs)
    versions: dict[cm.Key, list[cm.Version]] = {}
    words: dict[str, str] = {}
    for version, description in await ChargeMasterRepository(unit).descriptions(keys):
        versions.setdefault((version.code, version.modifiers), []).append(version)
        words[version.id] = description
    out = []
    for doc in docs:
        lines = []
        for line in doc.lines:
            key = _item_key(line)
            item = cm.in_effect(versions.get(key, ()), line.service_date) if key and line.description is None else None
            lines.append(line.model_copy(update={"description": words[item.id]}) if item else line)
        out.append(doc.model_copy(update={"lines": lines}))
    return out
