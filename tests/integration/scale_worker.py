"""A worker process for the scale-out test: an InboxConsumer in a shared group, recording what it handles."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from denials.models import bus
from rcm_shared.bus.consumer import HandlerRegistry, InboxConsumer
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine
from rcm_shared.events import Envelope
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncSession

SEEN = Table(
    "scale_seen",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(40), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("worker", String(10), nullable=False),
)


async def main(bootstrap: str, topic: str, group: str, url: str, schema: str, name: str, stop_file: str) -> None:
    engine = create_engine(url, schema=schema)
    async with engine.begin() as conn:
        await conn.run_sync(SEEN.metadata.create_all)
    registry = HandlerRegistry()

    @registry.on("test.step")
    async def step(session: AsyncSession, env: Envelope) -> None:
        data = env.data
        await session.execute(SEEN.insert().values(key=data["key"], seq=data["seq"], worker=name))

    consumer = InboxConsumer(
        name="scale-test",
        engine=engine,
        tables=bus,
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        group_id=group,
        topics=[topic],
        registry=registry,
        session_timeout_ms=2000,
    )
    await consumer.start()
    try:
        marker = Path(stop_file).with_name(f"{name}.partitions")
        while not Path(stop_file).exists():
            await consumer.poll_once(timeout_ms=200)
            # what this member holds now, for the test to see the rebalance happen
            marker.write_text(",".join(sorted(str(tp.partition) for tp in consumer.assignment)))
    finally:
        await consumer.stop()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:8]))
