"""The embedded stack's SQLite connection for SQLAlchemy's async engine: statements run on the event loop.

SQLAlchemy's ``sqlite+aiosqlite`` sends every statement to the connection's own thread four times (cursor,
execute, fetchall, close), each trip a queue put, a thread wake-up and a loop wake-up. On this project's
2-core machines a trip cost 150-300 us of CPU - more than the statements: a trivial ``SELECT`` through the
engine took 1.2 ms of CPU against 0.12 ms through a synchronous engine, and an eligibility check's
reads and writes were most of its CPU.

This connection keeps aiosqlite's thread (SQLAlchemy's adapter and the connection's set-up use it) but
runs statements, fetches, commits and rollbacks on the calling event loop, because on this stack they do
not wait: readers never wait in WAL mode, and a write transaction waits only to begin - after ``BEGIN
IMMEDIATE`` it holds the database until its ``COMMIT`` (which in WAL mode takes no further lock; its
automatic checkpoint is PASSIVE and never waits either). What can wait for another writer - ``BEGIN
IMMEDIATE``/``EXCLUSIVE`` and ``PRAGMA``s (``journal_mode=WAL`` on a new file) - goes to the thread, where
SQLite's busy handler may sleep without stopping the loop: one trip per write transaction. (Beginning on
the loop even while holding the write turn of ``rcm_shared.db.write_queue`` is not safe: a connection
opened without ``READ_ONLY`` begins IMMEDIATE too, without the turn, and one in the same process would
never get the loop back to commit.)

A statement blocks the loop for as long as SQLite works on it: right for the short indexed statements of
these services; a long report query holds the loop meanwhile (it held a core before, too).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import aiosqlite

# What can wait for another connection's lock, and so runs on the connection's thread.
_MAY_WAIT = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "PRAGMA")


class _Cursor:
    """What SQLAlchemy's aiosqlite adapter uses of a cursor; a statement is executed and its rows fetched
    in one call, and the rows handed out from memory (as SQLAlchemy's adapter does anyway)."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: list[Any] = []

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _run(self, sql: str, parameters: Any, many: bool) -> tuple[Any, int, int | None, list[Any]]:
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            elif parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.description else []
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            cursor.close()

    async def _call(self, sql: str, parameters: Any, many: bool) -> _Cursor:
        run = partial(self._run, sql, parameters, many)
        if sql.lstrip()[:15].upper().startswith(_MAY_WAIT):
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
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = size or self.arraysize
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows

    async def close(self) -> None:
        self._rows = []


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run on the caller's event loop (see the module's text)."""

    def cursor(self) -> _Cursor:  # type: ignore[override]  # aiosqlite's is a context-manager coroutine
        return _Cursor(self)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def in_thread(self, fn: Callable[[], Any]) -> Any:
        """Run on the connection's thread (aiosqlite's way). A caller cancelled meanwhile still waits for the
        thread to finish it: otherwise the rollback that follows a cancelled ``BEGIN IMMEDIATE`` could run on
        the loop before the thread's ``BEGIN``, and the connection would go back to the pool holding the
        database's write lock."""
        running = asyncio.ensure_future(super()._execute(fn))  # type: ignore[no-untyped-call]
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await running
            raise


async def connect(database: str, *, timeout: float) -> InlineConnection:
    """For ``create_async_engine("sqlite+aiosqlite:///...", async_creator=...)``."""
    # made on the connection's thread, used on the loop's: sqlite3 is built thread-safe (serialized), and
    # the engine's adapter hands a connection to one caller at a time
    connection = InlineConnection(partial(sqlite3.connect, database, timeout=timeout, check_same_thread=False), 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: an unclosed one must not hold up exit
    await connection
    return connection
