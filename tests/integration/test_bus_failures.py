"""Poison messages, failing handlers and a broker that loses its memory - on the real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from denials.models import bus as denials_bus
from rcm_cli import ops
from rcm_cli.broker import EmbeddedBroker
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import HandlerRegistry, InboxConsumer, PermanentError
from rcm_shared.bus.outbox import Outbox
from rcm_shared.bus.relay import OutboxRelay
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine, session_factory
from rcm_shared.events import Envelope, EventPayload
from rcm_shared.testing import consume_until, poll_until, wait_for_assignment
from remittance.models import bus as remittance_bus
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession


class Ping(EventPayload):
    event_type = "test.ping"
    n: int


def _env(n: int) -> Envelope:
    return Envelope.wrap(Ping(n=n), source="/test", tenant_id="org-1", subject=str(n))


async def _denials_db_and_topic(
    db_factory: Any, kafka: KafkaSettings, name: str, partitions: int = 1
) -> tuple[Any, str]:
    """A fresh database with the denials tables (an engine on it) and a topic of this test's own, with its DLQ."""
    db = await db_factory("denials")
    topic = kafka.topic_prefix + name
    await ensure_topics(kafka, [TopicRequest(topic, partitions), TopicRequest(topic + ".dlq", 1)])
    return create_engine(db.url, schema=db.schema), topic


def _ping_recorder() -> tuple[HandlerRegistry, list[int]]:
    """A registry whose handler of test.ping records each ping's number, in the order handled."""
    registry = HandlerRegistry()
    seen: list[int] = []

    @registry.on("test.ping")
    async def on_ping(_session: AsyncSession, env: Envelope) -> None:
        seen.append(env.payload_as(Ping).n)

    return registry, seen


def _inbox_consumer(
    engine: Any, kafka: KafkaSettings, topic: str, registry: HandlerRegistry, **kw: Any
) -> InboxConsumer:
    """The tests' consumer "c" of ``topic`` (group ``<topic>.g``) on the denials tables, quick to join."""
    return InboxConsumer(
        name="c",
        engine=engine,
        tables=denials_bus,
        kafka=kafka,
        group_id=topic + ".g",
        topics=[topic],
        registry=registry,
        session_timeout_ms=1500,
        **kw,
    )


async def test_poison_and_failing_messages_go_to_dlq_and_do_not_block(db_factory, kafka: KafkaSettings) -> None:  # type: ignore[no-untyped-def]
    engine, topic = await _denials_db_and_topic(db_factory, kafka, "in")
    handled: list[int] = []
    attempts: dict[int, int] = {}
    registry = HandlerRegistry()

    @registry.on("test.ping")
    async def on_ping(_session: AsyncSession, env: Envelope) -> None:
        n = env.payload_as(Ping).n
        attempts[n] = attempts.get(n, 0) + 1
        if n == 2:
            raise RuntimeError("downstream always fails")
        if n == 3:
            raise PermanentError("claim id unknown to this tenant")
        if n == 4 and attempts[n] < 3:
            raise ConnectionError("transient")
        handled.append(n)

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    await producer.send_and_wait(topic, b"{}", headers=[("ce_id", b"x")])  # malformed envelope
    unknown = Envelope(source="/t", type="test.unknown", tenantid="org-1", data={})
    await producer.send_and_wait(topic, unknown.to_value(), headers=unknown.to_headers())
    bad_payload = Envelope(source="/t", type="test.ping", tenantid="org-1", data={"n": "not a number"})
    await producer.send_and_wait(topic, bad_payload.to_value(), headers=bad_payload.to_headers())
    newer = Envelope(source="/t", type="test.ping", schemaversion=2, tenantid="org-1", data={"n": 9})
    await producer.send_and_wait(topic, newer.to_value(), headers=newer.to_headers())  # a version nobody reads yet
    for n in range(1, 6):
        await producer.send_and_wait(topic, _env(n).to_value(), key=str(n).encode(), headers=_env(n).to_headers())
    await producer.stop()

    consumer = _inbox_consumer(
        engine,
        kafka,
        topic,
        registry,
        max_retries=2,
        retry_backoff=0.01,
        # one transaction per event, so the calls kept in the lists above (outside any transaction) are the
        # attempts; a batch rolled back by a neighbour's failure is covered in test_walking_skeleton
        batch_size=1,
    )
    await consume_until(consumer, lambda: consumer.stats.handled + consumer.stats.dead_lettered >= 9)

    assert handled == [1, 4, 5]  # 4 succeeded on its third attempt; 2 and 3 did not block 4 and 5
    assert attempts[2] == 3 and attempts[3] == 1  # bounded retries; a permanent error is not retried
    dlq = await ops.read_dlq(kafka, topic + ".dlq", limit=100)
    reasons = [m["reason"] for m in dlq]
    assert len(dlq) == 6, reasons
    assert reasons[0].startswith("malformed envelope: missing CloudEvents attribute(s)")
    assert reasons[1] == "no handler for event type 'test.unknown' version 1"
    assert reasons[2].startswith("invalid payload: ValidationError")
    assert reasons[3] == "no handler for event type 'test.ping' version 2"
    assert reasons[4] == "handler failed: RuntimeError: downstream always fails" and dlq[4]["attempts"] == "3"
    assert reasons[5].startswith("invalid payload: PermanentError")
    assert all(m["original"].startswith(topic + "[0]@") for m in dlq)

    # Re-drive after "fixing" the cause: the message is handled, once.
    attempts.clear()
    registry._handlers.clear()

    @registry.on("test.ping")
    async def fixed(_session: AsyncSession, env: Envelope) -> None:
        handled.append(env.payload_as(Ping).n)

    assert await ops.redrive(kafka, topic + ".dlq", {dlq[4]["event_id"]}) == 1
    consumer = _inbox_consumer(engine, kafka, topic, registry)
    await consume_until(consumer, lambda: 2 in handled)
    assert handled == [1, 4, 5, 2]
    await engine.dispose()


