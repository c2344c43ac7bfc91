"""rcm_shared.db helpers: bulk_insert (one INSERT of arrays on PostgreSQL, binary COPY there from COPY_MIN_ROWS
rows on, executemany elsewhere), bulk_update, and write transactions; control numbers drawn under concurrency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rcm_shared import db as rcm_db
from rcm_shared.db import COPY_MIN_ROWS, bulk_insert, bulk_update, create_engine
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError


def _rows(start: int, n: int) -> list[dict[str, Any]]:
    at = datetime(2026, 11, 28, 12, 30, 15, 123456, tzinfo=UTC)
    return [
        {
            "event_id": f"e-{i}",
            "topic": "remittance.claim.adjudicated",
            "key": f"C{i}",
            "event_type": "remittance.claim_adjudicated",
            "tenant_id": "org-1",
            "headers": [["ce_id", f"e-{i}"], ["ce_source", "/remittance"]],
            "payload": '{"paid_cents":' + str(i) + "}",
            "created_at": at,
        }
        for i in range(start, start + n)
    ]


@pytest.mark.parametrize("n", [1, 3, COPY_MIN_ROWS + 50])
async def test_rows_are_stored_in_the_callers_transaction(db_factory: Any, n: int, monkeypatch: Any) -> None:
    from remittance.models import bus

    db = await db_factory("remittance")
    copies: list[int] = []
    if db.backend == "postgres":
        import asyncpg

        original = asyncpg.Connection.copy_records_to_table

        async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            copies.append(len(kwargs["records"]))
            return await original(self, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "copy_records_to_table", counting)
    engine = create_engine(db.url, schema=db.schema)
    outbox = bus.outbox
    try:
        with pytest.raises(RuntimeError):  # rolled back with the transaction, also as its first statement
            async with engine.begin() as conn:
                await bulk_insert(conn, outbox, _rows(0, n))
                raise RuntimeError("the caller fails after the insert")
        async with engine.connect() as conn:
            assert (await conn.execute(select(outbox.c.id))).all() == []
        async with engine.begin() as conn:
            await bulk_insert(conn, outbox, _rows(0, n))
        async with engine.connect() as conn:
            stored = (await conn.execute(select(outbox).order_by(outbox.c.id))).all()
        assert [r.event_id for r in stored] == [f"e-{i}" for i in range(n)]
        first = stored[0]
        assert first.headers == [["ce_id", "e-0"], ["ce_source", "/remittance"]] and first.payload == '{"paid_cents":0}'
        assert first.created_at.replace(tzinfo=first.created_at.tzinfo or UTC) == _rows(0, 1)[0]["created_at"]
        with pytest.raises(IntegrityError):  # the same event ids again, as an INSERT would report it
            async with engine.begin() as conn:
                await bulk_insert(conn, outbox, _rows(n - 1, n))
        async with engine.connect() as conn:
            assert len((await conn.execute(select(outbox.c.id))).all()) == n
    finally:
        await engine.dispose()
    if db.backend == "postgres":
        assert copies == ([n, n, n] if n >= rcm_db.COPY_MIN_ROWS else [])


@pytest.mark.parametrize("n", [1, 3, COPY_MIN_ROWS + 50])
async def test_bulk_insert_can_leave_out_the_rows_whose_key_is_taken(db_factory: Any, n: int) -> None:
    """With skip_conflicts, rows whose unique key is stored already, or taken by an earlier row of the same
    call, are left out (the stored row unchanged) and the others inserted - also in the sizes that are
    COPY without it; rolled back with the caller's transaction."""
    from remittance.models import bus

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    outbox = bus.outbox
    try:
        async with engine.begin() as conn:
            await bulk_insert(conn, outbox, _rows(0, n))
        again = _rows(n - 1, n)  # e-(n-1) is stored; the rest are new
        for row in again:
            row["payload"] = '{"second":true}'
        again.append({**again[-1], "payload": '{"third":true}'})  # a key taken earlier in this very call
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await bulk_insert(conn, outbox, again, skip_conflicts=True)
                raise RuntimeError("the caller fails after the insert")
        async with engine.begin() as conn:
            assert await bulk_insert(conn, outbox, again, skip_conflicts=True) == n - 1  # e-n .. e-(2n-2)
            assert await bulk_insert(conn, outbox, again[:1], skip_conflicts=True) == 0  # one row, taken
            assert await bulk_insert(conn, outbox, _rows(2 * n, 1), skip_conflicts=True) == 1
        async with engine.connect() as conn:
            stored = {r.event_id: r.payload for r in await conn.execute(select(outbox))}
        assert sorted(stored) == sorted([*(f"e-{i}" for i in range(2 * n - 1)), f"e-{2 * n}"])
        assert stored[f"e-{n - 1}"] == _rows(n - 1, 1)[0]["payload"]  # the first row stored, unchanged
        assert all(stored[f"e-{i}"] == '{"second":true}' for i in range(n, 2 * n - 1))
    finally:
        await engine.dispose()


