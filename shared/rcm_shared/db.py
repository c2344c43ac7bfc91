"""Async SQLAlchemy helpers: naming conventions, engines per service, write transactions, bulk inserts.

A service's tables are declared without a schema. On PostgreSQL the engine maps them into the
service's own schema (``schema_translate_map``), so the same models and Alembic tree serve SQLite
(one file per service) and PostgreSQL (one schema per service).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import socket
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic_core import from_json, to_json
from sqlalchemy import MetaData, Table, and_, bindparam, event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from rcm_shared.sqlite import InlineConnection
from rcm_shared.sqlite import connect as sqlite_connect

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
V = TypeVar("V")


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


# JSON columns (claim documents, outbox headers, codes) are written and read by pydantic's serializer and parser:
# a claim document in a quarter of json.dumps' time, read in two thirds of json.loads'. Compact text; what json.dumps
# refuses (a date, a Decimal, a set) is written as pydantic writes it (ISO text, a string, a list) instead.
_JSON = {"json_serializer": _json_text, "json_deserializer": from_json}
# A statement's bound values (a patient's name, a member id) are left out of SQLAlchemy's error messages and
# echo, so a logged database error or traceback carries the SQL only: PHI never reaches the logs.
_ENGINE_OPTIONS: dict[str, Any] = {**_JSON, "hide_parameters": True}


# SQLSTATE classes of a database that cannot be reached for now: connection exceptions (08), operator
# intervention (57P: shut down by an administrator or a crash, starting up, shutting down), too many connections
_UNREACHABLE_SQLSTATES = ("08", "57P", "53300")


DATABASE_WAIT_MAX = 5.0  # seconds between tries, at most, while the database cannot be reached


def outage_delay(first: float, tries: int) -> float:
    """The wait before try ``tries`` + 1 while the database cannot be reached: ``first``, doubling, at most
    ``DATABASE_WAIT_MAX``."""
    return min(DATABASE_WAIT_MAX, first * 2.0 ** min(tries - 1, 16))


def database_unreachable(exc: BaseException) -> bool:
    """The database refused or lost the connection, is restarting, or (SQLite) stayed locked by another process
    past the busy timeout: a state of the database, not of the request or event at hand, so the same work can
    succeed later. (A refused connection surfaces as the driver's own exception; one lost mid-statement as
    SQLAlchemy's, marked invalidated, the pool replacing it.)"""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if isinstance(exc, OSError) and exc.errno is None and str(exc).startswith("Multiple exceptions:"):
        return True  # asyncio could connect to none of the host's addresses
    if isinstance(exc, sqlite3.OperationalError):
        return exc.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))  # extended codes too
    return str(getattr(exc, "sqlstate", None) or "").startswith(_UNREACHABLE_SQLSTATES)


