"""Operator actions on a service's outbox and on dead-letter topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rcm_shared.bus.relay import mark_for_replay
from rcm_shared.bus.tables import bus_tables
from rcm_shared.config import BaseServiceSettings, KafkaSettings
from rcm_shared.db import create_engine, make_metadata
from sqlalchemy import func, make_url, select

_TABLES = bus_tables(make_metadata())


async def replay(settings: BaseServiceSettings, since: datetime, topic: str | None) -> int:
    retention = settings.inbox_retention
    if retention is not None and since < datetime.now(UTC) - retention:
        raise ValueError(
            f"--since {since.isoformat()} is before the inbox retention of {retention.days} day(s): the consumers "
            "would dead-letter those events (their inbox cannot tell whether they were handled already)"
        )
    engine = create_engine(settings.database_url, schema=settings.db_schema)
    try:
        return await mark_for_replay(engine, _TABLES, since=since, topic=topic)
    finally:
        await engine.dispose()


def database_exists(settings: BaseServiceSettings) -> bool:
    """False for an embedded SQLite file not created yet, which connecting to would create empty."""
    if not settings.is_sqlite:
        return True
    path = make_url(settings.database_url).database
    return not path or path == ":memory:" or Path(path).exists()


def first_line(exc: BaseException) -> str:
    """A database error's own message without SQLAlchemy's statement and background link."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


async def outbox_status(settings: BaseServiceSettings) -> dict[str, Any]:
    o = _TABLES.outbox
    engine = create_engine(settings.database_url, schema=settings.db_schema)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(o.c.topic, func.count(), func.count(o.c.published_at)).group_by(o.c.topic))
            ).all()
    finally:
        await engine.dispose()
    return {r[0]: {"total": r[1], "published": r[2], "pending": r[1] - r[2]} for r in rows}


async def read_dlq(kafka: KafkaSettings, dlq: str, limit: int) -> list[dict[str, Any]]:
    """Every message in the DLQ topic, oldest first (reads to the end; joins no group)."""
    return await read_dlqs(kafka, [dlq], limit)


async def read_dlqs(kafka: KafkaSettings, dlqs: list[str], limit: int) -> list[dict[str, Any]]:
    """The messages of several DLQ topics (those that exist), in the given topic order and oldest first in each,
    read by one consumer so that the wait for the end of the data is paid once, not per topic."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        if any(not consumer.partitions_for_topic(dlq) for dlq in dlqs):
            await consumer._client.force_metadata_update()
        tps = [TopicPartition(dlq, p) for dlq in dlqs for p in sorted(consumer.partitions_for_topic(dlq) or ())]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while len(out) < limit:
            batch = await consumer.getmany(timeout_ms=1000)
            if not batch:
                break
            for tp, records in batch.items():
                for r in records:
                    headers = {k: v.decode(errors="replace") for k, v in (r.headers or ())}
                    out.append(
                        {
                            "partition": tp.partition,
                            "offset": r.offset,
                            "key": r.key.decode(errors="replace") if r.key else None,
                            "event_id": headers.get("ce_id"),
                            "event_type": headers.get("ce_type"),
                            "reason": headers.get("dlq-reason"),
                            "original": f"{headers.get('dlq-original-topic')}"
                            f"[{headers.get('dlq-original-partition')}]@{headers.get('dlq-original-offset')}",
                            "attempts": headers.get("dlq-attempts"),
                            "failed_at": headers.get("dlq-failed-at"),
                            "_dlq": tp.topic,
                            "_headers": r.headers,
                            "_value": r.value,
                        }
                    )
        order = {dlq: n for n, dlq in enumerate(dlqs)}
        out.sort(key=lambda m: (order[m["_dlq"]], m["partition"], m["offset"]))
        return out[:limit]
    finally:
        await consumer.stop()


async def redrive(kafka: KafkaSettings, dlq: str, event_ids: set[str] | None) -> int:
    """Re-publish DLQ messages to their original topic (all, or those with the given event ids).

    The original event id is kept, so a message that was in fact handled before is dropped by the inbox.
    """
    messages = await read_dlq(kafka, dlq, limit=1_000_000)
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    sent = 0
    try:
        for m in messages:
            if event_ids is not None and m["event_id"] not in event_ids:
                continue
            headers = [(k, v) for k, v in m["_headers"] if not k.startswith("dlq-")]
            topic = m["original"].split("[", 1)[0]
            await producer.send_and_wait(
                topic, value=m["_value"], key=m["key"].encode() if m["key"] else None, headers=headers
            )
            sent += 1
    finally:
        await producer.stop()
    return sent


def public(m: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in m.items() if not k.startswith("_")})
