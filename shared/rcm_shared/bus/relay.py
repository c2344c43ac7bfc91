"""Outbox relay: publishes committed outbox rows in id order, marks them sent, keeps them for replay.

Guarantees and their reasons:
- At-least-once: a row is marked only after the broker acknowledged it (acks=all). A crash between
  the two re-publishes the row; consumers drop the copy through their inbox (same event id).
- Order per key: one relay per service publishes at a time (a lease row in the service's database),
  in id order; the producer keeps per-partition order.
- A broker that lost its data (the embedded broker is memory-only) is detected: a topic this service
  has published to that is missing or empty gets all its rows re-published, in their original order.
  A broker that came back as a new cluster (another cluster id: the embedded broker restarted, or a
  cluster rebuilt from scratch) gets every row of every topic again - and the cluster id is checked
  before each batch, so nothing new reaches a new cluster ahead of the replay (per-key order holds).
  With an inbox retention set (``replay_horizon``), only the rows created within it are re-published: the
  consumers dead-letter older events (their inbox rows may be gone), so sending them would only fill the DLQs.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from rcm_shared.bus.admin import TopicRequest, ensure_topics, topic_message_totals
from rcm_shared.bus.tables import BusTables
from rcm_shared.config import KafkaSettings
from rcm_shared.db import database_unreachable, read_connection, write_transaction
from rcm_shared.metrics import RELAYED
from rcm_shared.runtime import wait_or_stop

log = logging.getLogger(__name__)

Hook = Callable[[Sequence[int]], Awaitable[None]]
LEASE_SECONDS = 10.0


class OutboxRelay:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        tables: BusTables,
        kafka: KafkaSettings,
        topics: Sequence[TopicRequest],
        name: str,
        batch_size: int = 500,
        poll_interval: float = 0.1,
        broker_check_interval: float = 15.0,
        after_publish: Hook | None = None,
        lease_seconds: float = LEASE_SECONDS,
        replay_horizon: timedelta | None = None,
    ) -> None:
        self._engine = engine
        self._t = tables
        self._kafka = kafka
        self._topics = list(topics)
        self.name = name
        self._lease_name = f"relay:{name}"
        self._holder = f"{name}:{uuid.uuid4().hex[:8]}"
        self._batch_size = batch_size
        self._poll = poll_interval
        self._check_interval = broker_check_interval
        self._after_publish = after_publish  # fault-injection point for tests
        self._lease_seconds = lease_seconds
        self._replay_horizon = replay_horizon
        self._held_until: datetime | None = None  # the end of the lease this relay holds, as last written
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._cluster: str | None = None  # the cluster id the rows marked published went to
        self._next_check = 0.0
        self.published = 0
        self.replayed = 0
        self.broker_ok = False

    async def start(self) -> None:
        # enable_idempotence stays off: the embedded broker has no idempotent producer; the inbox
        # makes duplicates harmless.
        self._producer = AIOKafkaProducer(**self._kafka.client_kwargs(), acks="all", linger_ms=5)
        await self._producer.start()
        self._admin = AIOKafkaAdminClient(**self._kafka.client_kwargs())
        await self._admin.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def _cluster_id(self) -> str | None:
        assert self._admin is not None, "relay not started"
        cluster_id = (await self._admin.describe_cluster()).get("cluster_id")
        return str(cluster_id) if cluster_id is not None else None

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            while not stop.is_set():
                try:
                    sent = await self.run_once()
                    self.broker_ok = True
                except Exception as exc:
                    if not isinstance(exc, KafkaError) and database_unreachable(exc):
                        log.warning("outbox relay: database unreachable, will retry", extra={"error": exc})
                    elif isinstance(exc, KafkaError | OSError):
                        log.warning("outbox relay: broker error, will check topics and retry", extra={"error": exc})
                        self.broker_ok = False
                    else:
                        raise
                    self._next_check = 0.0
                    sent = 0
                    await wait_or_stop(stop, 1.0)
                if sent < self._batch_size:
                    await wait_or_stop(stop, self._poll)
        finally:
            await self.stop()

    async def run_once(self) -> int:
        """One step: hold the lease, check the broker when due, publish one batch. Returns rows sent."""
        if not await self._acquire_lease():
            return 0
        if time.monotonic() >= self._next_check:
            await self.check_broker()
            self._next_check = time.monotonic() + self._check_interval
        return await self.publish_batch()

    async def check_broker(self) -> int:
        """Create missing topics; re-queue every row of a topic the broker has lost. Returns rows re-queued."""
        names = [t.name for t in self._topics]
        cluster = await self._cluster_id()
        totals = await topic_message_totals(self._kafka, names)
        await ensure_topics(self._kafka, self._topics)
        if self._cluster is not None and cluster != self._cluster:
            log.warning(
                "outbox relay: the broker is a new cluster",
                extra={"cluster": cluster, "previous_cluster": self._cluster},
            )
            lost = names
        else:
            lost = [name for name, total in totals.items() if not total]
        self._cluster = cluster
        if not lost:
            return 0
        o = self._t.outbox
        cond: list[Any] = [o.c.topic.in_(lost), o.c.published_at.is_not(None)]
        if self._replay_horizon is not None:
            cond.append(o.c.created_at >= datetime.now(UTC) - self._replay_horizon)
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(update(o).where(and_(*cond)).values(published_at=None))
        requeued = int(result.rowcount or 0)
        if requeued:
            log.warning("outbox relay: broker lost topics; re-publishing", extra={"topics": lost, "requeued": requeued})
            self.replayed += requeued
        return requeued

    async def publish_batch(self) -> int:
        assert self._producer is not None, "relay not started"
        o = self._t.outbox
        async with read_connection(self._engine) as conn:
            rows = (
                await conn.execute(
                    select(o.c.id, o.c.topic, o.c.key, o.c.headers, o.c.payload)
                    .where(o.c.published_at.is_(None))
                    .order_by(o.c.id)
                    .limit(self._batch_size)
                )
            ).all()
            await conn.rollback()
        if not rows:
            return 0
        if await self._cluster_id() != self._cluster:  # a new cluster: queue the replay before anything new
            await self.check_broker()
            return 0
        futures = []
        for row in rows:
            futures.append(
                await self._producer.send(
                    row.topic,
                    value=row.payload.encode(),
                    key=row.key.encode() if row.key is not None else None,
                    headers=[(k, v.encode()) for k, v in row.headers],
                )
            )
        await asyncio.gather(*futures)
        ids = [row.id for row in rows]
        if self._after_publish is not None:
            await self._after_publish(ids)
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(o)
                .where(o.c.id.in_(ids))
                .values(published_at=datetime.now(UTC), publish_count=o.c.publish_count + 1)
            )
        self.published += len(ids)
        RELAYED.labels(self.name).inc(len(ids))
        return len(ids)

    async def _acquire_lease(self) -> bool:
        lease = self._t.lease
        now = datetime.now(UTC)
        if self._held_until is not None and now < self._held_until - timedelta(seconds=self._lease_seconds / 2):
            # held, and for longer than half its term still: renewed at half-life, not on every poll (a write
            # transaction ten times a second per worker, each one the database's writer meanwhile)
            return True
        self._held_until = None
        until = now + timedelta(seconds=self._lease_seconds)
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(lease)
                .where(
                    and_(
                        lease.c.name == self._lease_name,
                        or_(lease.c.holder == self._holder, lease.c.expires_at < now),
                    )
                )
                .values(holder=self._holder, expires_at=until)
            )
            if result.rowcount:
                self._held_until = until
                return True
            exists = await conn.scalar(select(func.count()).where(lease.c.name == self._lease_name))
            if exists:
                return False
        try:
            async with write_transaction(self._engine) as conn:
                await conn.execute(insert(lease).values(name=self._lease_name, holder=self._holder, expires_at=until))
            self._held_until = until
            return True
        except IntegrityError:
            return False

    async def release_lease(self) -> None:
        lease = self._t.lease
        self._held_until = None
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(lease)
                .where(and_(lease.c.name == self._lease_name, lease.c.holder == self._holder))
                .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
            )


async def mark_for_replay(engine: AsyncEngine, tables: BusTables, *, since: datetime, topic: str | None = None) -> int:
    """Re-queue published rows created at or after ``since`` (the relay publishes them again)."""
    o = tables.outbox
    cond: list[Any] = [o.c.created_at >= since, o.c.published_at.is_not(None)]
    if topic:
        cond.append(o.c.topic == topic)
    async with write_transaction(engine) as conn:
        result = await conn.execute(update(o).where(and_(*cond)).values(published_at=None))
    return int(result.rowcount or 0)