async def test_bulk_update_writes_each_row_once_in_one_statement_on_postgresql(db_factory: Any) -> None:
    """The named columns of the rows the key names, nothing else; a row named twice gets its last values (as
    an executemany leaves it); JSON, timestamps and NULL go through the column types; rolled back with the
    caller's transaction. On PostgreSQL the lot is one statement."""
    from remittance.models import bus

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    outbox = bus.outbox
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    later = datetime(2026, 11, 29, 9, 0, 0, 250000, tzinfo=UTC)
    changes = [
        {"tenant_id": "org-1", "event_id": "e-1", "headers": [["x", "1"]], "published_at": later, "publish_count": 1},
        {"tenant_id": "org-1", "event_id": "e-3", "headers": [], "published_at": None, "publish_count": 7},
        {"tenant_id": "org-1", "event_id": "e-1", "headers": [["x", "2"]], "published_at": later, "publish_count": 2},
        {"tenant_id": "org-2", "event_id": "e-2", "headers": [["x", "9"]], "published_at": later, "publish_count": 9},
    ]
    try:
        async with engine.begin() as conn:
            await bulk_insert(conn, outbox, _rows(0, 5))
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await bulk_update(conn, outbox, ("tenant_id", "event_id"), changes)
                raise RuntimeError("the caller fails after the update")
        async with engine.connect() as conn:
            assert {r.publish_count for r in await conn.execute(select(outbox))} == {0}
        statements.clear()
        async with engine.begin() as conn:
            await bulk_update(conn, outbox, ("tenant_id", "event_id"), changes)
        if db.backend == "postgres":
            assert [s.split()[0] for s in statements if s.split()[0] in ("UPDATE", "INSERT")] == ["UPDATE"]
        async with engine.connect() as conn:
            stored = {r.event_id: r for r in await conn.execute(select(outbox))}
        assert stored["e-1"].headers == [["x", "2"]] and stored["e-1"].publish_count == 2
        assert stored["e-1"].published_at.replace(tzinfo=stored["e-1"].published_at.tzinfo or UTC) == later
        assert stored["e-3"].headers == [] and stored["e-3"].publish_count == 7 and stored["e-3"].published_at is None
        # e-2 is org-1's: the key includes the tenant, so org-2's change matches nothing
        for untouched in ("e-0", "e-2", "e-4"):
            assert stored[untouched].publish_count == 0 and stored[untouched].published_at is None
            assert stored[untouched].payload == _rows(int(untouched[2:]), 1)[0]["payload"]
        with pytest.raises(ValueError, match="needs the key"):
            async with engine.begin() as conn:
                await bulk_update(conn, outbox, ("id",), changes)
    finally:
        await engine.dispose()


async def test_concurrent_write_transactions_draw_distinct_control_numbers(db_factory: Any) -> None:
    """Many writers of one process at once (on SQLite they queue on the process's write lock instead of
    SQLite's sleeping busy handler): every transaction commits and every number is drawn once."""
    import asyncio

    from eligibility.models import control_number
    from rcm_shared.db import write_transaction
    from rcm_shared.x12.control import next_control, next_controls

    db = await db_factory("eligibility")
    engine = create_engine(db.url, schema=db.schema)

    async def draw() -> dict[str, int]:
        async with write_transaction(engine) as conn:
            return await next_controls(conn, control_number, ("ISA", "GS", "ST"))

    try:
        drawn = await asyncio.gather(*(draw() for _ in range(40)))
        for kind in ("ISA", "GS", "ST"):
            assert sorted(d[kind] for d in drawn) == list(range(1, 41))
        async with write_transaction(engine) as conn:
            assert await next_control(conn, control_number, "GS") == 41
    finally:
        await engine.dispose()


