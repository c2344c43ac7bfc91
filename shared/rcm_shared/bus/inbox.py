"""The consumer's inbox: one row per event handled, so a redelivered event is dropped; and its pruning."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from rcm_shared.bus.tables import BusTables
from rcm_shared.db import bulk_insert, write_transaction
from rcm_shared.events import Envelope
from rcm_shared.metrics import INBOX_PRUNED

log = logging.getLogger("rcm_shared.bus.consumer")  # the consumer's log lines, whichever module writes them


class SeenBefore(Exception):
    """Some events of a batch are in the inbox already: the batch's transaction is rolled back."""


def inbox_row(consumer: str, record: ConsumerRecord[bytes, bytes], envelope: Envelope, at: datetime) -> dict[str, Any]:
    """The inbox row that marks ``envelope`` handled by ``consumer``."""
    return {
        "consumer": consumer,
        "event_id": envelope.id,
        "event_type": envelope.type,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "processed_at": at,
    }


async def record_in_inbox(
    session: AsyncSession, inbox: Table, consumer: str, record: ConsumerRecord[bytes, bytes], envelope: Envelope
) -> bool:
    """True if the event is new to ``consumer``: its inbox row is inserted; False if it is there already."""
    row = inbox_row(consumer, record, envelope, datetime.now(UTC))
    return await bulk_insert(session, inbox, [row], skip_conflicts=True) == 1


async def record_many_in_inbox(
    session: AsyncSession,
    inbox: Table,
    consumer: str,
    events: Sequence[tuple[ConsumerRecord[bytes, bytes], Envelope]],
    *,
    all_new: bool,
) -> set[str]:
    """The batch's events seen for the first time, their inbox rows inserted in one statement.

    ``all_new``: the usual case, every event new: the rows are inserted with conflicts skipped, and if the
    database left any out (an event handled before) ``SeenBefore`` rolls the batch back, to be handled
    again without ``all_new``: the inbox is then asked first which events it has. A row that appears
    between that SELECT and the INSERT (a concurrent member during a rebalance) makes the insert fail on
    the inbox key; the batch then rolls back and is handled one event at a time.
    """
    ids = {envelope.id for _, envelope in events}
    if all_new:
        new = ids
    else:
        seen = await session.execute(
            select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id.in_(ids))
        )
        new = ids - set(seen.scalars())
    now = datetime.now(UTC)
    rows = {}
    for record, envelope in events:
        if envelope.id in new and envelope.id not in rows:
            rows[envelope.id] = inbox_row(consumer, record, envelope, now)
    if all_new:
        if await bulk_insert(session, inbox, list(rows.values()), skip_conflicts=True) < len(rows):
            raise SeenBefore
    else:
        await bulk_insert(session, inbox, list(rows.values()))
    return new


CLOCK_GRACE = timedelta(hours=1)  # how far apart the clocks of a producing and a consuming host may be


async def prune_inbox(
    engine: AsyncEngine, tables: BusTables, *, retention: timedelta, service: str = "", chunk: int = 1000
) -> int:
    """Remove the inbox rows processed more than ``retention`` + ``CLOCK_GRACE`` ago; returns how many.

    Oldest first by id (rows are inserted as events are handled), a chunk per short write transaction, read
    by the primary key: no index on the time, and a SQLite writer waits for one chunk at most. The consumer
    refuses events created before ``retention`` (see the module's text), so no row removed here is needed."""
    inbox = tables.inbox
    before = datetime.now(UTC) - retention - CLOCK_GRACE
    removed = 0
    while True:
        async with write_transaction(engine) as conn:
            rows = (
                await conn.execute(select(inbox.c.id, inbox.c.processed_at).order_by(inbox.c.id).limit(chunk))
            ).all()
            old = [row.id for row in rows if row.processed_at < before]
            if old:
                await conn.execute(delete(inbox).where(inbox.c.id.in_(old)))
        removed += len(old)
        if len(old) < chunk:
            break
    if removed:
        INBOX_PRUNED.labels(service).inc(removed)
        log.info("inbox rows removed", extra={"removed": removed, "before": before.isoformat()})
    return removed
