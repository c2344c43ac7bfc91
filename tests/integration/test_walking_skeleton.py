"""Walking skeleton: an event written in one service's transaction reaches another service's handler
exactly once in effect, even when
(a) the relay dies after publishing but before marking the row sent, and
(b) the consumer dies after its DB commit but before committing the offset.
Real broker, real migrations, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from claims.models import bus as claims_bus
from denials.models import bus as denials_bus
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import HandlerRegistry, InboxConsumer
from rcm_shared.bus.outbox import Outbox
from rcm_shared.bus.relay import OutboxRelay
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine, session_factory
from rcm_shared.events import Envelope, EventPayload
from rcm_shared.testing import consume_until, poll_until, wait_for_assignment
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

TOPIC = "claims.claim.status-changed"
N = 12


class SimulatedCrash(BaseException):
    """A process death at a chosen point: nothing after it runs, no clean-up commits anything."""


class StatusChangedV1(EventPayload):
    event_type = "claim.status_changed"
    schema_version = 1
    claim_id: str
    new_state: str


effects = MetaData()
effect = Table(
    "skeleton_effect",
    effects,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(64)),
    Column("claim_id", String(64)),
)
claim_state = Table(
    "skeleton_claim", MetaData(), Column("claim_id", String(64), primary_key=True), Column("state", String(20))
)


async def _write_events(engine: object, kafka: KafkaSettings, *, commit: bool, start: int, count: int) -> None:
    outbox = Outbox(claims_bus, kafka.topic_prefix)
    sessions = session_factory(engine)  # type: ignore[arg-type]
    async with sessions() as session, session.begin():
        for i in range(start, start + count):
            claim_id = f"C{i:04d}"
            await session.execute(insert(claim_state).values(claim_id=claim_id, state="submitted"))
            env = Envelope.wrap(
                StatusChangedV1(claim_id=claim_id, new_state="submitted"),
                source="/claims",
                tenant_id="org-1",
                subject=claim_id,
            )
            await outbox.add(session, env, topic=TOPIC, key=claim_id)
        if not commit:
            await session.rollback()


def _registry(calls: list[str]) -> HandlerRegistry:
    registry = HandlerRegistry()

    @registry.on("claim.status_changed", 1)
    async def on_status(session: AsyncSession, env: Envelope) -> None:
        payload = env.payload_as(StatusChangedV1)
        calls.append(env.id)
        await session.execute(insert(effect).values(event_id=env.id, claim_id=payload.claim_id))

    return registry


async def _effects(engine: object) -> dict[str, int]:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = (await conn.execute(select(effect.c.event_id, func.count()).group_by(effect.c.event_id))).all()
    return {r[0]: r[1] for r in rows}


@pytest.mark.parametrize("crash", ["relay_after_publish", "consumer_after_db_commit"])
async def test_event_reaches_other_service_exactly_once(
    crash: str, backend: str, db_factory: object, kafka: KafkaSettings
) -> None:
    claims_db = await db_factory("claims")  # type: ignore[operator]
    denials_db = await db_factory("denials")  # type: ignore[operator]
    claims = create_engine(claims_db.url, schema=claims_db.schema)
    denials = create_engine(denials_db.url, schema=denials_db.schema)
    async with claims.begin() as conn:
        await conn.run_sync(claim_state.metadata.create_all)
    async with denials.begin() as conn:
        await conn.run_sync(effects.create_all)
    topic = kafka.topic_prefix + TOPIC
    await ensure_topics(kafka, [TopicRequest(topic, 3), TopicRequest(topic + ".dlq", 1)])

    await _write_events(claims, kafka, commit=True, start=0, count=N)
    await _write_events(claims, kafka, commit=False, start=100, count=5)  # rolled back: never published

    relay_died = False

    async def die_after_publish(_ids: Sequence[int]) -> None:
        nonlocal relay_died
        if crash == "relay_after_publish" and not relay_died:
            relay_died = True
            raise SimulatedCrash

    relay = OutboxRelay(
        engine=claims,
        tables=claims_bus,
        kafka=kafka,
        topics=[TopicRequest(topic, 3)],
        name="claims",
        after_publish=die_after_publish,
        lease_seconds=1.0,
    )
    await relay.start()
    if crash == "relay_after_publish":
        with pytest.raises(SimulatedCrash):
            await relay.run_once()
        await relay.stop()
        relay = OutboxRelay(
            engine=claims, tables=claims_bus, kafka=kafka, topics=[TopicRequest(topic, 3)], name="claims"
        )
        await relay.start()
    # The dead relay's lease holds for its TTL; then the new relay takes over and (re)publishes all N
    # rows - in case (a) the broker now holds each event twice.
    deadline = time.monotonic() + 10
    while (sent := await relay.run_once()) == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert sent == N
    await relay.stop()

    calls: list[str] = []
    consumer_died = False

    async def die_after_commit(_record: ConsumerRecord[bytes, bytes]) -> None:
        nonlocal consumer_died
        if crash == "consumer_after_db_commit" and not consumer_died and len(calls) >= N // 2:
            consumer_died = True
            raise SimulatedCrash

    def new_consumer() -> InboxConsumer:
        return InboxConsumer(
            name="denials-worker",
            engine=denials,
            tables=denials_bus,
            kafka=kafka,
            group_id=kafka.topic_prefix + "denials",
            topics=[topic],
            registry=_registry(calls),
            session_timeout_ms=1500,
            after_db_commit=die_after_commit,
        )

    async def all_seen() -> bool:
        return len(await _effects(denials)) == N

    consumer = new_consumer()
    await consumer.start()
    await wait_for_assignment(consumer)
    if crash == "consumer_after_db_commit":
        with pytest.raises(SimulatedCrash):
            await poll_until(consumer, all_seen)
        await consumer.stop()  # offsets are not committed on stop: auto-commit is off
        consumer = new_consumer()
        await consumer.start()
        await wait_for_assignment(consumer)
    try:
        await poll_until(consumer, all_seen)
        # Drain what is left (the duplicates) so that the assertions see every delivery.
        await poll_until(consumer, lambda: consumer.stats.duplicates >= 1, timeout=20)
    finally:
        await consumer.stop()

    counts = await _effects(denials)
    assert len(counts) == N and set(counts.values()) == {1}, counts
    assert consumer.stats.duplicates >= 1, "the crash must have produced a redelivery to deduplicate"
    assert len(calls) == N  # the handler ran once per event: duplicates stopped at the inbox
    await claims.dispose()
    await denials.dispose()


async def test_a_batch_shares_one_transaction_and_a_bad_event_does_not_take_its_neighbours(
    backend: str, db_factory: object, kafka: KafkaSettings
) -> None:
    """Consecutive events of a partition are handled in one transaction; when one of them fails the batch is
    rolled back and handled again event by event: the bad one is dead-lettered, the others take effect once,
    a copy of an event inside the batch and an event handled before are duplicates."""
    from rcm_cli import ops
    from rcm_shared.bus.consumer import PermanentError

    denials_db = await db_factory("denials")  # type: ignore[operator]
    denials = create_engine(denials_db.url, schema=denials_db.schema)
    async with denials.begin() as conn:
        await conn.run_sync(effects.create_all)
    topic = kafka.topic_prefix + "batch." + TOPIC
    await ensure_topics(kafka, [TopicRequest(topic, 1), TopicRequest(topic + ".dlq", 1)])
    envs = [
        Envelope.wrap(StatusChangedV1(claim_id=f"B{i}", new_state="paid"), source="/claims", tenant_id="org-1")
        for i in range(8)
    ]
    sessions: dict[str, int] = {}
    calls: list[str] = []
    registry = HandlerRegistry()

    @registry.on("claim.status_changed", 1)
    async def on_status(session: AsyncSession, env: Envelope) -> None:
        claim_id = env.payload_as(StatusChangedV1).claim_id
        calls.append(claim_id)
        sessions[claim_id] = id(session)
        await session.execute(insert(effect).values(event_id=env.id, claim_id=claim_id))
        if claim_id == "B5":
            raise PermanentError("B5 can never be applied")

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    # one clean batch (B0-B3), then a batch with a bad event (B5), a copy of B4 and B1 again (handled before)
    for env in (*envs[:4], envs[4], envs[5], envs[4], envs[6], envs[1], envs[7]):
        await producer.send_and_wait(topic, env.to_value(), headers=env.to_headers())
    await producer.stop()
    consumer = InboxConsumer(
        name="batch-test",
        engine=denials,
        tables=denials_bus,
        kafka=kafka,
        group_id=topic + ".g",
        topics=[topic],
        registry=registry,
        session_timeout_ms=1500,
        max_retries=0,
        batch_size=4,
    )
    await consume_until(consumer, lambda: consumer.stats.handled + consumer.stats.duplicates >= 9)

    counts = await _effects(denials)
    by_claim = {e.payload_as(StatusChangedV1).claim_id: counts.get(e.id, 0) for e in envs}
    assert by_claim == {"B0": 1, "B1": 1, "B2": 1, "B3": 1, "B4": 1, "B5": 0, "B6": 1, "B7": 1}
    assert len({sessions[c] for c in ("B0", "B1", "B2", "B3")}) == 1  # the clean batch: one session, one commit
    assert consumer.stats.handled == 7 and consumer.stats.duplicates == 2 and consumer.stats.dead_lettered == 1
    dlq = await ops.read_dlq(kafka, topic + ".dlq", limit=10)
    assert [m["event_id"] for m in dlq] == [envs[5].id]
    assert dlq[0]["reason"] == "invalid payload: PermanentError: B5 can never be applied"
    await denials.dispose()
