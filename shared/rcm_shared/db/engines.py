"""Engines per service: naming conventions, the service's SQLite file or PostgreSQL schema, sessions.

A service's tables are declared without a schema. On PostgreSQL the engine maps them into the
service's own schema (``schema_translate_map``), so the same models and Alembic tree serve SQLite
(one file per service) and PostgreSQL (one schema per service).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from pydantic_core import from_json, to_json
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from rcm_shared.sqlite import InlineConnection
from rcm_shared.sqlite import connect as sqlite_connect

# The largest `offset` a list takes: past any real list, and inside a 64-bit integer, which the databases
# refuse with an error rather than an empty page.
MAX_OFFSET = 1_000_000
MAX_ROW_ID = 2**63 - 1  # a numbered row's id (BIGINT): a larger one in a path is a 422, not a database error
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def make_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class filter_only(ColumnElement[Any]):
    """A column that filters the rows another term finds and is never used to find them: ``+column`` on
    SQLite, the column itself elsewhere.

    Without statistics SQLite's planner guesses that an equality on an index's first column selects about ten
    rows, so ``tenant_id = ? AND id IN (<100 ids>)`` walks the tenant's whole range of a (tenant_id, state)
    index - every claim the tenant has - instead of looking the 100 ids up: a bulk read that grows with the
    table. ``filter_only(c.tenant_id) == tenant`` keeps the tenant check and leaves the lookup to the ids.
    PostgreSQL keeps statistics and plans by them; there the column is left as it is."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(filter_only)
def _filter_only(element: filter_only, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(filter_only, "sqlite")
def _filter_only_sqlite(element: filter_only, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


def _json_text(value: Any) -> str:
    return to_json(value).decode()


# JSON columns (claim documents, outbox headers, codes) are written and read by pydantic's serializer and parser,
# faster than json.dumps and json.loads. Compact text; what json.dumps refuses (a date, a Decimal, a set) is
# written as pydantic writes it (ISO text, a string, a list) instead.
_JSON = {"json_serializer": _json_text, "json_deserializer": from_json}
# A statement's bound values (a patient's name, a member id) are left out of SQLAlchemy's error messages and
# echo, so a logged database error or traceback carries the SQL only: PHI never reaches the logs.
_ENGINE_OPTIONS: dict[str, Any] = {**_JSON, "hide_parameters": True}


READ_ONLY = {"rcm_read_only": True}


def create_engine(url: str, *, schema: str, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine bound to one service's storage: its SQLite file, or its PostgreSQL schema."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # A small pool per process: opening a SQLite connection (file, WAL pragmas) per request costs more than
        # the query itself; WAL lets the API and worker processes share the file. Statements run on the
        # event loop (rcm_shared.sqlite: a trip to a driver thread costs more than the statement).
        engine = create_async_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            async_creator=partial(sqlite_connect, database or ":memory:", timeout=30),
            **_ENGINE_OPTIONS,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    check_schema_name(schema)
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        pool_pre_ping=True,
        **_ENGINE_OPTIONS,
        execution_options={"schema_translate_map": {None: schema}},
        # which service a connection belongs to, in pg_stat_activity (and for an operator's pg_terminate_backend)
        connect_args={"server_settings": {"application_name": f"rcm-{schema}"[:63]}},
    )


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API and the worker (two processes) read while the other writes; foreign keys on;
    # pysqlite's own transaction handling off so that BEGIN IMMEDIATE below is ours.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    # Take the write lock at BEGIN: a deferred transaction that later needs to write can fail with
    # "database is locked" without waiting; IMMEDIATE waits for busy_timeout instead. Connections
    # marked read-only (execution_options(**READ_ONLY)) begin deferred, so readers never queue on writers.
    # The BEGIN runs on the driver connection itself where it need not wait (rcm_shared.sqlite): as a
    # statement through SQLAlchemy it is a sizeable part of an empty write transaction's CPU.
    statement = "BEGIN" if conn.get_execution_options().get("rcm_read_only") else "BEGIN IMMEDIATE"
    driver = getattr(conn.connection.dbapi_connection, "_connection", None)
    if isinstance(driver, InlineConnection) and driver.begin_here(statement):
        return
    conn.exec_driver_sql(statement)


async def ensure_schema(engine: AsyncEngine, schema: str) -> None:
    """Create the service's PostgreSQL schema if needed (no-op on SQLite)."""
    if engine.dialect.name == "sqlite":
        return
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{check_schema_name(schema)}"'))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def engine_scope(url: str, *, schema: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, schema=schema)
    try:
        yield engine
    finally:
        await engine.dispose()
