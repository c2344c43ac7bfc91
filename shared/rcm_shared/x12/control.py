"""Interchange control numbers kept in a service's database, so every API replica draws from one sequence."""

from __future__ import annotations

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rcm_shared.dialects import insert_ignore


async def next_control(conn: AsyncConnection, table: Table, kind: str) -> int:
    """The next number of a kind (ISA, GS, ST, ...), wrapping at 999,999,999; never reused before that.

    The row is created if missing (concurrent first uses do not collide), then incremented under its row lock.
    """
    await conn.execute(insert_ignore(conn, table, {"kind": kind, "value": 0}))
    result = await conn.execute(
        update(table).where(table.c.kind == kind).values(value=table.c.value % 999_999_999 + 1).returning(table.c.value)
    )
    return int(result.scalar_one())