async def test_outbox_replays_into_a_broker_that_lost_its_memory(db_factory) -> None:  # type: ignore[no-untyped-def]
    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    with EmbeddedBroker() as broker:
        port = broker.port
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
        topics = [TopicRequest("remittance.claim.adjudicated", 3)]
        relay = OutboxRelay(engine=engine, tables=remittance_bus, kafka=kafka, topics=topics, name="remittance")
        await relay.start()
        outbox = Outbox(remittance_bus)
        async with session_factory(engine)() as session, session.begin():
            for n in range(7):
                await outbox.add(session, _env(n), topic="remittance.claim.adjudicated", key=str(n))
        assert await relay.run_once() == 7
        assert await relay.check_broker() == 0  # nothing lost yet
        await relay.release_lease()  # as a worker does on a clean stop
        await relay.stop()
        broker.kill()  # memory gone: topics, messages and offsets

    with EmbeddedBroker(port=port) as broker:  # "make run" again: a fresh broker on the same port
        relay = OutboxRelay(engine=engine, tables=remittance_bus, kafka=kafka, topics=topics, name="remittance")
        await relay.start()
        assert await relay.run_once() == 7  # the check found the topic gone and re-published all seven
        await relay.stop()
        assert relay.replayed == 7

        seen: set[int] = set()
        registry = HandlerRegistry()

        @registry.on("test.ping")
        async def on_ping(_s: AsyncSession, env: Envelope) -> None:
            seen.add(env.payload_as(Ping).n)

        consumer = InboxConsumer(
            name="c",
            engine=engine,
            tables=remittance_bus,
            kafka=kafka,
            group_id="g",
            topics=["remittance.claim.adjudicated"],
            registry=registry,
            session_timeout_ms=1500,
        )
        await consume_until(consumer, lambda: len(seen) == 7)
    async with engine.connect() as conn:
        published = await conn.scalar(select(func.count()).where(remittance_bus.outbox.c.published_at.is_not(None)))
    assert published == 7  # rows are kept after publishing, ready for the next replay
    await engine.dispose()


