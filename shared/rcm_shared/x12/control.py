"""Interchange control numbers kept in a service's database, so every API replica draws from one sequence."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Table, case, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rcm_shared.db import bulk_insert, write_transaction

MAX_CONTROL = 999_999_999  # nine digits (ISA13, GS06 and ST02 fit it)


async def next_control(conn: AsyncConnection, table: Table, kind: str) -> int:
    """The next number of a kind (ISA, GS, ST, ...), wrapping at 999,999,999; never reused before that.

    The row is created if missing (concurrent first uses do not collide), then incremented under its row lock.
    """
    return (await next_controls(conn, table, [kind]))[kind]


async def next_controls(conn: AsyncConnection, table: Table, kinds: Sequence[str]) -> dict[str, int]:
    """The next number of each kind (e.g. ISA, GS and ST of one interchange) in two statements."""
    return await reserve_controls(conn, table, kinds, 1)


async def reserve_controls(conn: AsyncConnection, table: Table, kinds: Sequence[str], count: int) -> dict[str, int]:
    """The first of ``count`` consecutive numbers of each kind, all of them the caller's. A block never
    crosses the wrap: when it would, it starts again at 1."""
    await bulk_insert(conn, table, [{"kind": kind, "value": 0} for kind in kinds], skip_conflicts=True)
    result = await conn.execute(
        update(table)
        .where(table.c.kind.in_(list(kinds)))
        .values(value=case((table.c.value + count > MAX_CONTROL, count), else_=table.c.value + count))
        .returning(table.c.kind, table.c.value)
    )
    return {kind: int(value) - count + 1 for kind, value in result}


class ControlBlocks:
    """Control numbers for one process, drawn from the database a block at a time.

    Drawing each interchange's numbers in its own write transaction made every eligibility check a
    database writer twice; now one check in ``size`` is. Numbers stay unique across replicas and restarts
    (each block is reserved in the shared sequence); a block a process does not use up is skipped, which
    X12 allows: control numbers must be unique, not consecutive.
    """

    def __init__(self, engine: AsyncEngine, table: Table, kinds: Sequence[str], size: int = 100) -> None:
        self._engine = engine
        self._table = table
        self._kinds = list(kinds)
        self._size = size
        self._next: dict[str, int] = {}
        self._left = 0
        self._lock = asyncio.Lock()

    async def take(self) -> dict[str, int]:
        """The next number of each kind."""
        while self._left == 0:
            async with self._lock:
                if self._left == 0:
                    async with write_transaction(self._engine) as conn:
                        self._next = await reserve_controls(conn, self._table, self._kinds, self._size)
                    self._left = self._size
        numbers = dict(self._next)
        self._next = {kind: value + 1 for kind, value in numbers.items()}
        self._left -= 1
        return numbers
