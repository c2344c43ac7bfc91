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
for all of them, each handler in order, one commit): per-event transactions would be most of a worker's cost. The
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
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError
from sqlalchemy.ext.asyncio import AsyncEngine

from rcm_shared.bus.handlers import BatchHandler, Handler, HandlerRegistry, PermanentError, Wants
from rcm_shared.bus.handling import ConsumerStats, Hook, InboxHandler, Stopping
from rcm_shared.bus.inbox import CLOCK_GRACE, prune_inbox
from rcm_shared.bus.tables import BusTables
from rcm_shared.config import KafkaSettings
from rcm_shared.metrics import CONSUMER_LAG

__all__ = [
    "CLOCK_GRACE",
    "BatchHandler",
    "ConsumerStats",
    "Handler",
    "HandlerRegistry",
    "Hook",
    "InboxConsumer",
    "PermanentError",
    "Wants",
    "prune_inbox",
]

log = logging.getLogger(__name__)


class _Reassignments(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no types
    """Counts the consumer's rebalances and lists the partitions it is newly given."""

    def __init__(self, consumer: InboxConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self._consumer._assignments += 1

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._consumer._assignments += 1
        self._consumer._unchecked |= set(assigned)


class InboxConsumer:
    """A Kafka consumer of the service's group: polls, hands each partition's records to an ``InboxHandler``,
    and commits the offsets once they are handled."""

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
        self._handling = InboxHandler(
            name=name,
            engine=engine,
            tables=tables,
            registry=registry,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            batch_size=batch_size,
            inbox_retention=inbox_retention,
            after_db_commit=after_db_commit,
        )
        self.name = name
        self._kafka = kafka
        self._group_id = group_id
        self._topics = list(topics)
        self._session_timeout_ms = session_timeout_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._assignments = 0  # rebalances seen (partitions revoked or assigned)
        self._unchecked: set[TopicPartition] = set()  # assigned, position not yet checked against the end
        self.stats = self._handling.stats

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
        dlq = self._handling.dlq = AIOKafkaProducer(**self._kafka.client_kwargs(), acks="all")
        await self._consumer.start()
        await dlq.start()

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        dlq, self._handling.dlq = self._handling.dlq, None
        if consumer is not None:
            await consumer.stop()
        if dlq is not None:
            await dlq.stop()

    async def run(self, stop: asyncio.Event) -> None:
        self._handling.stop = stop
        await self.start()
        try:
            while not stop.is_set():
                await self.poll_once(timeout_ms=200)
        except Stopping:
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
        await self._handling.process(records)