async def test_control_blocks_of_two_replicas_never_hand_out_the_same_number(db_factory: Any) -> None:
    """Each process reserves a block in the shared sequence; two 'replicas' drawing at once get disjoint
    numbers, a block that would cross 999,999,999 starts again at 1, and a lone draw still follows."""
    import asyncio

    from eligibility.models import control_number
    from rcm_shared.db import write_transaction
    from rcm_shared.x12.control import MAX_CONTROL, ControlBlocks, next_control
    from sqlalchemy import update

    db = await db_factory("eligibility")
    engine = create_engine(db.url, schema=db.schema)
    try:
        a, b = (ControlBlocks(engine, control_number, ("ISA", "ST"), size=7) for _ in range(2))
        drawn = await asyncio.gather(*(replica.take() for replica in (a, b) for _ in range(20)))
        isa = [d["ISA"] for d in drawn]
        assert len(set(isa)) == 40 and len({d["ST"] for d in drawn}) == 40
        assert max(isa) <= 6 * 7  # 40 numbers in 6 blocks of 7 (3 per replica)
        async with write_transaction(engine) as conn:
            assert await next_control(conn, control_number, "ISA") == 6 * 7 + 1
            await conn.execute(update(control_number).values(value=MAX_CONTROL - 3))
        wrapping = ControlBlocks(engine, control_number, ("ISA",), size=5)
        assert [(await wrapping.take())["ISA"] for _ in range(6)] == [1, 2, 3, 4, 5, 6]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])  # SQLite has no lengths
async def test_bulk_writes_refuse_a_value_too_long_for_its_column(db_factory: Any) -> None:
    """A value longer than its VARCHAR(n) column is refused, as an INSERT or UPDATE of it would be - not cut
    to length (an explicit cast of the arrays to VARCHAR(64)[] would cut it silently). PostgreSQL only:
    SQLite does not enforce lengths."""
    from remittance.models import bus
    from sqlalchemy.exc import DBAPIError

    db = await db_factory("remittance")
    assert db.backend == "postgres"
    engine = create_engine(db.url, schema=db.schema)
    outbox = bus.outbox
    too_long = "e-" + "x" * 64  # event_id is VARCHAR(64)
    try:
        rows = _rows(0, 3)
        rows[1]["event_id"] = too_long
        with pytest.raises(DBAPIError, match="too long"):
            async with engine.begin() as conn:
                await bulk_insert(conn, outbox, rows)
        async with engine.begin() as conn:
            await bulk_insert(conn, outbox, _rows(0, 3))
        change = [{"event_id": f"e-{i}", "key": "k" * 300} for i in range(3)]  # key is VARCHAR(255)
        with pytest.raises(DBAPIError, match="too long"):
            async with engine.begin() as conn:
                await bulk_update(conn, outbox, ("event_id",), change)
        async with engine.connect() as conn:
            assert sorted(r.event_id for r in await conn.execute(select(outbox))) == ["e-0", "e-1", "e-2"]
            assert {r.key for r in await conn.execute(select(outbox))} == {"C0", "C1", "C2"}
    finally:
        await engine.dispose()


async def test_a_submission_in_progress_does_not_hold_back_the_next_ones_interchange_numbers(db_factory: Any) -> None:
    """Claims' ISA/GS/ST numbers: on PostgreSQL a submission whose transaction is still open does not make
    another one (another process) wait for numbers, and the two get different ones; on SQLite they are
    drawn in the submission's transaction (one writer at a time), so a rolled-back one gives its back."""
    import asyncio

    from claims.repository.submissions import interchange_numbers
    from rcm_shared.db import write_transaction

    db = await db_factory("claims")
    first, second = (create_engine(db.url, schema=db.schema) for _ in range(2))  # two API processes
    try:
        if db.backend == "postgres":
            async with write_transaction(first) as conn:
                mine = await interchange_numbers(conn)
                async with write_transaction(second) as other:
                    theirs = await asyncio.wait_for(interchange_numbers(other), timeout=5)
            assert len({mine[0], theirs[0]}) == 2 and len({mine[1], theirs[1]}) == 2
            async with write_transaction(first) as conn:
                assert (await interchange_numbers(conn))[0] == mine[0] + 1  # the process's block goes on
        else:
            with pytest.raises(RuntimeError):
                async with write_transaction(first) as conn:
                    assert await interchange_numbers(conn) == (1, 1, 1)
                    raise RuntimeError("the submission fails")
            async with write_transaction(second) as conn:
                assert await interchange_numbers(conn) == (1, 1, 1)
            async with write_transaction(first) as conn:
                assert await interchange_numbers(conn) == (2, 2, 2)
    finally:
        await first.dispose()
        await second.dispose()


