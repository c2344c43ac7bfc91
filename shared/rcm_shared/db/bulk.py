"""Bulk statements in the caller's transaction: many rows inserted or updated at once, binary COPY on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


async def bulk_insert(
    conn: AsyncConnection | AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts: bool = False,
) -> int:
    """Many rows in the caller's transaction, without SQLAlchemy's per-row parameter processing (the
    dominant cost of large Core executemany calls): on PostgreSQL in one statement (``INSERT ... SELECT
    FROM unnest`` of one array per column, binary COPY from ``COPY_MIN_ROWS`` rows on), elsewhere in one
    executemany. With ``skip_conflicts`` a row whose unique key is taken (stored already, by a concurrent
    writer, or by an earlier row of ``rows``) is left out, as ``INSERT ... ON CONFLICT DO NOTHING`` does;
    no COPY then. The statements' text is built once per table and columns: a multi-row ``insert().values()``
    is compiled again on every call.

    The values still pass through each column type's bind processor for the dialect (JSON to text,
    datetimes on SQLite, ...), so the rows stored are those ``conn.execute(insert(table), rows)`` stores.
    Every row has the keys of the first; a column left out must have no Python-side default (it would
    be skipped here), only a server default or NULL. Returns the number of rows inserted (with
    ``skip_conflicts``, as the database counts them: fewer than given when some were left out).
    """
    if not rows:
        return 0
    if isinstance(conn, AsyncSession):
        conn = await conn.connection()
    columns = list(rows[0])
    skipped = [c.name for c in table.c if c.name not in rows[0] and c.default is not None]
    if skipped:
        raise ValueError(f"bulk_insert into {table.name} leaves out {skipped}, which have Python-side defaults")
    dialect = conn.dialect
    params = _bound(dialect, table, columns, rows)
    conflicts = _SKIP_CONFLICTS if skip_conflicts else ""
    if dialect.driver == "asyncpg" and len(params) > 1:
        if not skip_conflicts and len(params) >= COPY_MIN_ROWS and await _copy(conn, table, columns, params):
            return len(params)
        # one statement with one array per column: a pipelined executemany is one statement per row for
        # the server, whose per-statement work dominates small batches
        result = await conn.exec_driver_sql(_unnest_insert_sql(conn, table, columns) + conflicts, _arrays(params))
    else:  # one row is executed as itself: a driver's executemany may not count the rows it wrote
        sql = _insert_sql(conn, table, columns) + conflicts
        result = await conn.exec_driver_sql(sql, params[0] if len(params) == 1 else params)
    return int(result.rowcount) if skip_conflicts else len(params)


_SKIP_CONFLICTS = " ON CONFLICT DO NOTHING"  # PostgreSQL, and SQLite from 3.24


def _bound(dialect: Any, table: Table, columns: list[str], rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Each row's values of ``columns``, through the column types' bind processors for the dialect."""
    processors = [
        (i, p) for i, c in enumerate(columns) if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    params = []
    for row in rows:
        values = [row[c] for c in columns]
        for i, process in processors:
            values[i] = process(values[i])
        params.append(tuple(values))
    return params


def _arrays(params: list[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Rows of parameters as one list per column (the ``unnest`` statements' parameters)."""
    return tuple(list(column) for column in zip(*params, strict=True))


async def bulk_update(
    conn: AsyncConnection, table: Table, key: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Write the other columns of each row to the row of ``table`` its ``key`` columns name (every row has
    the keys of the first), in the caller's transaction. PostgreSQL: one ``UPDATE ... FROM unnest(...)``
    for the lot; elsewhere one executemany (in-process on SQLite, where a statement costs little)."""
    if not rows:
        return
    columns = list(rows[0])
    values = [c for c in columns if c not in key]
    if not values or any(k not in columns for k in key):
        raise ValueError(f"bulk_update of {table.name} needs the key {list(key)} and at least one other column")
    dialect = conn.dialect
    if dialect.driver != "asyncpg" or len(rows) == 1:
        where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in key))
        await conn.execute(
            update(table).where(where).values({c: bindparam(f"v_{c}") for c in values}),
            [{**{f"k_{k}": row[k] for k in key}, **{f"v_{c}": row[c] for c in values}} for row in rows],
        )
        return
    # a row named twice: the last one is written, as the executemany would leave it (an UPDATE ... FROM
    # would apply one of the two, PostgreSQL does not say which)
    last = list({tuple(row[k] for k in key): row for row in rows}.values())
    name = _qualified(conn, table)
    sql = _STATEMENTS.get(("update", name, tuple(columns), tuple(key)))
    if sql is None:
        quote = dialect.identifier_preparer.quote
        sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in values)
        match = " AND ".join(f"{name}.{quote(k)} = v.{quote(k)}" for k in key)
        sql = f"UPDATE {name} SET {sets} FROM {_unnest(conn, table, columns)} WHERE {match}"  # noqa: S608
        _STATEMENTS[("update", name, tuple(columns), tuple(key))] = sql
    await conn.exec_driver_sql(sql, _arrays(_bound(dialect, table, columns, last)))


# SQL text of the bulk statements by (kind, table, columns, key): built once, not per call (an INSERT's kind
# names the driver's parameter style: one process may hold a SQLite and a PostgreSQL engine, as the tests do)
_STATEMENTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], str] = {}


# From this many rows on, PostgreSQL (asyncpg) gets them by binary COPY, which takes less time per row than a
# pipelined executemany of INSERTs once its fixed cost is spread over enough rows.
COPY_MIN_ROWS = 100


async def _copy(conn: AsyncConnection, table: Table, columns: list[str], params: list[tuple[Any, ...]]) -> bool:
    """COPY the rows into the table on the connection's own transaction. False if that cannot be done
    here (the driver connection is not what we expect), and the caller inserts them instead."""
    import asyncpg  # the PostgreSQL driver; only imported where it is in use

    adapted: Any = (await conn.get_raw_connection()).dbapi_connection
    driver = getattr(adapted, "driver_connection", None)
    if not isinstance(driver, asyncpg.Connection) or not hasattr(adapted, "_transaction"):
        return False
    if adapted._transaction is None:  # SQLAlchemy begins its transaction with the first statement
        await conn.exec_driver_sql("SELECT 1")
    schema = (conn.sync_connection.get_execution_options().get("schema_translate_map") or {}).get(table.schema)  # type: ignore[union-attr]
    try:
        await driver.copy_records_to_table(table.name, records=params, columns=columns, schema_name=schema or None)
    except asyncpg.IntegrityConstraintViolationError as exc:  # as an INSERT's violation would surface
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DBAPIError(f"COPY {table.name}", None, exc) from exc
    return True


def _qualified(conn: AsyncConnection, table: Table) -> str:
    """The table's quoted name, with the connection's schema (schema_translate_map) on PostgreSQL."""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    schema = (conn.sync_connection.get_execution_options().get("schema_translate_map") or {}).get(table.schema)  # type: ignore[union-attr]
    return f"{quote(schema)}.{quote(table.name)}" if schema and dialect.name != "sqlite" else quote(table.name)


def _unnest(conn: AsyncConnection, table: Table, columns: Sequence[str]) -> str:
    """``unnest($1::type[], ...) AS v(columns)``: one array parameter per column, of the column's type
    without its length or precision - an explicit cast to VARCHAR(64) or NUMERIC(12, 2) cuts or rounds a
    value silently, where storing it in the column refuses it as an INSERT of the value would."""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    types = [_MODIFIER.sub("", table.c[c].type.compile(dialect=dialect)) for c in columns]
    arrays = ", ".join(f"${i}::{type_}[]" for i, type_ in enumerate(types, 1))
    return f"unnest({arrays}) AS v({', '.join(quote(c) for c in columns)})"


_MODIFIER = re.compile(r"\(\s*\d+(\s*,\s*\d+)?\s*\)")  # (64), (12, 2)


def _unnest_insert_sql(conn: AsyncConnection, table: Table, columns: list[str]) -> str:
    name = _qualified(conn, table)
    sql = _STATEMENTS.get(("insert", name, tuple(columns), ()))
    if sql is None:
        quote = conn.dialect.identifier_preparer.quote
        cols = ", ".join(quote(c) for c in columns)
        sql = f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {_unnest(conn, table, columns)}"  # noqa: S608
        _STATEMENTS[("insert", name, tuple(columns), ())] = sql
    return sql


def _insert_sql(conn: AsyncConnection, table: Table, columns: list[str]) -> str:
    dialect = conn.dialect
    name = _qualified(conn, table)
    style = dialect.paramstyle
    key = (f"insert-{style}", name, tuple(columns), ())  # the marks differ by driver; the name may not
    sql = _STATEMENTS.get(key)
    if sql is None:
        sql = _STATEMENTS[key] = _values_insert_sql(dialect, name, columns)
    return sql


def _values_insert_sql(dialect: Any, name: str, columns: list[str]) -> str:
    quote = dialect.identifier_preparer.quote
    style = dialect.paramstyle
    if style == "qmark":
        marks = ["?"] * len(columns)
    elif style == "numeric_dollar":
        marks = [f"${i}" for i in range(1, len(columns) + 1)]
    elif style in ("format", "pyformat"):
        marks = ["%s"] * len(columns)
    else:  # pragma: no cover - the drivers we support use one of the above
        raise ValueError(f"bulk_insert does not know the DB-API paramstyle {style!r} of {dialect.name}")
    # identifiers come from the table's metadata (quoted), values are bound parameters
    return f"INSERT INTO {name} ({', '.join(quote(c) for c in columns)}) VALUES ({', '.join(marks)})"  # noqa: S608
