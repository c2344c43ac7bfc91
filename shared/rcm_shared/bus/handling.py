"""Handling a partition's records: the inbox drops redeliveries, runs of events share a transaction, a
failing event is retried and then dead-lettered (the steps are described in ``rcm_shared.bus.consumer``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from rcm_shared.bus.dead_letter import dead_letter, short
from rcm_shared.bus.handlers import BatchHandler, Handler, HandlerRegistry, PermanentError
from rcm_shared.bus.inbox import SeenBefore, record_in_inbox, record_many_in_inbox
from rcm_shared.bus.tables import BusTables
from rcm_shared.db import database_unreachable, outage_delay, write_queue
from rcm_shared.events import Envelope, EnvelopeError
from rcm_shared.metrics import HANDLER_LATENCY, PASSED_OVER
from rcm_shared.runtime import wait_or_stop
from rcm_shared.tracing import consumer_batch_spans, consumer_span

log = logging.getLogger("rcm_shared.bus.consumer")  # the consumer's log lines, whichever module writes them

Hook = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]


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


class Stopping(Exception):
    """Raised out of a poll whose event waits for the database when the worker is asked to stop: the poll's
    offsets stay uncommitted, so its events are delivered again (and the inbox drops those already handled)."""


class InboxHandler:
    """Handles the records of one partition at a time, in order, for the consumer ``name``."""

    def __init__(
        self,
        *,
        name: str,
        engine: AsyncEngine,
        tables: BusTables,
        registry: HandlerRegistry,
        max_retries: int,
        retry_backoff: float,
        batch_size: int,
        inbox_retention: timedelta | None,
        after_db_commit: Hook | None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = name
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._inbox = tables.inbox
        self._registry = registry
        self._max_retries = max_retries
        self._backoff = retry_backoff
        self._batch_size = batch_size
        self._retention = inbox_retention
        self._after_db_commit = after_db_commit  # fault-injection point for tests
        self.dlq: AIOKafkaProducer | None = None  # started and stopped with the consumer
        self.stop: asyncio.Event | None = None  # the consumer's stop event while it runs
        self.stats = ConsumerStats()

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str, **details: Any) -> None:
        """``dead_letter`` through the consumer's DLQ producer, counted in its stats."""
        assert self.dlq is not None, "consumer not started"
        await dead_letter(self.dlq, self.name, record, reason, **details)
        self.stats.dead_lettered += 1

    async def process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
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
        except SeenBefore:  # a redelivery (after a crash or a rebalance): rolled back, the inbox asked first
            return await self._handle_together_once(items, all_new=False)

    async def _handle_together_once(self, items: list[_Item], *, all_new: bool) -> list[tuple[bool, float]]:
        outcomes: list[tuple[bool, float] | None] = [None] * len(items)
        async with write_queue(self._engine), self._sessions() as session, session.begin():
            events = [(item.record, item.envelope) for item in items]
            new = await record_many_in_inbox(session, self._inbox, self.name, events, all_new=all_new)
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
                    f"invalid payload: {short(exc)}",
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
                        f"handler failed: {short(exc)}",
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
        if self.stop is None:
            await asyncio.sleep(seconds)
        elif await wait_or_stop(self.stop, seconds):
            raise Stopping

    async def _handle_once(self, record: ConsumerRecord[bytes, bytes], envelope: Envelope, handler: Handler) -> bool:
        async with write_queue(self._engine), self._sessions() as session, session.begin():
            first_time = await record_in_inbox(session, self._inbox, self.name, record, envelope)
            if not first_time:
                return False
            await handler(session, envelope)
        return True
