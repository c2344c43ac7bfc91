"""Idempotent consumer: inbox dedupe, offsets after the DB commit, bounded retries, then the DLQ.

For each message, in order per partition:
1. parse the CloudEvents envelope; a malformed one goes straight to ``<topic>.dlq`` (retrying won't help);
2. find the handler by (type, schema version); none -> DLQ; an event the handler has declared of no use to it
   (``wants``, see ``HandlerRegistry.on_batch``) is passed over: steps 3 and 4 below, with nothing to do;
3. in one transaction: insert (consumer, event id) into the inbox - if it is already there this is a
   redelivery and nothing else happens - run the handler, commit;
4. only then commit the offsets (once per fetch, for all its partitions, after all its messages passed 3).
   A crash between 3 and 4 redelivers the messages; step 3 drops them.
A handler that keeps failing is retried with backoff ``max_retries`` times, then dead-lettered with the
error and the original coordinates in the headers, and the partition moves on. A failure because the
database cannot be reached (refused or lost connection, a restart, SQLite locked past its busy timeout:
``database_unreachable``) is the database's, not the event's: the event is tried again, with backoff up to
5 s (``outage_delay``), for as long as that lasts (the partition waits with it), and never dead-lettered; a
worker asked to stop meanwhile leaves it uncommitted for redelivery.

Step 3 runs for up to ``batch_size`` consecutive events of a partition in one transaction (one inbox insert
for all of them, each handler in order, one commit): per-event transactions were most of a worker's cost. The
insert does not ask the inbox first: if it finds any of the events there (a redelivery), the transaction is
rolled back and the batch redone with the inbox asked which ones it has. A
handler registered with ``on_batch`` is called once with every consecutive new event of its type in that
transaction (in partition order), so it can read and write them with a few set-based statements instead of a
few statements per event. If any handler of the batch fails, the whole transaction rolls back and the batch
is handled again one event per transaction, with the retries and dead-lettering above, so one bad event
never takes its neighbours with it. A handler may therefore run again after a neighbour failed, as after its
own retry: handlers keep their effects inside the transaction they are given (a delivery to the outside
world is recorded there and made by a worker loop after the commit).

Inbox retention (``inbox_retention``; off by default: rows are kept for ever). An inbox row is removed once it
is older than the retention plus ``CLOCK_GRACE`` (``prune_inbox``), and an event created longer than the
retention ago is dead-lettered instead of handled: it was handled at or after its creation (give or take the
hosts' clock difference, under ``CLOCK_GRACE``), so if it was handled at all its row is still there; for an
older one the inbox can no longer tell, and handling it could post twice. Nothing passes unnoticed: the DLQ
holds it with the reason. The relay re-publishes only events younger than the retention after a broker loss.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rcm_shared.bus.tables import BusTables
from rcm_shared.config import KafkaSettings
from rcm_shared.db import bulk_insert, database_unreachable, outage_delay, write_queue, write_transaction
from rcm_shared.events import Envelope, EnvelopeError
from rcm_shared.metrics import CONSUMER_LAG, DEAD_LETTERED, HANDLER_LATENCY, INBOX_PRUNED, PASSED_OVER
from rcm_shared.runtime import wait_or_stop
from rcm_shared.topics import dlq_topic
from rcm_shared.tracing import consumer_batch_spans, consumer_span

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
Wants = Callable[[Envelope], bool]
BatchHandler = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]
Hook = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]


class PermanentError(Exception):
    """Raised by a handler for input that can never succeed: dead-lettered without retries."""


@dataclass
class HandlerRegistry:
    """(event type, schema version) -> handler; a batch handler also serves single events (a list of one)."""

    _handlers: dict[tuple[str, int], Handler] = field(default_factory=dict)
    _batch: dict[tuple[str, int], BatchHandler] = field(default_factory=dict)
    _wants: dict[tuple[str, int], Wants] = field(default_factory=dict)

    def register(self, event_type: str, version: int, handler: Handler, wants: Wants | None = None) -> None:
        key = (event_type, version)
        if key in self._handlers:
            raise ValueError(f"handler for {event_type} v{version} registered twice")
        self._handlers[key] = handler
        if wants is not None:
            self._wants[key] = wants

    def on(self, event_type: str, version: int = 1, *, wants: Wants | None = None) -> Callable[[Handler], Handler]:
        """Register a handler of this event type; see ``on_batch`` for ``wants``."""

        def decorate(fn: Handler) -> Handler:
            self.register(event_type, version, fn, wants)
            return fn

        return decorate

    def on_batch(
        self, event_type: str, version: int = 1, *, wants: Wants | None = None
    ) -> Callable[[BatchHandler], BatchHandler]:
        """Register a handler called with consecutive events of this type (in order) in one transaction.

        ``wants``: for a consumer that acts on a few events of a type only, a test of the event alone (never of
        stored state) that is false for the events the handler would do nothing with. Those are passed over:
        no inbox row, no transaction; their offsets are committed with the others'. Handling one twice would
        change nothing, so passing over is exactly-once in effect. If the test raises (a payload that does not
        validate), the event goes to the handler as any other, and from there to the DLQ."""

        def decorate(fn: BatchHandler) -> BatchHandler:
            async def one(session: AsyncSession, envelope: Envelope) -> None:
                await fn(session, [envelope])

            self.register(event_type, version, one, wants)
            self._batch[(event_type, version)] = fn
            return fn

        return decorate

    def get(self, event_type: str, version: int) -> Handler | None:
        return self._handlers.get((event_type, version))

    def wanted(self, envelope: Envelope) -> bool:
        """False for an event its handler has no use for (``wants``); true for any other, unknown ones too."""
        wants = self._wants.get((envelope.type, envelope.schemaversion))
        if wants is None:
            return True
        try:
            return wants(envelope)
        except Exception:  # noqa: BLE001 - the handler refuses it with the reason, into the DLQ
            return True

    def batch(self, event_type: str, version: int) -> BatchHandler | None:
        return self._batch.get((event_type, version))


class _Reassignments(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no types
    """Counts the consumer's rebalances and lists the partitions it is newly given."""

    def __init__(self, consumer: InboxConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self._consumer._assignments += 1

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._consumer._assignments += 1
        self._consumer._unchecked |= set(assigned)


class _SeenBefore(Exception):
    """Some events of a batch are in the inbox already: the batch's transaction is rolled back."""


@dataclass(slots=True)
class _Item:
    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope
    handler: Handler
    batch: BatchHandler | None = None


@dataclass
class ConsumerStats:
    handled: int = 0
    duplicates: int = 0
    passed_over: int = 0  # of no use to the handler (``wants``)
    dead_lettered: int = 0
    retries: int = 0
    database_waits: int = 0  # tries again because the database could not be reached


class _Stopping(Exception):
    """Raised out of a poll whose event waits for the database when the worker is asked to stop: the poll's
    offsets stay uncommitted, so its events are delivered again (and the inbox drops those already handled)."""


class InboxConsumer:
    def __init__(
        self,
        *,
        name: str,
        engine: AsyncEngine,
        tables: BusTables,
        kafka: KafkaSettings,
        group_id: str,
        topics: Sequence[str],
        registry: HandlerRegistry,
        max_retries: int = 5,
        retry_backoff: float = 0.2,
        session_timeout_ms: int = 10_000,
        batch_size: int = 200,
        inbox_retention: timedelta | None = None,
        after_db_commit: Hook | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = name
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._t = tables
        self._kafka = kafka
        self._group_id = group_id
        self._topics = list(topics)
        self._registry = registry
        self._max_retries = max_retries
        self._backoff = retry_backoff
        self._session_timeout_ms = session_timeout_ms
        self._batch_size = batch_size
        self._retention = inbox_retention
        self._after_db_commit = after_db_commit  # fault-injection point for tests
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._stop: asyncio.Event | None = None  # set by ``run``'s caller to stop
        self._assignments = 0  # rebalances seen (partitions revoked or assigned)
        self._unchecked: set[TopicPartition] = set()  # assigned, position not yet checked against the end
        self.stats = ConsumerStats()

    @property
    def assignment(self) -> frozenset[TopicPartition]:
        return self._consumer.assignment() if self._consumer else frozenset()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self._kafka.client_kwargs(),
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=max(100, self._session_timeout_ms // 4),
            rebalance_timeout_ms=max(self._session_timeout_ms, 5000),
            max_poll_records=500,
        )
        self._consumer.subscribe(self._topics, listener=_Reassignments(self))
        self._dlq = AIOKafkaProducer(**self._kafka.client_kwargs(), acks="all")
        await self._consumer.start()
        await self._dlq.start()

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        dlq, self._dlq = self._dlq, None
        if consumer is not None:
            await consumer.stop()
        if dlq is not None:
            await dlq.stop()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        await self.start()
        try:
            while not stop.is_set():
                await self.poll_once(timeout_ms=200)
        except _Stopping:
            log.warning(
                "consumer stopped while its database was unreachable: the last poll's events will be redelivered",
                extra={"consumer": self.name},
            )
        finally:
            await self.stop()

    async def poll_once(self, timeout_ms: int = 200) -> int:
        assert self._consumer is not None, "consumer not started"
        if self._unchecked:
            await self._rewind_past_the_end()
        batches = await self._consumer.getmany(timeout_ms=timeout_ms)
        assignment = self._assignments  # the records are of this assignment
        count = 0
        offsets: dict[TopicPartition, int] = {}
        for tp, records in batches.items():
            if not records:
                continue
            await self.process_many(records)
            count += len(records)
            offsets[tp] = records[-1].offset + 1
            # (the partition may have been taken away while its records were handled: no lag to tell then)
            highwater = self._consumer.highwater(tp) if assignment == self._assignments else None
            if highwater is not None:
                CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(
                    max(0, highwater - records[-1].offset - 1)
                )
        # One offset commit per fetch, for all its partitions, after every record of them is committed to the
        # DB: a crash before it redelivers records the inbox has already (dropped there), never loses one.
        # Not if the partitions were reassigned meanwhile: the group has moved on from these records (a
        # broker that lost its memory has a new group, whose partitions may not reach these offsets yet:
        # committed there, they would make the group skip what is written up to them); they are read again
        # from the group's committed offsets, and the inbox drops them.
        if offsets and assignment != self._assignments:
            log.info("partitions reassigned while a fetch was handled: its offsets are left to the group")
        elif offsets:
            await self._commit(offsets)
        return count

    async def _rewind_past_the_end(self) -> None:
        """A partition newly assigned whose position is past its end - an offset committed to a broker that lost
        its log since, or in a race with its restart - is read again from its start (the inbox drops what was
        handled): Apache Kafka answers such a fetch with OFFSET_OUT_OF_RANGE and the reset policy, but the
        embedded broker waits there, and the records written up to that offset would be skipped. The end is
        the high-water mark of the partition's last fetch answer (the embedded broker's ListOffsets can tell
        an end short of the last record's); a partition not fetched yet is looked at on a later poll."""
        assert self._consumer is not None
        for tp in list(self._unchecked):
            if tp not in self.assignment:
                self._unchecked.discard(tp)
                continue
            end = self._consumer.highwater(tp)
            if end is None:
                continue
            self._unchecked.discard(tp)
            position = await self._consumer.position(tp)
            if position > end:
                log.warning(
                    "position past the partition's end: read again from the start",
                    extra={"topic": tp.topic, "partition": tp.partition, "position": position, "end": end},
                )
                await self._consumer.seek_to_beginning(tp)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError as exc:
            # The partition moved to another member during a rebalance; it will redeliver from the
            # last committed offset and the inbox drops what we already handled.
            log.info("offset commit refused after rebalance: redelivery will be deduplicated", extra={"error": exc})

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """One record in its own transaction."""
        await self.process_many([record])

    async def process_many(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Records of one partition, in order: runs of up to ``batch_size`` handled events share a transaction;
        a record that cannot be handled at all (malformed, no handler) is dead-lettered in its place."""
        run: list[_Item] = []
        for record in records:
            try:
                envelope = Envelope.from_kafka(record.headers, record.value)
            except EnvelopeError as exc:
                await self._handle_run(run)
                await self._dead_letter(
                    record, f"malformed envelope: {exc}", attempts=1, cause="malformed_envelope", error=exc
                )
                continue
            handler = self._registry.get(envelope.type, envelope.schemaversion)
            if handler is None:
                await self._handle_run(run)
                reason = f"no handler for event type {envelope.type!r} version {envelope.schemaversion}"
                await self._dead_letter(record, reason, attempts=1, cause="no_handler", event_type=envelope.type)
                continue
            if not self._registry.wanted(envelope):
                self.stats.passed_over += 1
                PASSED_OVER.labels(self.name, envelope.type).inc()
                continue
            if self._retention is not None and envelope.time < datetime.now(UTC) - self._retention:
                await self._handle_run(run)
                reason = (
                    f"created {envelope.time.isoformat()}, before the inbox's retention of {self._retention.days} "
                    "day(s): the inbox cannot tell whether it was handled already"
                )
                await self._dead_letter(record, reason, attempts=1, cause="before_retention", event_type=envelope.type)
                continue
            run.append(_Item(record, envelope, handler, self._registry.batch(envelope.type, envelope.schemaversion)))
            if len(run) >= self._batch_size:
                await self._handle_run(run)
        await self._handle_run(run)

    async def _handle_run(self, run: list[_Item]) -> None:
        """Handle ``run`` (emptied on return) in one transaction, or one by one if any of it fails."""
        items, run[:] = list(run), []
        if not items:
            return
        if len(items) > 1:
            try:
                outcomes = await self._handle_together(items)
            except Exception as exc:  # noqa: BLE001 - rolled back as a whole; each event gets its own chance
                log.info(
                    "a batch of events failed; handling them one at a time", extra={"count": len(items), "error": exc}
                )
            else:
                for item, (handled, seconds) in zip(items, outcomes, strict=True):
                    outcome = "handled" if handled else "duplicate"
                    HANDLER_LATENCY.labels(self.name, item.envelope.type, outcome).observe(seconds)
                    await self._counted(item.record, handled)
                return
        for item in items:
            with consumer_span(item.envelope, item.record.topic, item.record.partition, self.name):
                await self._process(item.record, item.envelope, item.handler)

    async def _handle_together(self, items: list[_Item]) -> list[tuple[bool, float]]:
        try:
            return await self._handle_together_once(items, all_new=True)
        except _SeenBefore:  # a redelivery (after a crash or a rebalance): rolled back, the inbox asked first
            return await self._handle_together_once(items, all_new=False)

    async def _handle_together_once(self, items: list[_Item], *, all_new: bool) -> list[tuple[bool, float]]:
        outcomes: list[tuple[bool, float] | None] = [None] * len(items)
        async with write_queue(self._engine), self._sessions() as session, session.begin():
            new = await self._record_many_in_inbox(session, items, all_new=all_new)
            group: list[int] = []  # consecutive new events of one batch handler, handled by one call

            async def flush() -> None:
                if not group:
                    return
                batch = items[group[0]].batch
                assert batch is not None
                started = time.perf_counter()
                envelopes = [items[i].envelope for i in group]
                first = items[group[0]].record
                with consumer_batch_spans(envelopes, first.topic, first.partition, self.name):
                    await batch(session, envelopes)
                share = (time.perf_counter() - started) / len(group)
                for i in group:
                    outcomes[i] = (True, share)
                group.clear()

            for index, item in enumerate(items):
                if item.envelope.id not in new:  # already handled, or earlier in this very batch
                    outcomes[index] = (False, 0.0)
                    continue
                new.discard(item.envelope.id)
                if item.batch is not None:
                    if group and items[group[0]].batch is not item.batch:
                        await flush()
                    group.append(index)
                    continue
                await flush()
                started = time.perf_counter()
                with consumer_span(item.envelope, item.record.topic, item.record.partition, self.name):
                    await item.handler(session, item.envelope)
                outcomes[index] = (True, time.perf_counter() - started)
            await flush()
        return [o if o is not None else (False, 0.0) for o in outcomes]

    async def _counted(self, record: ConsumerRecord[bytes, bytes], handled: bool) -> None:
        if handled:
            self.stats.handled += 1
        else:
            self.stats.duplicates += 1
        if self._after_db_commit is not None:
            await self._after_db_commit(record)

    async def _process(self, record: ConsumerRecord[bytes, bytes], envelope: Envelope, handler: Handler) -> None:
        attempt = waits = 0
        while True:
            attempt += 1
            started = time.perf_counter()

            def observe(outcome: str, since: float = started) -> None:
                HANDLER_LATENCY.labels(self.name, envelope.type, outcome).observe(time.perf_counter() - since)

            try:
                handled = await self._handle_once(record, envelope, handler)
            except (PermanentError, ValidationError) as exc:
                observe("dead_lettered")
                await self._dead_letter(
                    record,
                    f"invalid payload: {_short(exc)}",
                    attempts=attempt,
                    cause="invalid_payload",
                    event_type=envelope.type,
                    error=exc,
                )
                return
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                if database_unreachable(exc):
                    attempt -= 1  # not the event's failure: tried again for as long as the outage lasts
                    waits += 1
                    observe("database_unreachable")
                    self.stats.database_waits += 1
                    delay = outage_delay(self._backoff, waits)
                    log.warning(
                        "database unreachable while handling an event; trying again",
                        extra={"event_type": envelope.type, "attempt": waits, "delay_s": round(delay, 1), "error": exc},
                    )
                    await self._wait_unless_stopping(delay)
                    continue
                if attempt > self._max_retries:
                    observe("dead_lettered")
                    await self._dead_letter(
                        record,
                        f"handler failed: {_short(exc)}",
                        attempts=attempt,
                        cause="handler_failed",
                        event_type=envelope.type,
                        error=exc,
                        exc=exc,
                    )
                    return
                observe("retried")
                self.stats.retries += 1
                log.warning(
                    "handler failed; retrying",
                    extra={
                        "event_type": envelope.type,
                        "attempt": attempt,
                        "max_attempts": self._max_retries + 1,
                        "error": exc,
                    },
                )
                await asyncio.sleep(self._backoff * (2 ** (attempt - 1)))
                continue
            observe("handled" if handled else "duplicate")
            await self._counted(record, handled)
            return

    async def _wait_unless_stopping(self, seconds: float) -> None:
        if self._stop is None:
            await asyncio.sleep(seconds)
        elif await wait_or_stop(self._stop, seconds):
            raise _Stopping

    async def _handle_once(self, record: ConsumerRecord[bytes, bytes], envelope: Envelope, handler: Handler) -> bool:
        async with write_queue(self._engine), self._sessions() as session, session.begin():
            first_time = await self._record_in_inbox(session, record, envelope)
            if not first_time:
                return False
            await handler(session, envelope)
        return True

    def _inbox_row(self, record: ConsumerRecord[bytes, bytes], envelope: Envelope, at: datetime) -> dict[str, Any]:
        return {
            "consumer": self.name,
            "event_id": envelope.id,
            "event_type": envelope.type,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "processed_at": at,
        }

    async def _record_in_inbox(
        self, session: AsyncSession, record: ConsumerRecord[bytes, bytes], envelope: Envelope
    ) -> bool:
        row = self._inbox_row(record, envelope, datetime.now(UTC))
        return await bulk_insert(session, self._t.inbox, [row], skip_conflicts=True) == 1

    async def _record_many_in_inbox(self, session: AsyncSession, items: list[_Item], *, all_new: bool) -> set[str]:
        """The batch's events seen for the first time, their inbox rows inserted in one statement.

        ``all_new``: the usual case, every event new: the rows are inserted with conflicts skipped, and if the
        database left any out (an event handled before) ``_SeenBefore`` rolls the batch back, to be handled
        again without ``all_new``: the inbox is then asked first which events it has. A row that appears
        between that SELECT and the INSERT (a concurrent member during a rebalance) makes the insert fail on
        the inbox key; the batch then rolls back and is handled one event at a time.
        """
        inbox = self._t.inbox
        ids = {i.envelope.id for i in items}
        if all_new:
            new = ids
        else:
            seen = await session.execute(
                select(inbox.c.event_id).where(inbox.c.consumer == self.name, inbox.c.event_id.in_(ids))
            )
            new = ids - set(seen.scalars())
        now = datetime.now(UTC)
        rows = {}
        for i in items:
            if i.envelope.id in new and i.envelope.id not in rows:
                rows[i.envelope.id] = self._inbox_row(i.record, i.envelope, now)
        if all_new:
            if await bulk_insert(session, inbox, list(rows.values()), skip_conflicts=True) < len(rows):
                raise _SeenBefore
        else:
            await bulk_insert(session, inbox, list(rows.values()))
        return new

    async def _dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        reason: str,
        *,
        attempts: int,
        cause: str,
        event_type: str | None = None,
        error: BaseException | None = None,
        exc: BaseException | None = None,
    ) -> None:
        """Send ``record`` to its DLQ with ``reason`` (and ``exc``'s text) in the headers, for whoever works
        the DLQ, which is as confidential as the topic; the log line names the ``cause`` (a code), the event
        type and ``error``'s type only, since a reason quotes what failed to parse."""
        assert self._dlq is not None
        headers = list(record.headers or ())
        headers += [
            ("dlq-reason", reason.encode()[:4000]),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-consumer", self.name.encode()),
            ("dlq-attempts", str(attempts).encode()),
            ("dlq-failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        if exc is not None:
            headers.append(("dlq-exception", "".join(traceback.format_exception_only(exc)).encode()[:4000]))
        try:
            await self._dlq.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key, headers=headers)
        except KafkaError:
            log.error(
                "cannot write to the dead-letter topic; the message stays uncommitted",
                extra={"topic": dlq_topic(record.topic)},
            )
            raise
        self.stats.dead_lettered += 1
        DEAD_LETTERED.labels(self.name, record.topic).inc()
        log.error(
            "dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "cause": cause,
                "event_type": event_type,
                "error": error,
            },
        )


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


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 500 else text[:497] + "..."
