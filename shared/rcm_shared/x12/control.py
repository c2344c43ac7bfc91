"""Interchange control numbers kept in a service's database, so every API replica draws from one sequence."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rcm_shared.dialects import insert_ignore_many


async def next_control(conn: AsyncConnection, table: Table, kind: str) -> int:
    """The next number of a kind (ISA, GS, ST, ...), wrapping at 999,999,999; never reused before that.

    The row is created if missing (concurrent first uses do not collide), then incremented under its row lock.
    """
    return (await next_controls(conn, table, [kind]))[kind]


async def next_controls(conn: AsyncConnection, table: Table, kinds: Sequence[str]) -> dict[str, int]:
    """The next number of each kind (e.g. ISA, GS and ST of one interchange) in two statements."""
    await conn.execute(insert_ignore_many(conn, table, [{"kind": kind, "value": 0} for kind in kinds]))
    result = await conn.execute(
        update(table)
        .where(table.c.kind.in_(list(kinds)))
        .values(value=table.c.value % 999_999_999 + 1)
        .returning(table.c.kind, table.c.value)
    )
    return {kind: int(value) for kind, value in result}