async def test_a_relay_that_outlives_the_broker_replays_before_publishing_anything_new(db_factory) -> None:  # type: ignore[no-untyped-def]
    """The broker restarts empty while the relay runs, and a new event is committed before the relay's next
    periodic check: the relay sees the new cluster id before its next batch, so the new broker gets every
    row again, oldest first (the topic is not empty by then, so an emptiness check alone would miss it)."""
    from aiokafka import AIOKafkaConsumer

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    topics = [TopicRequest("remittance.claim.adjudicated", 1)]
    outbox = Outbox(remittance_bus)

    async def commit(ns: range) -> None:
        async with session_factory(engine)() as session, session.begin():
            for n in ns:
                await outbox.add(session, _env(n), topic="remittance.claim.adjudicated", key="same-claim")

    with EmbeddedBroker() as broker:
        port = broker.port
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
        relay = OutboxRelay(
            engine=engine,
            tables=remittance_bus,
            kafka=kafka,
            topics=topics,
            name="remittance",
            broker_check_interval=3600,
        )
        await relay.start()
        await commit(range(3))
        assert await relay.run_once() == 3
    try:
        with EmbeddedBroker(port=port) as broker:  # the same address, a new empty cluster
            await ensure_topics(kafka, topics)  # as the supervisor does after a restart
            await commit(range(3, 4))
            sent = 0
            deadline = time.monotonic() + 30
            while sent < 4 and time.monotonic() < deadline:
                try:
                    sent += await relay.run_once()
                except KafkaError:  # the producer is still reconnecting
                    await asyncio.sleep(0.2)
            assert sent == 4 and relay.replayed == 3
            consumer = AIOKafkaConsumer(
                "remittance.claim.adjudicated", bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
            )
            await consumer.start()
            try:
                got: list[int] = []
                while len(got) < 4 and time.monotonic() < deadline:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        got += [Envelope.from_kafka(r.headers, r.value).payload_as(Ping).n for r in records]
            finally:
                await consumer.stop()
            assert got == [0, 1, 2, 3]  # in commit order: the one committed after the restart comes last
    finally:
        await relay.stop()
        await engine.dispose()


async def test_cli_replay_requeues_rows_since_a_time(db_factory) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from rcm_cli.services import settings_for

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    o = remittance_bus.outbox
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for n, age in enumerate([3, 2, 1]):
            env = _env(n)
            await conn.execute(
                insert(o).values(
                    event_id=env.id,
                    topic="x",
                    key=None,
                    event_type=env.type,
                    tenant_id="org-1",
                    headers=[],
                    payload="{}",
                    created_at=now - timedelta(days=age),
                    published_at=now,
                )
            )
    import os

    os.environ["REMITTANCE_DATABASE_URL"] = db.url
    os.environ["REMITTANCE_DB_SCHEMA"] = db.schema
    try:
        count = await ops.replay(settings_for("remittance"), now - timedelta(days=2, hours=1), None)
    finally:
        del os.environ["REMITTANCE_DATABASE_URL"], os.environ["REMITTANCE_DB_SCHEMA"]
    assert count == 2
    async with engine.connect() as conn:
        pending = await conn.scalar(select(func.count()).where(o.c.published_at.is_(None)))
    assert pending == 2
    await engine.dispose()


class Pong(EventPayload):
    event_type = "test.pong"
    n: int


