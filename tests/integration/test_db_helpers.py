"""rcm_shared.db helpers: bulk_insert (executemany, and binary COPY on PostgreSQL from COPY_MIN_ROWS rows on)
and write transactions; control numbers drawn under concurrency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rcm_shared import db as rcm_db
from rcm_shared.db import COPY_MIN_ROWS, bulk_insert, create_engine
from sqlalchemy import select
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


@pytest.mark.parametrize("n", [3, COPY_MIN_ROWS + 50])
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
