"""Pieces several transaction sets share: claim adjustments (CAS), dates (DTP) and how they are written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rcm_shared.x12.values import d8, x12_amount
from rcm_shared.x12.writer import TransactionSet


@dataclass(slots=True)
class Adjustment:
    """One CAS adjustment: group (CO, OA, PI, PR), CARC, amount and optional quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


def cas_segments(ts: TransactionSet, adjustments: list[Adjustment]) -> None:
    """CAS segments: one per group, up to six reason/amount/quantity triplets each."""
    by_group: dict[str, list[Adjustment]] = {}
    for a in adjustments:
        by_group.setdefault(a.group, []).append(a)
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            elements: list[str | None] = ["CAS", group]
            for a in items[start : start + 6]:
                quantity = format(a.quantity.normalize(), "f") if a.quantity is not None else None
                elements += [a.reason, x12_amount(a.amount), quantity]
            ts.add(*elements)


def dtp(ts: TransactionSet, qualifier: str, start: date, end: date | None = None, *, as_read: bool = False) -> None:
    """A DTP segment: one date (D8), or a range (RD8) when ``end`` is given and differs from ``start``. With
    ``as_read``, any range given is written as a range, one-day ranges too: dates read from a 271 and written
    again keep their form (a plan period of one day reads back as that day, not as an open end)."""
    if end is not None and (end != start or as_read):
        ts.add("DTP", qualifier, "RD8", f"{d8(start)}-{d8(end)}")
    else:
        ts.add("DTP", qualifier, "D8", d8(start))


class Levels:
    """The HL loops of a transaction set, numbered in the order they are written."""

    def __init__(self, ts: TransactionSet) -> None:
        self._ts = ts
        self._count = 0

    def add(self, parent: int | None, level: str, children: str | None = None) -> int:
        """Write ``HL*<number>*<parent>*<level>*<children>`` and return the new loop's number."""
        self._count += 1
        self._ts.add("HL", str(self._count), None if parent is None else str(parent), level, children)
        return self._count


def payer_level(ts: TransactionSet, levels: Levels, name: str, payer_id: str) -> int:
    """The information source loop (HL 20) naming the payer (NM1*PR with its payer id); its number."""
    source = levels.add(None, "20", "1")
    ts.add("NM1", "PR", "2", name, None, None, None, None, "PI", payer_id)
    return source
