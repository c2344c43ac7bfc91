"""Interchange control numbers kept in a service's database, so every API replica draws from one sequence."""

from __future__ import annotations

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection


async def next_control(conn: AsyncConnection, table: Table, kind: str) -> int:
    """The next number of a kind (ISA, GS, ST, ...), wrapping at 999,999,999; never reused before that."""
    result = await conn.execute(
        update(table).where(table.c.kind == kind).values(value=table.c.value % 999_999_999 + 1).returning(table.c.value)
    )
    value = result.scalar()
    if value is None:
        await conn.execute(insert(table).values(kind=kind, value=1))
        value = 1
    return int(value)
