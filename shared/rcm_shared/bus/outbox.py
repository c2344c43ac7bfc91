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
from rcm_shared.events import Envelope, EventPayload
from rcm_shared.topics import topic_for


def staged(
    payload: EventPayload,
    *,
    source: str,
    tenant_id: str,
    key: str,
    cause: Envelope | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    traceparent: str | None = None,
) -> tuple[Envelope, str, str]:
    """An event ready for the outbox: (envelope, topic, key). The key is the aggregate id and the envelope's
    subject; the topic is the catalog's for the payload's event type. An event caused by another (``cause``)
    carries its tenant, correlation and trace; otherwise the caller's ids are used."""
    if cause is not None:
        envelope = cause.caused(payload, source=source, subject=key)
    else:
        envelope = Envelope.wrap(
            payload,
            source=source,
            tenant_id=tenant_id,
            subject=key,
            correlation_id=correlation_id,
            causation_id=causation_id,
            traceparent=traceparent,
        )
    return envelope, topic_for(payload.event_type), key


class Outbox:
    """Stages events in the current session; nothing leaves the process until the commit."""

    def __init__(self, tables: BusTables, topic_prefix: str = "") -> None:
        self._table = tables.outbox
        self._prefix = topic_prefix

    async def add(
        self, session: AsyncSession | AsyncConnection, envelope: Envelope, *, topic: str, key: str | None
    ) -> None:
        await session.execute(insert(self._table).values(**self.row(envelope, topic, key)))

    async def emit(
        self,
        session: AsyncSession | AsyncConnection,
        payload: EventPayload,
        *,
        source: str,
        tenant_id: str,
        key: str,
        cause: Envelope | None = None,
    ) -> None:
        """One event, wrapped and routed by ``staged``."""
        envelope, topic, key = staged(payload, source=source, tenant_id=tenant_id, key=key, cause=cause)
        await self.add(session, envelope, topic=topic, key=key)

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
