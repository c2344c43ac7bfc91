"""Two worker processes of one service share a topic (one consumer group): with a rebalance in the
middle of the flow, no message is handled twice, none is lost, and each claim's events keep their order
(keys are claim ids, so one claim's events live on one partition). SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine
from rcm_shared.events import Envelope
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from scale_worker import SEEN

ROOT = Path(__file__).resolve().parents[2]
CLAIMS, STEPS = 30, 10


def _start(kafka: KafkaSettings, topic: str, db: Any, name: str, stop: Path) -> subprocess.Popen[bytes]:
    script = Path(__file__).parent / "scale_worker.py"
    args = [kafka.bootstrap_servers, topic, f"{topic}-group", db.url, db.schema, name, str(stop)]
    return subprocess.Popen([sys.executable, str(script), *args], cwd=ROOT, stderr=subprocess.PIPE)


async def _rows(engine: Any) -> list[Any]:
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(select(SEEN).order_by(SEEN.c.id)))
    except Exception:
        return []


async def _until(engine: Any, done: Any, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    rows = await _rows(engine)
    while not done(rows) and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        rows = await _rows(engine)
    return rows


async def test_two_workers_share_a_topic_without_loss_duplication_or_reordering(
    db_factory: Any, kafka: KafkaSettings, tmp_path: Path
) -> None:
    db = await db_factory("denials")
    engine = create_engine(db.url, schema=db.schema)
    topic = kafka.topic_prefix + "scale.claims"
    await ensure_topics(kafka, [TopicRequest(topic, 3)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()

    async def send(steps: range) -> None:
        for seq in steps:
            for c in range(CLAIMS):
                env = Envelope(source="/t", type="test.step", tenantid="org-1", data={"key": f"C{c}", "seq": seq})
                await producer.send(topic, env.to_value(), key=f"C{c}".encode(), headers=env.to_headers())
        await producer.flush()

    stop = tmp_path / "stop"
    first = _start(kafka, topic, db, "A", stop)
    second = None
    try:
        await send(range(0, STEPS // 2))
        await _until(engine, lambda rows: len(rows) >= 20, 60)  # A is consuming
        second = _start(kafka, topic, db, "B", stop)  # the group rebalances while events flow
        deadline = time.monotonic() + 60
        held = {n: tmp_path / f"{n}.partitions" for n in ("A", "B")}
        while time.monotonic() < deadline:  # until the partitions are shared between both members
            parts = {n: set(p.read_text().split(",")) - {""} if p.exists() else set() for n, p in held.items()}
            if parts["A"] and parts["B"] and not parts["A"] & parts["B"] and len(parts["A"] | parts["B"]) == 3:
                break
            await asyncio.sleep(0.2)
        await send(range(STEPS // 2, STEPS))
        rows = await _until(engine, lambda rows: any(r.worker == "B" for r in rows) and len(rows) >= CLAIMS * STEPS, 90)
    finally:
        stop.touch()
        for proc in (first, second):
            if proc is not None:
                _out, err = proc.communicate(timeout=60)
                assert proc.returncode == 0, err.decode()[-2000:]
        await producer.stop()
    pairs = [(r.key, r.seq) for r in rows]
    assert len(pairs) == CLAIMS * STEPS, f"{len(pairs)} handled"  # none lost, none handled twice
    assert len(set(pairs)) == len(pairs)
    assert {r.worker for r in rows} == {"A", "B"}  # both processes took part
    for c in range(CLAIMS):
        assert [r.seq for r in rows if r.key == f"C{c}"] == list(range(STEPS))  # per-claim order held
    await engine.dispose()
