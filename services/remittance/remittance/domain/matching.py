"""Matching a paid service line to the line that was billed: REF*6R first, then code, date and units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any


def match_line(billed_lines: list[Any], s: Any, used: set[int]) -> tuple[int | None, str]:
    """REF*6R line control number first; then code (as billed, SVC06 when restated), date and units."""
    if s.line_control_number:
        for line in billed_lines:
            if line.line_control_number == s.line_control_number and line.id not in used:
                used.add(line.id)
                return line.id, "line_control_number"
    code = s.original_procedure.code if s.original_procedure else s.procedure.code
    units = str(s.original_units or s.units) if (s.original_units or s.units) is not None else None
    for line in billed_lines:
        if line.id in used or line.procedure_code != code:
            continue
        if s.service_date is not None and line.service_date not in (None, s.service_date):
            continue
        if units is not None and line.units is not None and _num(line.units) != _num(units):
            continue
        used.add(line.id)
        return line.id, "code_date_units"
    return None, "none"


def _num(text: str) -> str:
    try:
        return str(Decimal(text).normalize())
    except InvalidOperation:
        return text


def stored_service(line: Any) -> SimpleNamespace:
    """A stored service payment in the shape ``match_line`` reads."""
    original = SimpleNamespace(code=line.original_procedure_code) if line.original_procedure_code else None
    return SimpleNamespace(
        line_control_number=line.line_control_number,
        original_procedure=original,
        procedure=SimpleNamespace(code=line.procedure_code),
        original_units=line.original_units,
        units=line.units,
        service_date=line.service_date,
    )
