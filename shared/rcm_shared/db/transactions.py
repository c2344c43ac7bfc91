"""Write transactions and read connections; on SQLite, the process's and the file's write turn."""

from __future__ import annotations

import asyncio
import fcntl
import os
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rcm_shared.db.engines import READ_ONLY

V = TypeVar("V")


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()`` for a transaction that writes; on SQLite, after taking the file's write turn.

    SQLite has one writer at a time. Connections that all ask for the write lock wait in SQLite's busy
    handler, which sleeps and retries (1, 2, 5, ... up to 100 ms at a time): under load those sleeps
    make most of the tail latency. Here the writers of a process queue on an asyncio lock (first come,
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
    processes) writing to one file would lose up to 100 ms a turn. The kernel hands a released ``flock`` to a
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
