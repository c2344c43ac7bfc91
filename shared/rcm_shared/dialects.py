"""Small dialect differences the services need, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def insert_ignore(conn: AsyncConnection | AsyncSession, table: Table, values: dict[str, Any]) -> Any:
    """INSERT that does nothing on a unique conflict (rowcount 0): idempotent writes."""
    bind = conn.bind if isinstance(conn, AsyncSession) else conn
    name = bind.dialect.name if bind is not None else ""
    if name == "postgresql":
        return pg_insert(table).values(**values).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite_insert(table).values(**values).on_conflict_do_nothing()
    return insert(table).values(**values)
