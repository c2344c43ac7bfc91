"""The embedded stack's SQLite connection for SQLAlchemy's async engine: statements run on the event loop.

SQLAlchemy's ``sqlite+aiosqlite`` sends every statement to the connection's own thread four times (cursor,
execute, fetchall, close), each trip a queue put, a thread wake-up and a loop wake-up: on small machines
the trips cost more CPU than the statements they carry.

This connection keeps aiosqlite's thread (SQLAlchemy's adapter and the connection's set-up use it) but
runs statements, fetches, commits and rollbacks on the calling event loop, because on this stack they do
not wait: readers never wait in WAL mode, and a write transaction waits only to begin - after ``BEGIN
IMMEDIATE`` it holds the database until its ``COMMIT`` (which in WAL mode takes no further lock; its
automatic checkpoint is PASSIVE and never waits either). What can wait for another writer goes to the
thread, where SQLite's busy handler may sleep without stopping the loop: ``PRAGMA``s (``journal_mode=WAL``
on a new file), and a ``BEGIN IMMEDIATE`` that finds the write lock taken - it is first tried on the loop
with a busy timeout of 0, which fails at once if another connection writes. (Waiting on the loop for the
lock is never safe: a connection opened without ``READ_ONLY`` begins IMMEDIATE too, and one in the same
process would never get the loop back to commit.)

A statement blocks the loop for as long as SQLite works on it: right for the short indexed statements of
these services; a long report query holds the loop meanwhile (it held a core before, too).

``RCM_SQLITE_PLAN_LOG`` (a file name) makes every connection of the process ask SQLite how it will run each
distinct ``SELECT``, ``UPDATE`` and ``DELETE`` (``EXPLAIN QUERY PLAN``) and append those that walk a whole
table or index, or find rows by tenant alone, to that file as JSON lines (the SQL and its plan; never the
values). The end-to-end test runs the cycle with it and fails on a plan nobody reviewed: SQLite plans without
statistics, by the schema and the statement alone, so a statement that scans in a test scans in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import aiosqlite

# Statements that wait for the write lock (tried on the loop first); PRAGMAs can wait too (journal_mode=WAL
# on a new file) and always go to the thread.
_BEGIN_WRITE = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")
# a plan step that reads a whole table or index, or an index range of one tenant (every row the tenant has)
_WIDE_STEP = re.compile(r"^SCAN (?!CONSTANT ROW)|\(tenant_id=\?\)$")


class PlanLog:
    """Where the statements whose plans read whole tables go (see the module's docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.seen: set[str] = set()

    def check(self, conn: sqlite3.Connection, sql: str, parameters: Any) -> None:
        if sql in self.seen or sql.lstrip()[:6].upper() not in ("SELECT", "UPDATE", "DELETE"):
            return
        self.seen.add(sql)
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, parameters or ())]
        if any(_WIDE_STEP.search(step) for step in plan):
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"sql": " ".join(sql.split()), "plan": plan}) + "\n")


_plan_logs: dict[str, PlanLog] = {}


class _Cursor:
    """What SQLAlchemy's aiosqlite adapter uses of a cursor; a statement is executed and its rows fetched
    in one call, and the rows handed out from memory (as SQLAlchemy's adapter does anyway)."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: deque[Any] = deque()

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _run(self, sql: str, parameters: Any, many: bool) -> tuple[Any, int, int | None, deque[Any]]:
        if self._connection.plan_log is not None:
            self._connection.plan_log.check(self._connection._conn, sql, parameters[0] if many else parameters)
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            elif parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            rows = deque(cursor.fetchall()) if cursor.description else deque()
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            cursor.close()

    async def _call(self, sql: str, parameters: Any, many: bool) -> _Cursor:
        run = partial(self._run, sql, parameters, many)
        head = sql.lstrip()[:15].upper()
        if head.startswith(_BEGIN_WRITE):
            outcome = self._connection.if_free(run)
            if outcome is None:  # another connection writes: wait off the loop
                outcome = await self._connection.in_thread(run)
        elif head.startswith("PRAGMA"):
            outcome = await self._connection.in_thread(run)
        else:
            outcome = await self._connection._execute(run)
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def execute(self, sql: str, parameters: Any = None) -> _Cursor:
        return await self._call(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> _Cursor:
        return await self._call(sql, parameters, many=True)

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = min(size or self.arraysize, len(self._rows))
        return [self._rows.popleft() for _ in range(n)]

    async def close(self) -> None:
        self._rows.clear()


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run on the caller's event loop (see the module's text)."""

    _busy_ms: int | None = None
    plan_log: PlanLog | None = None

    def cursor(self) -> _Cursor:  # type: ignore[override]  # aiosqlite's is a context-manager coroutine
        return _Cursor(self)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def begin_here(self, statement: str) -> bool:
        """``BEGIN`` (or ``BEGIN IMMEDIATE`` if the write lock is free at once) on the loop, without a trip
        through SQLAlchemy's statement execution; False if it must wait (the caller then executes it)."""
        if not self._running or not self._connection:
            return False
        if statement == "BEGIN":
            self._conn.execute(statement)
            return True
        return self.if_free(partial(self._conn.execute, statement)) is not None

    def if_free(self, fn: Callable[[], Any]) -> Any | None:
        """``fn`` (a ``BEGIN`` that takes the write lock) on the loop if the lock is free at once - SQLite's
        busy timeout is 0 meanwhile - else None: the caller then waits on the thread."""
        conn = self._conn
        if self._busy_ms is None:
            self._busy_ms = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                return None
            raise
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")

    async def in_thread(self, fn: Callable[[], Any]) -> Any:
        """Run on the connection's thread (aiosqlite's way). A caller cancelled meanwhile still waits for the
        thread to finish it: otherwise the rollback that follows a cancelled ``BEGIN IMMEDIATE`` could run on
        the loop before the thread's ``BEGIN``, and the connection would go back to the pool holding the
        database's write lock."""
        running = asyncio.ensure_future(super()._execute(fn))  # type: ignore[no-untyped-call]
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            while not running.done():  # cancelled again meanwhile: still wait
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([running])
            raise


async def connect(database: str, *, timeout: float) -> InlineConnection:
    """For ``create_async_engine("sqlite+aiosqlite:///...", async_creator=...)``."""
    # made on the connection's thread, used on the loop's: sqlite3 is built thread-safe (serialized), and
    # the engine's adapter hands a connection to one caller at a time
    connection = InlineConnection(partial(sqlite3.connect, database, timeout=timeout, check_same_thread=False), 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: an unclosed one must not hold up exit
    if path := os.environ.get("RCM_SQLITE_PLAN_LOG"):
        connection.plan_log = _plan_logs.setdefault(path, PlanLog(path))
    await connection
    return connection
