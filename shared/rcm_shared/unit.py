"""One unit of work for every service: a connection in a transaction, the tenant, who acts, and the events.

A use case takes a ``Unit`` and nothing else from the plumbing: it reads and writes through its service's
repository (built on ``unit.conn`` and ``unit.tenant``) and appends events with ``unit.emit``. The events
land in the outbox in the same transaction as the state they announce, so a commit publishes both and a
rollback neither. Routes open units with ``Units.write``/``Units.read``; the worker's consumer with
``Units.for_event``, which makes the event the cause of everything the use case emits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from rcm_shared.bus.outbox import Outbox, staged
from rcm_shared.bus.tables import BusTables
from rcm_shared.config import BaseServiceSettings
from rcm_shared.db import read_connection, write_transaction
from rcm_shared.events import Envelope, EventPayload
from rcm_shared.tracing import current_traceparent, handling


@dataclass(frozen=True)
class Actor:
    """Who acts, for the audit trail and the events: a user or client id, or ``event:<type>:<id>``.

    ``correlation_id``/``causation_id`` chain the events a use case emits to the request or event that
    started it; ``traceparent`` names the span acting when it is not the current one (a batch handler's);
    ``cause_traceparent`` is the trace of the event acted upon, continued when no span is current (tracing off
    in this process must not cut the trace the producer started)."""

    name: str
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    cause_traceparent: str | None = None

    @classmethod
    def of_event(cls, envelope: Envelope) -> Actor:
        """The actor of a use case run for an event: the event itself, continuing its correlation."""
        return cls(
            f"event:{envelope.type}:{envelope.id}",
            envelope.correlationid or envelope.id,
            envelope.id,
            handling(envelope),
            envelope.traceparent,
        )


@dataclass
class Unit:
    """One transaction of one tenant, on behalf of one actor, with the outbox of its events."""

    conn: AsyncConnection
    tenant: str
    actor: Actor
    source: str
    outbox: Outbox

    def event(self, payload: EventPayload, key: str) -> tuple[Envelope, str, str]:
        """The event as the outbox will hold it (envelope, topic, key), for callers that write many in bulk
        (``emit_many``). The topic is the catalog's for the payload's type; the key is the aggregate id."""
        return staged(
            payload,
            source=self.source,
            tenant_id=self.tenant,
            key=key,
            correlation_id=self.actor.correlation_id,
            causation_id=self.actor.causation_id,
            traceparent=self.actor.traceparent or current_traceparent() or self.actor.cause_traceparent,
        )

    async def emit(self, payload: EventPayload, key: str) -> Envelope:
        """Append one event to the outbox in this transaction; it is published after the commit."""
        envelope, topic, key = self.event(payload, key)
        await self.outbox.add(self.conn, envelope, topic=topic, key=key)
        return envelope

    async def emit_many(self, events: Sequence[tuple[Envelope, str, str]]) -> None:
        """Append many events (from ``event``) in one round trip, in the given order."""
        await self.outbox.add_many(self.conn, list(events))

    def acting_as(self, actor: Actor) -> Unit:
        """The same transaction and tenant on behalf of another actor (a batch of events, each its own cause)."""
        return Unit(self.conn, self.tenant, actor, self.source, self.outbox)

    def for_tenant(self, tenant: str, actor: Actor | None = None) -> Unit:
        """The same transaction for another tenant (a consumer batch mixes tenants; each use case sees one)."""
        return Unit(self.conn, tenant, actor or self.actor, self.source, self.outbox)


class Units:
    """Opens the units of one service: its engine, its name as the events' source, its topic prefix."""

    def __init__(
        self, tables: BusTables, *, source: str, topic_prefix: str = "", engine: AsyncEngine | None = None
    ) -> None:
        self._engine = engine
        self.source = source
        self.outbox = Outbox(tables, topic_prefix)

    @classmethod
    def of_service(cls, settings: BaseServiceSettings, tables: BusTables, engine: AsyncEngine | None = None) -> Units:
        """The units of the service these settings configure (source ``/<service>``, its topic prefix).
        Without an engine they serve the consumer (``for_event``) and callers holding a connection (``on``)."""
        return cls(tables, source=f"/{settings.service_name}", topic_prefix=settings.kafka.topic_prefix, engine=engine)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("these units have no engine: open them with one to start transactions")
        return self._engine

    @asynccontextmanager
    async def write(self, tenant: str, actor: Actor) -> AsyncIterator[Unit]:
        """A unit in a write transaction: committed when the block ends, rolled back if it raises."""
        async with write_transaction(self.engine) as conn:
            yield Unit(conn, tenant, actor, self.source, self.outbox)

    @asynccontextmanager
    async def read(self, tenant: str, actor: Actor | None = None) -> AsyncIterator[Unit]:
        """A unit for reading only (no write turn is taken; emitting from it is a programming error)."""
        async with read_connection(self.engine) as conn:
            yield Unit(conn, tenant, actor or Actor("api"), self.source, self.outbox)

    async def for_event(self, session: AsyncSession | AsyncConnection, envelope: Envelope) -> Unit:
        """The unit of the consumer's transaction for this event: its tenant, the event as the actor."""
        conn = await session.connection() if isinstance(session, AsyncSession) else session
        return Unit(conn, envelope.tenantid, Actor.of_event(envelope), self.source, self.outbox)

    def on(self, conn: AsyncConnection, tenant: str, actor: Actor) -> Unit:
        """A unit on a connection the caller already holds in a transaction (a background loop's batch)."""
        return Unit(conn, tenant, actor, self.source, self.outbox)