async def test_group_commit_shares_transactions_and_a_bad_item_fails_alone(db_factory: Any) -> None:
    import asyncio

    from eligibility.models import bus
    from rcm_shared.db import GroupCommit

    db = await db_factory("eligibility")
    engine = create_engine(db.url, schema=db.schema)
    batches: list[int] = []

    async def write(conn: Any, rows: list[dict[str, Any]]) -> list[str]:
        batches.append(len(rows))
        await bulk_insert(conn, bus.outbox, rows)
        return [r["event_id"] for r in rows]

    group = GroupCommit(engine)
    try:
        good = await asyncio.gather(*(group.submit(write, r) for r in _rows(0, 60)))
        assert good == [f"e-{i}" for i in range(60)]
        assert sum(batches) == 60 and len(batches) < 60  # group commit: fewer transactions than items
        rows = _rows(200, 30)
        rows[21]["event_id"] = rows[20]["event_id"]  # a duplicate event id: the outbox's unique constraint
        results = await asyncio.gather(*(group.submit(write, r) for r in rows), return_exceptions=True)
        failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
        assert failed == [21] and isinstance(results[21], IntegrityError)  # arrival order: the second one fails
        assert all(results[i] == rows[i]["event_id"] for i in range(30) if i != 21)
        async with engine.connect() as conn:
            stored = [r.event_id for r in await conn.execute(select(bus.outbox.c.event_id))]
        assert sorted(stored) == sorted([f"e-{i}" for i in range(60)] + [f"e-{i}" for i in range(200, 230) if i != 221])

        async def down(conn: Any, rows: list[dict[str, Any]]) -> list[str]:
            raise ConnectionError("database unreachable")

        # two writers share a transaction; when one fails, nothing of the batch is stored
        outcome = await asyncio.gather(
            *(group.submit(write if i % 2 else down, r) for i, r in enumerate(_rows(100, 6))), return_exceptions=True
        )
        assert all(isinstance(o, ConnectionError) for o in outcome)
        async with engine.connect() as conn:
            assert len(list(await conn.execute(select(bus.outbox.c.event_id)))) == 60 + 29
    finally:
        await group.close()
        await engine.dispose()


async def test_timestamps_come_back_aware_and_in_utc_on_every_backend(db_factory: Any) -> None:
    from datetime import timedelta, timezone

    from remittance.models import bus

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    outbox = bus.outbox
    east = datetime(2026, 11, 28, 14, 30, tzinfo=timezone(timedelta(hours=2)))  # 12:30 UTC
    naive = datetime(2026, 11, 28, 12, 31)  # taken as UTC
    rows = _rows(0, 3)
    rows[0]["created_at"], rows[1]["created_at"] = east, naive
    async with engine.begin() as conn:
        await bulk_insert(conn, outbox, rows[:2])
        await conn.execute(outbox.insert().values(rows[2]))  # through SQLAlchemy's own parameter handling
        got = (await conn.execute(select(outbox.c.created_at).order_by(outbox.c.event_id))).scalars().all()
        later = (await conn.execute(select(outbox.c.event_id).where(outbox.c.created_at > east))).scalars().all()
    assert got == [east, naive.replace(tzinfo=UTC), rows[2]["created_at"]]
    assert all(at.utcoffset() == timedelta(0) for at in got)
    assert later == ["e-1", "e-2"]  # compared as instants, whatever offset the value came with
    await engine.dispose()


async def test_filter_only_filters_like_the_column_and_is_no_index_path_on_sqlite(db_factory: Any) -> None:
    from rcm_shared.db import filter_only
    from remittance.models import bus
    from sqlalchemy import and_

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    outbox = bus.outbox
    rows = _rows(0, 6)
    for row in rows[3:]:
        row["tenant_id"] = "org-2"
    async with engine.begin() as conn:
        await bulk_insert(conn, outbox, rows)
        stmt = select(outbox.c.event_id).where(
            and_(filter_only(outbox.c.tenant_id) == "org-1", outbox.c.event_id.in_(["e-1", "e-2", "e-4"]))
        )
        found = sorted((await conn.execute(stmt)).scalars())
        sql = str(stmt.compile(conn.sync_connection))
    assert found == ["e-1", "e-2"]  # the other tenant's e-4 is filtered out on every backend
    assert ("+outbox_event.tenant_id = ?" in sql) == (engine.dialect.name == "sqlite"), sql
    await engine.dispose()