async def test_a_batch_handler_gets_consecutive_events_in_one_call_and_a_failed_batch_is_handled_one_by_one(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    engine, topic = await _denials_db_and_topic(db_factory, kafka, "batched")
    calls: list[tuple[str, list[int]]] = []
    registry = HandlerRegistry()

    @registry.on_batch("test.ping")
    async def on_pings(_session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        ns = [e.payload_as(Ping).n for e in envelopes]
        calls.append(("batch", ns))
        if 8 in ns and len(ns) > 1:
            raise RuntimeError("a neighbour of 8 cannot be handled with it")

    @registry.on("test.pong")
    async def on_pong(_session: AsyncSession, envelope: Envelope) -> None:
        calls.append(("one", [envelope.payload_as(Pong).n]))

    pong = Envelope.wrap(Pong(n=4), source="/test", tenant_id="org-1")
    first = [_env(1), _env(2), _env(3), pong, _env(5), _env(6)]
    first.append(first[0])  # a redelivery of 1

    async def send(envelopes: list[Envelope]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
        await producer.start()
        for envelope in envelopes:
            await producer.send_and_wait(topic, envelope.to_value(), headers=envelope.to_headers())
        await producer.stop()

    await send(first)
    consumer = _inbox_consumer(engine, kafka, topic, registry, retry_backoff=0.01)
    await consumer.start()
    try:
        await wait_for_assignment(consumer)
        await poll_until(consumer, lambda: consumer.stats.handled + consumer.stats.duplicates >= 7)
        # nothing failed: every call committed, in partition order, each event once (1 not again)
        assert [n for _kind, ns in calls for n in ns] == [1, 2, 3, 4, 5, 6]
        assert all(max(ns) < 4 or min(ns) > 4 for kind, ns in calls if kind == "batch")  # the pong splits the run
        assert any(len(ns) > 1 for _kind, ns in calls)  # consecutive pings did share a call
        calls.clear()
        await send([_env(7), _env(8), _env(9)])
        await poll_until(consumer, lambda: consumer.stats.handled >= 9)
    finally:
        await consumer.stop()

    assert (consumer.stats.handled, consumer.stats.duplicates, consumer.stats.dead_lettered) == (9, 1, 0)
    failed = next(i for i, (_kind, ns) in enumerate(calls) if 8 in ns)
    assert len(calls[failed][1]) > 1  # 7, 8, 9 came in one call, which failed and was rolled back,
    assert calls[failed + 1 :] == [("batch", [n]) for n in calls[failed][1]]  # then one event per transaction
    inbox = denials_bus.inbox
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(inbox).where(inbox.c.consumer == "c"))).scalar()
    assert stored == 9
    await engine.dispose()


async def test_a_redelivered_batch_is_handled_together_its_new_events_once(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    """A batch is inserted into the inbox without asking it first; when some of its events are there already
    (a redelivery after a crash), the batch is rolled back and handled again, together, its new events once."""
    engine, topic = await _denials_db_and_topic(db_factory, kafka, "redelivered")
    calls: list[list[int]] = []
    registry = HandlerRegistry()

    @registry.on_batch("test.ping")
    async def on_pings(_session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        calls.append([e.payload_as(Ping).n for e in envelopes])

    events = [_env(n) for n in range(1, 6)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    consumer = _inbox_consumer(engine, kafka, topic, registry)
    await consumer.start()
    try:
        for envelope in events[:3]:
            await producer.send_and_wait(topic, envelope.to_value(), headers=envelope.to_headers())
        await wait_for_assignment(consumer)
        await poll_until(consumer, lambda: consumer.stats.handled >= 3)
        calls.clear()
        # 2 and 3 again, then 4 and 5, then 4 again: one record batch, so one fetch
        batch = producer.create_batch()
        for envelope in [events[1], events[2], events[3], events[4], events[3]]:
            assert batch.append(key=None, value=envelope.to_value(), timestamp=None, headers=envelope.to_headers())
        await (await producer.send_batch(batch, topic, partition=0))
        await poll_until(consumer, lambda: consumer.stats.handled + consumer.stats.duplicates >= 8)
    finally:
        await consumer.stop()
        await producer.stop()
    assert calls == [[4, 5]]  # one call: the batch was not split into one transaction per event
    assert (consumer.stats.handled, consumer.stats.duplicates, consumer.stats.dead_lettered) == (5, 3, 0)
    inbox = denials_bus.inbox
    async with engine.connect() as conn:
        stored = (await conn.execute(select(inbox.c.event_id).where(inbox.c.consumer == "c"))).scalars().all()
    assert sorted(stored) == sorted(e.id for e in events)
    await engine.dispose()


async def test_a_fetch_over_several_partitions_commits_their_offsets_in_one_request(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    """Each poll commits the offsets of every partition it fetched in one request, after the records are in the
    database; at the end every partition's committed offset is its end, so the group has nothing left."""
    from aiokafka import TopicPartition

    engine, topic = await _denials_db_and_topic(db_factory, kafka, "spread", partitions=3)
    registry, seen = _ping_recorder()

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    for n in range(60):
        await producer.send(topic, _env(n).to_value(), partition=n % 3, headers=_env(n).to_headers())
    await producer.flush()
    await producer.stop()

    consumer = _inbox_consumer(engine, kafka, topic, registry)
    await consumer.start()
    commits: list[dict[TopicPartition, int]] = []
    assert consumer._consumer is not None
    real_commit = consumer._consumer.commit

    async def counting(offsets: dict[TopicPartition, int]) -> None:
        commits.append(dict(offsets))
        await real_commit(offsets)

    consumer._consumer.commit = counting  # type: ignore[method-assign]
    try:
        await wait_for_assignment(consumer)
        await poll_until(consumer, lambda: consumer.stats.handled >= 60)
        partitions = [TopicPartition(topic, p) for p in range(3)]
        committed = {tp: await consumer._consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
    assert sorted(seen) == list(range(60))
    assert committed == {tp: 20 for tp in partitions}
    assert any(len(offsets) > 1 for offsets in commits), commits  # a fetch over several partitions: one request
    assert len(commits) < 60 and all(offsets for offsets in commits)


async def test_events_of_no_use_to_their_handler_are_passed_over_and_their_offsets_committed(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    """A handler registered with ``wants`` gets the events it wants only; the others leave no inbox row and no
    transaction, and the group's offsets still reach the end. An event the test cannot read (its payload does
    not validate) goes to the handler, and from there to the DLQ with the reason."""
    from aiokafka import TopicPartition

    engine, topic = await _denials_db_and_topic(db_factory, kafka, "sparse")
    registry = HandlerRegistry()
    calls: list[list[int]] = []

    @registry.on_batch("test.ping", wants=lambda env: env.payload_as(Ping).n % 5 == 0)
    async def on_pings(_session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        calls.append([e.payload_as(Ping).n for e in envelopes])

    events = [_env(n) for n in range(1, 21)]
    bad = Envelope(source="/test", type="test.ping", tenantid="org-1", data={"n": "seven"})
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    for envelope in [*events[:10], bad, *events[10:]]:
        await producer.send(topic, envelope.to_value(), headers=envelope.to_headers())
    await producer.flush()
    await producer.stop()

    consumer = _inbox_consumer(engine, kafka, topic, registry, retry_backoff=0.01)
    await consumer.start()
    try:
        await wait_for_assignment(consumer)
        await poll_until(consumer, lambda: consumer.stats.passed_over + consumer.stats.handled >= 20)
        await poll_until(consumer, lambda: consumer.stats.dead_lettered >= 1)
        assert consumer._consumer is not None
        committed = await consumer._consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()
    assert [n for ns in calls for n in ns] == [5, 10, 15, 20]
    assert (consumer.stats.handled, consumer.stats.passed_over, consumer.stats.dead_lettered) == (4, 16, 1)
    assert committed == 21  # every record, the passed-over ones too
    inbox = denials_bus.inbox
    async with engine.connect() as conn:
        stored = (await conn.execute(select(inbox.c.event_id).where(inbox.c.consumer == "c"))).scalars().all()
    assert sorted(stored) == sorted(e.id for e in events if e.payload_as(Ping).n % 5 == 0)
    dlq = await ops.read_dlq(kafka, topic + ".dlq", limit=10)
    assert [m["event_id"] for m in dlq] == [bad.id] and dlq[0]["reason"].startswith("invalid payload"), dlq
    await engine.dispose()


async def test_a_partition_whose_position_is_past_its_end_is_read_again_from_its_start(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    """An offset committed past a partition's end (to a broker that has since lost its log) would make the
    embedded broker wait there and the group skip every record written up to it; the consumer reads such a
    partition again from its start instead, as Apache Kafka's out-of-range reset does."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    engine, topic = await _denials_db_and_topic(db_factory, kafka, "pastend")
    registry, seen = _ping_recorder()

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    for n in range(5):
        await producer.send_and_wait(topic, _env(n).to_value(), headers=_env(n).to_headers())
    tp = TopicPartition(topic, 0)
    stale = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=topic + ".g")
    await stale.start()
    stale.assign([tp])
    await stale.commit({tp: 20})  # past the end (5)
    await stale.stop()

    consumer = _inbox_consumer(engine, kafka, topic, registry)
    await consumer.start()
    try:
        await wait_for_assignment(consumer)
        for n in range(5, 15):  # offsets 5 to 14, below the committed 20
            await producer.send_and_wait(topic, _env(n).to_value(), headers=_env(n).to_headers())
        await poll_until(consumer, lambda: consumer.stats.handled >= 15, timeout=20)
        assert consumer._consumer is not None
        committed = await consumer._consumer.committed(tp)
    finally:
        await consumer.stop()
        await producer.stop()
    assert sorted(seen) == list(range(15))
    assert committed == 15
    await engine.dispose()


async def test_a_fetch_whose_partitions_were_reassigned_meanwhile_commits_no_offset(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    """Records handled while the group rebalanced are not committed by the member that read them (after a
    broker restart, the new group's partitions may not reach their offsets yet); whoever holds the partition
    next reads them again, and the inbox drops them."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    engine, topic = await _denials_db_and_topic(db_factory, kafka, "reassigned")
    registry = HandlerRegistry()

    @registry.on_batch("test.ping")
    async def on_pings(_session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        return None

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    for n in range(10):
        await producer.send(topic, _env(n).to_value(), headers=_env(n).to_headers())
    await producer.flush()
    await producer.stop()
    other = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, group_id=topic + ".g", session_timeout_ms=1500
    )

    joined: list[bool] = []

    async def join_another_member_meanwhile(_record: Any) -> None:
        if joined:  # once, after the first record's transaction
            return
        joined.append(True)
        before = consumer._assignments
        await other.start()  # the group rebalances while this fetch is being handled
        deadline = time.monotonic() + 20
        while consumer._assignments == before:
            assert time.monotonic() < deadline, "no rebalance"
            await asyncio.sleep(0.05)

    consumer = _inbox_consumer(engine, kafka, topic, registry, after_db_commit=join_another_member_meanwhile)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    try:
        await wait_for_assignment(consumer)
        await poll_until(consumer, lambda: consumer.stats.handled >= 10)
        assert consumer._consumer is not None
        assert await consumer._consumer.committed(tp) is None  # the fetch's offsets were left to the group
        await other.stop()  # the partition comes back; its records again, dropped by the inbox
        await poll_until(consumer, lambda: consumer.stats.duplicates >= 10 and bool(consumer.assignment))
        committed = await consumer._consumer.committed(tp)
    finally:
        await consumer.stop()
        await other.stop()  # a no-op when stopped already
    assert (consumer.stats.handled, consumer.stats.duplicates) == (10, 10)
    assert committed == 10
    await engine.dispose()


async def test_with_an_inbox_retention_old_events_are_dead_lettered_and_old_inbox_rows_pruned(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    """Inbox retention (7 days here): an event created before it is dead-lettered with the reason, not handled
    (its inbox row may be gone), and does not hold up the partition; a recent one is handled once, its
    redelivery dropped. ``prune_inbox`` removes the rows handled before the retention (and the clocks' grace),
    oldest first, a chunk per transaction, and keeps the others."""
    from datetime import UTC, datetime, timedelta

    from rcm_shared.bus.consumer import CLOCK_GRACE, prune_inbox

    engine, topic = await _denials_db_and_topic(db_factory, kafka, "aged")
    registry, seen = _ping_recorder()
    week = timedelta(days=7)
    now = datetime.now(UTC)
    old = _env(1).model_copy(update={"time": now - week - timedelta(minutes=5)})
    recent = _env(2).model_copy(update={"time": now - week + timedelta(hours=1)})
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    for envelope in (old, recent, recent, _env(3)):  # the recent one twice: a redelivery
        await producer.send(topic, envelope.to_value(), headers=envelope.to_headers())
    await producer.flush()
    await producer.stop()

    consumer = _inbox_consumer(engine, kafka, topic, registry, inbox_retention=week)
    await consume_until(consumer, lambda: consumer.stats.handled + consumer.stats.duplicates >= 3)
    assert seen == [2, 3] and consumer.stats.duplicates == 1 and consumer.stats.dead_lettered == 1
    dlq = await ops.read_dlq(kafka, topic + ".dlq", limit=10)
    assert [m["event_id"] for m in dlq] == [old.id]
    assert "before the inbox's retention of 7 day(s)" in dlq[0]["reason"], dlq

    inbox = denials_bus.inbox
    row = {"consumer": "c", "event_type": "test.ping", "topic": topic, "partition": 0, "offset": 0}
    aged = now - week - CLOCK_GRACE - timedelta(minutes=1)
    async with engine.begin() as conn:  # three rows handled long ago, inserted before the two handled above
        await conn.execute(delete(inbox))
        await conn.execute(insert(inbox), [{**row, "event_id": f"old-{n}", "processed_at": aged} for n in range(3)])
        young = now - week - CLOCK_GRACE + timedelta(minutes=1)  # within the grace: kept
        await conn.execute(insert(inbox), [{**row, "event_id": f"new-{n}", "processed_at": young} for n in range(2)])
    assert await prune_inbox(engine, denials_bus, retention=week, chunk=2) == 3
    async with engine.connect() as conn:
        left = (await conn.execute(select(inbox.c.event_id).order_by(inbox.c.id))).scalars().all()
    assert left == ["new-0", "new-1"]
    assert await prune_inbox(engine, denials_bus, retention=week) == 0
    await engine.dispose()


async def test_with_an_inbox_retention_a_lost_broker_gets_the_recent_events_only_and_the_cli_refuses_older(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    """The relay re-publishes into a broker that lost a topic only the rows created within the retention (the
    consumers would dead-letter older ones); ``rcm events replay`` refuses a --since before it."""
    from datetime import UTC, datetime, timedelta

    from rcm_cli.services import settings_for

    db = await db_factory("remittance")
    engine = create_engine(db.url, schema=db.schema)
    topic = kafka.topic_prefix + "kept"
    o = remittance_bus.outbox
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for n, age in enumerate([timedelta(days=9), timedelta(days=6), timedelta(hours=1)]):
            env = _env(n)
            values = {"event_id": env.id, "topic": topic, "key": None, "event_type": env.type, "tenant_id": "org-1"}
            await conn.execute(
                insert(o).values(
                    **values,
                    headers=[[k, v.decode()] for k, v in env.to_headers()],
                    payload=env.to_value().decode(),
                    created_at=now - age,
                    published_at=now - age,
                )
            )
    relay = OutboxRelay(
        engine=engine,
        tables=remittance_bus,
        kafka=kafka,
        topics=[TopicRequest(topic, 1)],
        name="remittance",
        replay_horizon=timedelta(days=7),
    )
    await relay.start()
    try:
        assert await relay.check_broker() == 2  # the topic is empty on this broker: lost; the 9-day-old row stays
    finally:
        await relay.stop()
    async with engine.connect() as conn:
        pending = (await conn.execute(select(o.c.created_at).where(o.c.published_at.is_(None)))).scalars().all()
    assert sorted(now - at > timedelta(days=7) for at in pending) == [False, False]

    import os

    os.environ |= {
        "REMITTANCE_DATABASE_URL": db.url,
        "REMITTANCE_DB_SCHEMA": db.schema,
        "REMITTANCE_INBOX_RETENTION_DAYS": "7",
    }
    try:
        settings = settings_for("remittance")
        with pytest.raises(ValueError, match="before the inbox retention of 7 day"):
            await ops.replay(settings, now - timedelta(days=8), None)
        assert await ops.replay(settings, now - timedelta(days=6, hours=1), None) == 0  # both re-queued already
    finally:
        for name in ("REMITTANCE_DATABASE_URL", "REMITTANCE_DB_SCHEMA", "REMITTANCE_INBOX_RETENTION_DAYS"):
            del os.environ[name]
    await engine.dispose()


async def test_a_worker_with_an_inbox_retention_prunes_its_inbox(db_factory, kafka: KafkaSettings) -> None:  # type: ignore[no-untyped-def]
    """The worker process's loop: with ``inbox_retention_days`` set, its first pass removes the rows handled
    before the retention; without it, none (the default keeps every row)."""
    from datetime import UTC, datetime, timedelta

    from denials.config import DenialsSettings
    from rcm_shared.bus.worker import WorkerSpec, run_worker

    db = await db_factory("denials")
    engine = create_engine(db.url, schema=db.schema)
    inbox = denials_bus.inbox
    row = {"consumer": "c", "event_type": "test.ping", "topic": "t", "partition": 0, "offset": 0}
    long_ago = datetime.now(UTC) - timedelta(days=40)
    async with engine.begin() as conn:
        await conn.execute(insert(inbox), [{**row, "event_id": f"e-{n}", "processed_at": long_ago} for n in range(3)])

    async def rows_after_a_worker(days: int) -> int:
        settings = DenialsSettings(
            database_url=db.url,
            db_schema=db.schema,
            kafka=kafka,
            inbox_retention_days=days,
            consumer_session_timeout_ms=1500,
        )
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(WorkerSpec(settings, denials_bus, HandlerRegistry()), stop))
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not worker.done():
                async with engine.connect() as conn:
                    heartbeats = await conn.scalar(select(func.count()).select_from(denials_bus.heartbeat))
                    left = await conn.scalar(select(func.count()).select_from(inbox))
                if heartbeats and (left == 0 or not days):  # running (and, with a retention, pruned)
                    return int(left or 0)
                await asyncio.sleep(0.1)
            raise AssertionError("the worker neither started nor pruned")
        finally:
            stop.set()
            await worker

    assert await rows_after_a_worker(0) == 3
    assert await rows_after_a_worker(30) == 0
    await engine.dispose()


async def test_an_event_waits_out_an_unreachable_database_and_is_never_dead_lettered(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    # the handler's database is down for longer than the retries of a failing handler last (max_retries=1):
    # the event waits for it, is handled once it is back, and nothing reaches the DLQ
    engine, topic = await _denials_db_and_topic(db_factory, kafka, "outage")
    down = {"tries": 5}
    registry, seen = HandlerRegistry(), []

    @registry.on("test.ping")
    async def on_ping(_session: AsyncSession, env: Envelope) -> None:
        if down["tries"]:
            down["tries"] -= 1
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")  # as asyncpg raises it
        seen.append(env.payload_as(Ping).n)

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    for n in (1, 2):
        await producer.send_and_wait(topic, _env(n).to_value(), key=b"k", headers=_env(n).to_headers())
    await producer.stop()
    # one event a transaction, so each failure is one try of the event (a failed batch is tried again one by one)
    consumer = _inbox_consumer(engine, kafka, topic, registry, max_retries=1, retry_backoff=0.01, batch_size=1)
    await consume_until(consumer, lambda: len(seen) == 2)
    assert seen == [1, 2]
    assert (consumer.stats.database_waits, consumer.stats.retries, consumer.stats.dead_lettered) == (5, 0, 0)
    assert await ops.read_dlq(kafka, topic + ".dlq", limit=10) == []
    await engine.dispose()


async def test_a_worker_stopped_while_its_database_is_unreachable_leaves_the_event_for_redelivery(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings
) -> None:
    engine, topic = await _denials_db_and_topic(db_factory, kafka, "stop-in-outage")
    registry, seen = HandlerRegistry(), []
    reachable = asyncio.Event()

    @registry.on("test.ping")
    async def on_ping(_session: AsyncSession, env: Envelope) -> None:
        if not reachable.is_set():
            raise ConnectionRefusedError(111, "Connect call failed")
        seen.append(env.payload_as(Ping).n)

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    await producer.send_and_wait(topic, _env(7).to_value(), headers=_env(7).to_headers())
    await producer.stop()
    stop = asyncio.Event()
    first = _inbox_consumer(engine, kafka, topic, registry, retry_backoff=0.05)
    running = asyncio.create_task(first.run(stop))
    deadline = time.monotonic() + 30
    while first.stats.database_waits < 3:
        assert time.monotonic() < deadline and not running.done(), first.stats
        await asyncio.sleep(0.05)
    stop.set()
    started = time.monotonic()
    await asyncio.wait_for(running, 10)  # returns: the wait ends with the stop, no exception
    assert time.monotonic() - started < 5
    assert seen == [] and first.stats.dead_lettered == 0

    reachable.set()  # the database is back: the next worker of the group gets the event again, handles it
    second = _inbox_consumer(engine, kafka, topic, registry)
    await consume_until(second, lambda: seen == [7])
    assert await ops.read_dlq(kafka, topic + ".dlq", limit=10) == []
    await engine.dispose()


async def test_a_worker_outlasts_database_outages_in_its_relay_and_background_loops(  # type: ignore[no-untyped-def]
    db_factory, kafka: KafkaSettings, monkeypatch
) -> None:
    """The relay's step and a background loop fail twice because the database cannot be reached (as a
    restart makes them): the worker keeps running, both go on, and a failure of another kind still stops it."""
    from denials.config import DenialsSettings
    from rcm_shared.bus.worker import WorkerSpec, run_worker
    from sqlalchemy.exc import OperationalError

    def lost() -> OperationalError:
        return OperationalError("SELECT 1", {}, ConnectionResetError(104, "reset"), connection_invalidated=True)

    relay_failures, relay_steps = [2], []
    run_once = OutboxRelay.run_once

    async def failing_run_once(self: OutboxRelay) -> int:
        relay_steps.append(1)
        if relay_failures[0]:
            relay_failures[0] -= 1
            raise lost()
        return await run_once(self)

    monkeypatch.setattr(OutboxRelay, "run_once", failing_run_once)
    loop_runs: list[int] = []

    async def background(stop: asyncio.Event, _engine: Any) -> None:
        loop_runs.append(1)
        if len(loop_runs) <= 2:
            raise lost()
        if len(loop_runs) == 3:
            await stop.wait()
            return
        raise RuntimeError("a bug, not an outage")

    db = await db_factory("denials")
    settings = DenialsSettings(database_url=db.url, db_schema=db.schema, kafka=kafka, consumer_session_timeout_ms=1500)
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(WorkerSpec(settings, denials_bus, HandlerRegistry(), background=[background]), stop)
    )
    deadline = time.monotonic() + 30
    while not (len(loop_runs) == 3 and len(relay_steps) > 3):
        assert time.monotonic() < deadline and not worker.done(), (loop_runs, relay_steps, worker)
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(worker, 10)  # stopped cleanly

    loop_runs.clear()  # now the loop fails for a reason of its own: the worker stops with it
    loop_runs.extend([1, 1, 1])
    with pytest.raises(RuntimeError, match="a bug"):
        spec = WorkerSpec(settings, denials_bus, HandlerRegistry(), background=[background])
        await asyncio.wait_for(run_worker(spec, asyncio.Event()), 30)
