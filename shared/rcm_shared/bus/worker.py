"""The consumer worker process of a service: relay + consumer + heartbeat, stopped by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import HandlerRegistry, InboxConsumer, prune_inbox
from rcm_shared.bus.relay import OutboxRelay
from rcm_shared.bus.tables import BusTables
from rcm_shared.config import BaseServiceSettings
from rcm_shared.db import create_engine, database_unreachable, outage_delay, read_connection, write_transaction
from rcm_shared.metrics import serve_worker_metrics
from rcm_shared.runtime import tune_gc, wait_or_stop
from rcm_shared.topics import consumed_by, produced_by
from rcm_shared.tracing import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 2.0
HEARTBEAT_FRESH = timedelta(seconds=10)
PRUNE_EVERY = 600.0  # seconds between two passes over the inbox, when it has a retention


@dataclass(frozen=True)
class WorkerSpec:
    """What a service's worker does: the tables it owns and the handlers of the events it consumes."""

    settings: BaseServiceSettings
    tables: BusTables
    registry: HandlerRegistry
    # Service-specific background loops (e.g. an inbound folder watcher): task(stop, engine).
    background: Sequence[Callable[[asyncio.Event, AsyncEngine], Coroutine[Any, Any, None]]] = ()

    @property
    def produced(self) -> list[TopicRequest]:
        s = self.settings
        return [TopicRequest(s.topic(t.name), t.partitions, t.config) for t in produced_by(s.service_name)]

    @property
    def consumed(self) -> list[TopicRequest]:
        s = self.settings
        return [TopicRequest(s.topic(t.name), t.partitions, t.config) for t in consumed_by(s.service_name)]

    @property
    def dead_letter(self) -> list[TopicRequest]:
        return [TopicRequest(t.name + ".dlq", 1) for t in self.consumed]


def worker_id(service: str) -> str:
    return f"{service}@{socket.gethostname()}:{os.getpid()}"


async def write_heartbeat(
    engine: AsyncEngine, tables: BusTables, wid: str, *, broker_ok: bool, consumer: InboxConsumer | None
) -> None:
    hb = tables.heartbeat
    assigned = len(consumer.assignment) if consumer else 0
    detail = {
        "stats": dict(consumer.stats.__dict__) if consumer else {},
        "pid": os.getpid(),
        "expects_partitions": consumer is not None,
    }
    async with write_transaction(engine) as conn:
        await conn.execute(delete(hb).where(hb.c.worker_id == wid))
        await conn.execute(
            insert(hb).values(
                worker_id=wid,
                broker_ok=1 if broker_ok else 0,
                assigned_partitions=assigned,
                detail=detail,
                updated_at=datetime.now(UTC),
            )
        )


async def consumer_ready(engine: AsyncEngine, tables: BusTables) -> tuple[bool, str]:
    """Ready when some worker reported, within the last seconds, a broker connection and partitions."""
    hb = tables.heartbeat
    since = datetime.now(UTC) - HEARTBEAT_FRESH
    async with read_connection(engine) as conn:
        rows = (await conn.execute(select(hb).where(hb.c.updated_at >= since))).all()
    if not rows:
        return False, "no worker heartbeat in the last 10 s"
    if not any(r.broker_ok for r in rows):
        return False, "worker alive but the broker is not reachable"
    if not any(r.broker_ok and (r.assigned_partitions > 0 or not r.detail.get("expects_partitions")) for r in rows):
        return False, "worker alive but no partitions assigned yet"
    return True, f"{len(rows)} worker(s), {sum(r.assigned_partitions for r in rows)} partition(s)"


async def _every(stop: asyncio.Event, seconds: float, step: Callable[[], Awaitable[None]], failed: str) -> None:
    """Run ``step`` now and every ``seconds`` until ``stop``; a failed step is logged and tried at the next."""
    while not stop.is_set():
        try:
            await step()
        except Exception as exc:  # noqa: BLE001 - logged; the next turn tries again
            log.warning("periodic step failed", extra={"task": failed, "error": exc})
        await wait_or_stop(stop, seconds)