async def test_a_read_connection_reads_and_on_postgresql_refuses_to_write(db_factory: Any) -> None:
    from rcm_shared.db import read_connection
    from remittance.models import bus
    from sqlalchemy.exc import DBAPIError

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    async with engine.begin() as conn:
        await bulk_insert(conn, bus.outbox, _rows(0, 2))
    async with read_connection(engine) as conn:
        assert (await conn.execute(select(func.count()).select_from(bus.outbox))).scalar() == 2
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="read-only transaction"):
            async with read_connection(engine) as conn:
                await conn.execute(bus.outbox.delete())
                await conn.commit()
    async with engine.connect() as conn:  # the pool's connection is writable again afterwards
        await conn.execute(bus.outbox.delete())
        await conn.commit()
        assert (await conn.execute(select(func.count()).select_from(bus.outbox))).scalar() == 0
    await engine.dispose()


async def test_a_read_connection_neither_takes_nor_waits_for_the_write_lock_on_sqlite(tmp_path: Any) -> None:
    # Another process (here a plain sqlite3 connection) holds the file's write lock: a read_connection
    # reads the last commit at once. A plain connection begins IMMEDIATE and would wait busy_timeout (30 s)
    # - and, holding the lock while it reads, would hold every writer up for as long as a report runs.
    # SQLite only: PostgreSQL readers never take a write lock.
    import asyncio
    import sqlite3

    from rcm_shared.db import read_connection
    from remittance.models import bus
    from sqlalchemy import func

    path = tmp_path / "remittance.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", schema="remittance")
    async with engine.begin() as conn:
        await conn.run_sync(bus.outbox.create)
        await bulk_insert(conn, bus.outbox, _rows(0, 2))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        async with read_connection(engine) as conn:
            count = await asyncio.wait_for(conn.execute(select(func.count()).select_from(bus.outbox)), 5)
            assert count.scalar_one() == 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        await engine.dispose()


async def test_database_unreachable_tells_an_outage_from_a_failing_statement(
    db_factory: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    # the drivers' own exceptions, as the services meet them: an outage (refused, lost, locked past the busy
    # timeout) against a statement that fails whatever the database's state (a taken key, a missing table)
    import sqlite3

    from rcm_cli.broker import free_port
    from rcm_shared.db import database_unreachable
    from rcm_shared.sqlite import InlineConnection
    from remittance.models import bus
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    failing: list[BaseException] = []
    async with engine.begin() as conn:
        await bulk_insert(conn, bus.outbox, _rows(0, 1))
    for statement in (bus.outbox.insert().values(_rows(0, 1)), text("SELECT * FROM no_such_table")):
        with pytest.raises(Exception) as failed:  # either kind: asserted below
            async with engine.begin() as conn:
                await conn.execute(statement)
        failing.append(failed.value)
    assert isinstance(failing[0], IntegrityError)
    outages: list[BaseException] = []
    if db.backend == "postgres":
        refused = create_engine(make_url(db.url).set(port=free_port()).render_as_string(False), schema=db.schema)
        with pytest.raises(Exception) as failed:
            async with refused.connect():
                pass
        outages.append(failed.value)
        await refused.dispose()
        async with engine.connect() as conn:  # the server ends the connection (a restart, an administrator)
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
            async with engine.connect() as other:
                await other.execute(text(f"SELECT pg_terminate_backend({pid})"))
            with pytest.raises(Exception) as failed:
                await conn.execute(text("SELECT 1"))
            outages.append(failed.value)
    else:
        monkeypatch.setattr(InlineConnection, "_busy_ms", 50)  # the busy timeout (30 s) of new connections
        short = create_engine(db.url, schema=db.schema)
        holder = sqlite3.connect(make_url(db.url).database, isolation_level=None)  # another process writes
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(Exception) as failed:
                async with short.begin() as conn:
                    await bulk_insert(conn, bus.outbox, _rows(5, 1))
            outages.append(failed.value)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            await short.dispose()
    await engine.dispose()
    assert outages and [database_unreachable(e) for e in outages] == [True] * len(outages), outages
    assert [database_unreachable(e) for e in failing] == [False, False], failing


async def test_a_database_error_leaves_the_statements_values_out_of_its_message(db_factory: Any) -> None:
    # what a worker or an API logs of a failed statement (its message, its traceback): the SQL, not the values
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    with pytest.raises(DBAPIError) as failed:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table WHERE last_name = :name"), {"name": "Quixote"})
    await engine.dispose()
    assert "no_such_table" in str(failed.value) and "Quixote" not in str(failed.value)
