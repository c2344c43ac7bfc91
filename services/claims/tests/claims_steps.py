"""Steps of a claim's way through the claims service in tests, and their `client` fixture: entry and submission
through the API, events through the broker to the claims worker, pyx12 on the 837. Their data: ``builders``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from builders import T
from builders.encounters import encounter
from claims.models import bus
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import InboxConsumer
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.testing import app_client, poll_until, wait_for_assignment

X12VALID = shutil.which("x12valid") or str(Path(sys.executable).with_name("x12valid"))


def pyx12(text: str, tmp_path: Path) -> str:
    path = tmp_path / "check.x12"
    path.write_text(text)
    out = subprocess.run([X12VALID, str(path)], capture_output=True, text=True, cwd=tmp_path)
    return (out.stdout + out.stderr).strip()


async def create(client: Any, **changes: Any) -> dict[str, Any]:
    r = await client.post("/v1/claims", json=encounter(**changes), headers=T)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def submit(client: Any, claim_id: str) -> dict[str, Any]:
    r = await client.post(f"/v1/claims/{claim_id}/submit", headers=T)
    assert r.status_code == 200, r.text
    return dict(r.json()[0])


async def consume(client: Any, kafka: KafkaSettings, envelopes: list[tuple[str, Envelope, str]]) -> InboxConsumer:
    """Publish (topic, envelope, key) to the real broker and run the claims worker's consumer over them."""
    from aiokafka import AIOKafkaProducer
    from claims.consumers import registry

    topics = sorted({kafka.topic_prefix + t for t, _e, _k in envelopes})
    await ensure_topics(kafka, [TopicRequest(t, 3) for t in topics] + [TopicRequest(t + ".dlq", 1) for t in topics])
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    for topic, env, key in envelopes:
        await producer.send_and_wait(
            kafka.topic_prefix + topic, env.to_value(), key=key.encode(), headers=env.to_headers()
        )
    await producer.stop()
    consumer = InboxConsumer(
        name="claims-worker",
        engine=client.app.state.engine,
        tables=bus,
        kafka=kafka,
        group_id=kafka.topic_prefix + "claims",
        topics=topics,
        registry=registry,
        session_timeout_ms=1500,
        max_retries=1,
        retry_backoff=0.01,
    )
    await consumer.start()
    try:
        await wait_for_assignment(consumer)
        await poll_until(
            consumer,
            lambda: consumer.stats.handled + consumer.stats.duplicates + consumer.stats.dead_lettered >= len(envelopes),
        )
    finally:
        await consumer.stop()
    return consumer


@pytest.fixture(name="client")
async def claims_client(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka: KafkaSettings
) -> AsyncIterator[Any]:
    """The claims API over a fresh database (SQLite and PostgreSQL), its events under the test broker's prefix."""
    db = await db_factory("claims")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("CLAIMS_DATABASE_URL", db.url)
    monkeypatch.setenv("CLAIMS_DB_SCHEMA", db.schema)
    monkeypatch.setenv("CLAIMS_OUTBOUND_DIR", str(tmp_path / "outbound"))
    monkeypatch.setenv("CLAIMS_DEFAULT_TENANT", "org-1")
    from claims.adapters.scrub_resources import default_resources
    from claims.config import get_settings
    from claims.main import create_app

    async with app_client(create_app, get_settings.cache_clear, default_resources.cache_clear) as c:
        yield c
