"""Transactional outbox: events are rows written in the caller's transaction.

The relay (``relay.py``) publishes them afterwards, in id order, and keeps them (``published_at`` set)
so that they can be replayed into a fresh broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from rcm_shared.bus.tables import BusTables
from rcm_shared.db import bulk_insert
from rcm_shared.events import Envelope


class Outbox:
    """Stages events in the current session; nothing leaves the process until the commit."""

    def __init__(self, tables: BusTables, topic_prefix: str = "") -> None:
        self._table = tables.outbox
        self._prefix = topic_prefix

    async def add(
        self, session: AsyncSession | AsyncConnection, envelope: Envelope, *, topic: str, key: str | None
    ) -> None:
        await session.execute(insert(self._table).values(**self.row(envelope, topic, key)))

    async def add_many(
        self, session: AsyncSession | AsyncConnection, events: Sequence[tuple[Envelope, str, str | None]]
    ) -> None:
        """Many events in one round trip (executemany), in the given order: (envelope, topic, key)."""
        if events:
            await bulk_insert(session, self._table, [self.row(env, topic, key) for env, topic, key in events])

    def row(self, envelope: Envelope, topic: str, key: str | None) -> dict[str, object]:
        """The outbox row of an event, for callers that insert it themselves (with other rows, in bulk)."""
        return {
            "event_id": envelope.id,
            "topic": self._prefix + topic,
            "key": key,
            "event_type": envelope.type,
            "tenant_id": envelope.tenantid,
            "headers": [[k, v.decode()] for k, v in envelope.to_headers()],
            "payload": envelope.to_value().decode(),
            "created_at": datetime.now(UTC),
        }
