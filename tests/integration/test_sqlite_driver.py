"""The embedded stack's SQLite connection (rcm_shared.sqlite) and write turn (rcm_shared.db.write_queue):
statements run on the event loop, what can wait for a lock does not stop the loop, one writer at a time
among engines and processes, and the turn is never left taken."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from rcm_shared.db import READ_ONLY, create_engine, write_transaction
from rcm_shared.sqlite import InlineConnection
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError


@pytest.fixture
async def database(tmp_path: Path) -> Any:
    path = tmp_path / "service.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", schema="t")
    async with write_transaction(engine) as conn:
        await conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield path, engine
    await engine.dispose()


async def _ticks_while(awaitable: Any) -> tuple[Any, int]:
    """What the awaitable returns, and how often a 10 ms ticker ran on the loop meanwhile."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        return await awaitable, ticks
    finally:
        done.set()
        await task


async def test_statements_give_what_the_dbapi_gives(database: Any) -> None:
    _, engine = database
    async with write_transaction(engine) as conn:
        inserted = await conn.execute(text("INSERT INTO item (name) VALUES ('a'), ('b') RETURNING id, name"))
        assert [tuple(r) for r in inserted] == [(1, "a"), (2, "b")]
        many = await conn.execute(text("INSERT INTO item (name) VALUES (:n)"), [{"n": "c"}, {"n": "d"}])
        assert many.rowcount == 2
        updated = await conn.execute(text("UPDATE item SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 3
    with pytest.raises(IntegrityError):
        async with write_transaction(engine) as conn:
            await conn.execute(text("INSERT INTO item (name) VALUES ('e')"))
            await conn.execute(text("INSERT INTO item (name) VALUES ('a')"))  # unique: the whole transaction goes
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT name FROM item ORDER BY id"))).scalars().all()
        assert rows == ["a", "b!", "c!", "d!"]
        streamed = await conn.stream(text("SELECT id FROM item ORDER BY id"))
        assert [r async for r in streamed.scalars()] == [1, 2, 3, 4]


async def test_a_writer_waiting_for_another_connections_lock_does_not_stop_the_loop(database: Any) -> None:
    path, engine = database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer that does not take the turn (a hand-run tool, say)
    other.execute("INSERT INTO item (name) VALUES ('theirs')")

    async def write() -> str:
        async with engine.begin() as conn:  # not the turn: BEGIN IMMEDIATE waits on the connection's thread
            await conn.execute(text("INSERT INTO item (name) VALUES ('ours')"))
        return "written"

    async def let_go() -> None:
        await asyncio.sleep(0.5)
        other.execute("COMMIT")

    releasing = asyncio.create_task(let_go())
    outcome, ticks = await _ticks_while(write())
    await releasing
    other.close()
    assert outcome == "written"
    assert ticks >= 20, f"the loop ran {ticks} times in the half second the writer waited: it was blocked"
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT name FROM item ORDER BY id"))).scalars().all() == ["theirs", "ours"]


async def test_only_a_begin_that_finds_the_write_lock_taken_goes_to_the_connections_thread(
    database: Any, monkeypatch: Any
) -> None:
    path, engine = database
    async with engine.connect() as conn:  # the pool's connection is made (its PRAGMAs go to the thread)
        await conn.execute(text("SELECT 1"))
    trips: list[str] = []
    original = InlineConnection.in_thread

    async def counted(self: InlineConnection, fn: Any) -> Any:
        trips.append(fn.args[0])
        return await original(self, fn)

    monkeypatch.setattr(InlineConnection, "in_thread", counted)
    async with write_transaction(engine) as conn:
        await conn.execute(text("INSERT INTO item (name) VALUES ('one')"))
        await conn.execute(text("SELECT count(*) FROM item"))
    async with engine.connect() as conn:
        conn = await conn.execution_options(**READ_ONLY)
        await conn.execute(text("SELECT count(*) FROM item"))
    assert trips == []  # the lock was free: BEGIN, statements and COMMIT all ran on the loop

    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
    async with write_transaction(engine) as conn:
        await conn.execute(text("INSERT INTO item (name) VALUES ('two')"))
    other.close()
    assert trips == ["BEGIN IMMEDIATE"]  # the lock was taken: waited for on the thread
    async with engine.connect() as conn:  # and the busy timeout is back for the next wait
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 30000


async def test_begin_runs_on_the_driver_connection_not_through_sqlalchemys_statement_execution(database: Any) -> None:
    """A BEGIN executed as a statement cost a fifth of an empty transaction's CPU; if SQLAlchemy's adapter
    changes shape the BEGIN falls back to a statement, and this test says so."""
    from sqlalchemy import event

    _path, engine = database
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with write_transaction(engine) as conn:
            await conn.execute(text("INSERT INTO item (name) VALUES ('one')"))
        async with engine.connect() as conn:
            conn = await conn.execution_options(**READ_ONLY)
            assert (await conn.execute(text("SELECT count(*) FROM item"))).scalar() == 1
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert statements == ["INSERT INTO item (name) VALUES ('one')", "SELECT count(*) FROM item"]


async def test_a_writer_waits_for_a_reader_of_the_same_process_that_holds_the_write_lock(database: Any) -> None:
    """A connection opened without READ_ONLY (a readiness probe's) begins IMMEDIATE without the write turn;
    a write transaction of the same process waits for it off the loop, so the reader can finish."""
    _, engine = database

    async def write() -> None:
        async with write_transaction(engine) as conn:
            await conn.execute(text("INSERT INTO item (name) VALUES ('after the reader')"))

    async with engine.connect() as reader:
        await reader.execute(text("SELECT count(*) FROM item"))
        writer = asyncio.create_task(write())
        _, ticks = await _ticks_while(asyncio.sleep(0.3))
        assert not writer.done() and ticks >= 10
    async with asyncio.timeout(5):
        await writer


async def test_a_cancelled_begin_does_not_leave_its_connection_holding_the_write_lock(database: Any) -> None:
    path, engine = database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO item (name) VALUES ('never')"))

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.2)  # its BEGIN IMMEDIATE waits on the connection's thread
    writer.cancel()
    await asyncio.sleep(0.1)
    other.execute("COMMIT")  # now the thread's BEGIN gets the lock
    with pytest.raises(asyncio.CancelledError):
        await writer
    probe = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")  # "database is locked" if the cancelled BEGIN kept its transaction
        probe.execute("ROLLBACK")
    finally:
        probe.close()
        other.close()


async def test_engines_on_one_file_write_one_at_a_time_without_stopping_the_loop(database: Any) -> None:
    path, engine = database
    second = create_engine(f"sqlite+aiosqlite:///{path}", schema="t")  # another process would do the same
    holding, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    def turn_taken() -> bool:  # as another process sees the file's write turn
        fd = os.open(f"{path}.write-lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    async def first_writer() -> None:
        async with write_transaction(engine) as conn:
            holding.set()
            assert turn_taken()
            await conn.execute(text("INSERT INTO item (name) VALUES ('first')"))
            await release.wait()
            order.append("first commits")

    async def second_writer() -> None:
        await holding.wait()
        async with write_transaction(second) as conn:  # waits for the file's turn on a thread
            order.append("second begins")
            await conn.execute(text("INSERT INTO item (name) VALUES ('second')"))

    async def let_go() -> None:
        await asyncio.sleep(0.3)
        release.set()

    try:
        tasks = [asyncio.create_task(c) for c in (first_writer(), let_go())]
        _, ticks = await _ticks_while(second_writer())
        await asyncio.gather(*tasks)
    finally:
        await second.dispose()
    assert order == ["first commits", "second begins"]
    assert ticks >= 10
    assert not turn_taken()  # given back after each transaction


async def test_a_wait_for_the_turn_that_is_cancelled_leaves_the_turn_free(database: Any) -> None:
    path, engine = database
    second = create_engine(f"sqlite+aiosqlite:///{path}", schema="t")
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with write_transaction(engine):
            holding.set()
            await release.wait()

    async def wait_for_turn() -> None:
        async with write_transaction(second):
            pass

    holder = asyncio.create_task(hold())
    await holding.wait()
    waiter = asyncio.create_task(wait_for_turn())
    await asyncio.sleep(0.1)  # waiting on its thread for the file lock
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await holder
    await asyncio.sleep(0.1)  # the thread gets the lock and gives it back
    try:
        async with asyncio.timeout(5):  # the first engine (another file description) gets the turn again
            async with write_transaction(engine) as conn:
                await conn.execute(text("INSERT INTO item (name) VALUES ('after')"))
    finally:
        await second.dispose()


async def test_a_write_transaction_inside_another_of_the_same_task_is_refused(database: Any) -> None:
    _, engine = database
    async with asyncio.timeout(5), write_transaction(engine):  # (without the check: waits for itself forever)
        with pytest.raises(RuntimeError, match="inside another one"):
            async with write_transaction(engine):
                pass