async def _outlasting_outages(stop: asyncio.Event, name: str, task: Callable[[], Awaitable[None]]) -> None:
    """Run ``task`` until it returns; if it fails because the database cannot be reached (a restart, a
    failover), wait and run it again (``outage_delay``: from 0.5 s up to 5 s), so a database outage does not take
    the worker down with it. Any other failure stops the worker, for its supervisor to restart."""
    waits = 0
    while True:
        try:
            await task()
            return
        except Exception as exc:
            if stop.is_set() or not database_unreachable(exc):
                raise
            waits += 1
            delay = outage_delay(0.5, waits)
            log.warning(
                "database unreachable: running the task again",
                extra={"task": name, "delay_s": round(delay, 1), "error": exc},
            )
            if await wait_or_stop(stop, delay):
                return


async def run_worker(spec: WorkerSpec, stop: asyncio.Event | None = None) -> None:
    s = spec.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    configure_tracing(s.service_name, "worker")
    engine = create_engine(s.database_url, schema=s.db_schema, pool_size=s.db_pool_size)
    wid = worker_id(s.service_name)
    serve_worker_metrics(s.worker_metrics_port, s.metrics_host)
    await ensure_topics(s.kafka, [*spec.produced, *spec.consumed, *spec.dead_letter])
    relay = OutboxRelay(
        engine=engine,
        tables=spec.tables,
        kafka=s.kafka,
        topics=spec.produced,
        name=s.service_name,
        batch_size=s.relay_batch_size,
        poll_interval=s.relay_poll_interval_ms / 1000,
        broker_check_interval=s.relay_broker_check_interval_s,
        replay_horizon=s.inbox_retention,
    )
    consumer: InboxConsumer | None = None
    if spec.consumed:
        consumer = InboxConsumer(
            name=s.consumer_group,
            engine=engine,
            tables=spec.tables,
            kafka=s.kafka,
            group_id=s.consumer_group,
            topics=[t.name for t in spec.consumed],
            registry=spec.registry,
            max_retries=s.consumer_max_retries,
            retry_backoff=s.consumer_retry_backoff_ms / 1000,
            session_timeout_ms=s.consumer_session_timeout_ms,
            batch_size=s.consumer_batch_size,
            inbox_retention=s.inbox_retention,
        )

    async def heartbeat() -> None:  # a missed heartbeat only makes /readyz say so
        await write_heartbeat(engine, spec.tables, wid, broker_ok=relay.broker_ok, consumer=consumer)

    async def prune() -> None:  # rows not removed stay until the next pass
        assert s.inbox_retention is not None
        await prune_inbox(engine, spec.tables, retention=s.inbox_retention, service=s.service_name)

    tune_gc(s.gc_gen0_threshold)
    log.info("worker starting", extra={"worker": wid, "produced": len(spec.produced), "consumed": len(spec.consumed)})
    tasks = [
        asyncio.create_task(relay.run(stop), name="relay"),
        asyncio.create_task(_every(stop, HEARTBEAT_EVERY, heartbeat, "heartbeat not written"), name="heartbeat"),
    ]
    if consumer is not None:
        tasks.append(asyncio.create_task(consumer.run(stop), name="consumer"))
        if s.inbox_retention is not None:
            tasks.append(asyncio.create_task(_every(stop, PRUNE_EVERY, prune, "inbox not pruned"), name="inbox-prune"))
    for i, loop_fn in enumerate(spec.background):
        name = f"background-{i} ({getattr(loop_fn, '__name__', 'task')})"
        tasks.append(asyncio.create_task(_outlasting_outages(stop, name, partial(loop_fn, stop, engine)), name=name))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                stop.set()
                raise task.exception()  # type: ignore[misc]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await relay.release_lease()
        try:
            async with write_transaction(engine) as conn:
                await conn.execute(delete(spec.tables.heartbeat).where(spec.tables.heartbeat.c.worker_id == wid))
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            log.warning("heartbeat row left (database unreachable); it ages out", extra={"worker": wid, "error": exc})
        await engine.dispose()
        shutdown_tracing()
        log.info("worker stopped", extra={"worker": wid})