def create_engine(url: str, *, schema: str, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine bound to one service's storage: its SQLite file, or its PostgreSQL schema."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # A small pool per process: opening a SQLite connection (file, WAL pragmas) per request costs more than
        # the query itself; WAL lets the API and worker processes share the file. Statements run on the
        # event loop (rcm_shared.sqlite: a trip to aiosqlite's thread cost more than the statement).
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


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()`` for a transaction that writes; on SQLite, after taking the file's write turn.

    SQLite has one writer at a time. Connections that all ask for the write lock wait in SQLite's busy
    handler, which sleeps and retries (1, 2, 5, ... up to 100 ms at a time): at 200 eligibility checks/s
    most of the p99 was those sleeps. Here the writers of a process queue on an asyncio lock (first come,
    first served, no sleeping), and the one at the head takes the file's turn among processes (an API and
    its worker, see ``_FileTurn``) before asking SQLite. Every writer of the services comes this way.
    PostgreSQL: plain ``begin()``.
    Not reentrant: a write transaction opened inside another of the same task raises ``RuntimeError`` (it
    would wait for the outer one's lock).
    """
    async with write_queue(engine), engine.begin() as conn:
        yield conn


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.connect()`` for reads only: on SQLite its transactions begin deferred (``READ_ONLY``), so it
    neither takes the file's write lock nor waits for it (WAL readers see the last commit). A plain
    connection begins IMMEDIATE: a GET would queue behind every writer in SQLite's busy handler, and hold
    them up in turn. PostgreSQL: its transactions begin ``READ ONLY`` (the same round trip), so a write
    slipped into a read path fails there rather than writing without its outbox row or audit."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            yield await conn.execution_options(postgresql_readonly=True)
        else:
            yield await conn.execution_options(**READ_ONLY)


@asynccontextmanager
async def write_queue(engine: AsyncEngine) -> AsyncIterator[None]:
    """The process's turn to write to a SQLite database (see ``write_transaction``); no-op on PostgreSQL.
    For transactions opened another way (a session's ``begin()``), taken around them."""
    if engine.dialect.name != "sqlite":
        yield
        return
    turn = _file_turn(engine)
    database = engine.url.database or ":memory:"
    me = asyncio.current_task()
    if _turn_holder.get() == (database, me):
        # it would wait for itself: for the in-process lock (forever), or for SQLite's lock (busy_timeout)
        raise RuntimeError(f"a write transaction on {database} was opened inside another one of the same task")
    async with _write_lock(engine):
        if turn is not None:
            await turn.acquire()
        holding = _turn_holder.set((database, me))
        try:
            yield
        finally:
            _turn_holder.reset(holding)
            if turn is not None:
                turn.release()


_turn_holder: ContextVar[tuple[str, asyncio.Task[Any] | None] | None] = ContextVar("rcm_write_turn", default=None)
"""(database, task) while that task holds the database's write turn (a task started inside copies the
context but does not hold the turn)."""


class _FileTurn:
    """The turn to write to one SQLite file among processes: an exclusive ``flock`` on ``<file>.write-lock``.

    Without it, a writer that finds another process's transaction holding the file waits in SQLite's busy
    handler, which sleeps and retries (1, 2, 5, ... up to 100 ms a try): an API and its worker (or two API
    processes) writing to one file lost up to 100 ms a turn. The kernel hands a released ``flock`` to a
    waiter at once. SQLite's own lock stays the guard of the data: a writer that does not take this turn
    (a migration, a hand-run tool, a connection opened without ``READ_ONLY``, which begins IMMEDIATE) is
    still kept out by it, only with the busy handler's waits. The kernel drops the lock of a process that
    dies holding it.
    One per engine (one file description): the engine's in-process queue lets one task of the process
    ask at a time.
    """

    def __init__(self, database: str) -> None:
        self._fd = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
        weakref.finalize(self, os.close, self._fd)

    async def acquire(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no thread hop
            return
        except BlockingIOError:
            pass
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, self._fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # the thread still gets the lock: give it back then, or every process would wait forever
            def give_back(got: asyncio.Future[None]) -> None:
                if not got.cancelled() and got.exception() is None:
                    self.release()

            waiting.add_done_callback(give_back)
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


_file_turns: weakref.WeakKeyDictionary[Any, _FileTurn | None] = weakref.WeakKeyDictionary()


def _file_turn(engine: AsyncEngine) -> _FileTurn | None:
    key = engine.sync_engine
    if key not in _file_turns:
        database = engine.url.database
        _file_turns[key] = _FileTurn(database) if database and database != ":memory:" else None
    return _file_turns[key]


_per_engine: weakref.WeakKeyDictionary[Any, dict[str, tuple[asyncio.AbstractEventLoop, Any]]] = (
    weakref.WeakKeyDictionary()
)


def per_engine(engine: AsyncEngine, name: str, factory: Callable[[], V]) -> V:
    """The process's one ``name`` object for this engine and the running event loop (asyncio locks,
    futures and tasks belong to one loop; tests run several), made by ``factory`` on first use."""
    loop = asyncio.get_running_loop()
    objects = _per_engine.setdefault(engine.sync_engine, {})
    held = objects.get(name)
    if held is None or held[0] is not loop:
        held = objects[name] = (loop, factory())
    return cast(V, held[1])


def _write_lock(engine: AsyncEngine) -> asyncio.Lock:
    return per_engine(engine, "write-lock", asyncio.Lock)


Writer = Callable[[AsyncConnection, list[Any]], Awaitable[Sequence[Any]]]
"""Writes a list of items in the caller's transaction (one executemany per table, not a statement per
item) and returns one result per item, in order."""


class GroupCommit:
    """One transaction for what the concurrent requests of one process write (group commit); one per
    engine and event loop: ``GroupCommit.of(engine)``.

    A caller hands in its item with the writer that stores it and waits until the transaction holding it
    has committed, then gets its result (or the exception that kept the transaction from committing: no
    commit, no answer). The items that arrive while one transaction commits share the next one, each
    writer called once with its items in arrival order (an eligibility check's rows and every request's
    audit row, say). On SQLite, where one writer at a time holds the database, N requests take the write
    lock once instead of N times, and each time for a few statements whose every step waits its turn on a
    busy event loop; on PostgreSQL they share one commit.
    A batch of several that fails on a constraint (``IntegrityError``) is retried item by item, so a bad
    item fails only its own caller; any other failure (the database is down) is every caller's.
    """

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._waiting: list[tuple[Writer, Any, asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, engine: AsyncEngine) -> GroupCommit:
        return per_engine(engine, "group-commit", lambda: cls(engine))

    async def submit(self, write: Writer, item: Any) -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((write, item, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="group-commit")
        return await asyncio.shield(done)  # a caller that goes away does not take the others' commit with it

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            if not await self._commit(batch):
                for one in batch:  # a constraint failed: each item alone, so only the bad one fails
                    await self._commit([one])

    async def _commit(self, batch: list[tuple[Writer, Any, asyncio.Future[Any]]]) -> bool:
        """Settles every caller of the batch, except when a batch of several failed on a constraint: False."""
        by_writer: dict[Writer, list[int]] = {}
        for i, (write, _, _) in enumerate(batch):
            by_writer.setdefault(write, []).append(i)
        results: list[Any] = [None] * len(batch)
        try:
            async with write_transaction(self._engine) as conn:
                for write, positions in by_writer.items():
                    written = await write(conn, [batch[i][1] for i in positions])
                    if len(written) != len(positions):
                        raise RuntimeError(f"{write!r}: {len(written)} results for {len(positions)} items")
                    for i, result in zip(positions, written, strict=True):
                        results[i] = result
        except Exception as exc:  # noqa: BLE001 - handed to the callers, who answer with it
            if isinstance(exc, IntegrityError) and len(batch) > 1:
                return False
            for _, _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return True
        for (_, _, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
        return True

    async def close(self) -> None:
        """Wait for what is still being written (at the end of an app's lifespan)."""
        if self._drainer is not None:
            with contextlib.suppress(Exception):
                await self._drainer


READ_ONLY = {"rcm_read_only": True}


def _sqlite_on_begin(conn: Any) -> None:
    # Take the write lock at BEGIN: a deferred transaction that later needs to write can fail with
    # "database is locked" without waiting; IMMEDIATE waits for busy_timeout instead. Connections
    # marked read-only (execution_options(**READ_ONLY)) begin deferred, so readers never queue on writers.
    # The BEGIN runs on the driver connection itself where it need not wait (rcm_shared.sqlite): as a
    # statement through SQLAlchemy it cost ~100 us, a fifth of an empty write transaction's CPU.
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
        # the server (its per-statement work was most of the server's CPU for small batches)
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


# From this many rows on, PostgreSQL (asyncpg) gets them by binary COPY: 2.5x less time per row than a
# pipelined executemany of INSERTs (3.3 against 8.2 us for a ledger row on this machine).
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
