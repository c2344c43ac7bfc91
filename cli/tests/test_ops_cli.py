"""`rcm events status` and `rcm dlq list` as a newcomer first runs them: no flags, every service or topic."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from click.testing import Result
from rcm_cli.main import app
from rcm_cli.supervisor import all_topics
from rcm_shared.bus.admin import ensure_topics
from rcm_shared.bus.outbox import Outbox
from rcm_shared.bus.tables import bus_tables
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine, make_metadata
from rcm_shared.events import Envelope
from rcm_shared.topics import CATALOG, dlq_topic
from sqlalchemy import update
from typer.testing import CliRunner


async def rcm(*args: str) -> Result:
    # the commands run their own event loop (asyncio.run), so not on the test's
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def _outbox_rows(db: Any, topic: str, count: int, published: int) -> None:
    tables = bus_tables(make_metadata())
    engine = create_engine(db.url, schema=db.schema)
    try:
        async with engine.begin() as conn:
            for _ in range(count):
                env = Envelope(source="/claims", type="claim.status_changed", tenantid="org-1", data={})
                await Outbox(tables).add(conn, env, topic=topic, key="c1")
            first = tables.outbox.c.id <= published
            await conn.execute(update(tables.outbox).where(first).values(published_at=datetime.now(UTC)))
    finally:
        await engine.dispose()


async def test_events_status_shows_every_service_unless_one_is_named(
    db_factory: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    claims = await db_factory("claims")  # type: ignore[misc]
    denials = await db_factory("denials")  # type: ignore[misc]
    for name, db in (("CLAIMS", claims), ("DENIALS", denials)):
        monkeypatch.setenv(f"{name}_DATABASE_URL", db.url)
        monkeypatch.setenv(f"{name}_DB_SCHEMA", db.schema)
    # eligibility and remittance keep the embedded default: a var folder where nothing has run yet
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path / "fresh-var"))
    await _outbox_rows(claims, "claims.claim.status-changed", count=3, published=2)

    result = await rcm("events", "status")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "eligibility",
        "  no database yet (`rcm run` or `rcm migrate` creates it)",
        "claims",
        "  claims.claim.status-changed: 2 published, 1 pending",
        "remittance",
        "  no database yet (`rcm run` or `rcm migrate` creates it)",
        "denials",
        "  no events in its outbox",
    ]
    assert not (tmp_path / "fresh-var" / "eligibility.db").exists()  # looking creates no empty database

    narrowed = await rcm("events", "status", "-s", "claims")
    assert narrowed.exit_code == 0, narrowed.output
    assert narrowed.output.splitlines() == ["claims", "  claims.claim.status-changed: 2 published, 1 pending"]

    (tmp_path / "fresh-var").mkdir()
    (tmp_path / "fresh-var" / "remittance.db").touch()  # a file, but not a migrated database
    broken = await rcm("events", "status")
    assert broken.exit_code == 1 and "denials\n  no events in its outbox" in broken.output
    assert "remittance\n  cannot read its outbox: OperationalError: no such table: outbox_event" in broken.output

    unknown = await rcm("events", "status", "-s", "billing")
    assert unknown.exit_code == 2 and "unknown service 'billing'" in unknown.output


async def _dead_letter(kafka: KafkaSettings, topic: str, event_id: str) -> None:
    producer = AIOKafkaProducer(**kafka.client_kwargs())
    await producer.start()
    try:
        headers = [
            ("ce_id", event_id.encode()),
            ("ce_type", b"claim.status_changed"),
            ("dlq-reason", b"handler failed: RuntimeError: test"),
            ("dlq-original-topic", (kafka.topic_prefix + topic).encode()),
            ("dlq-original-partition", b"0"),
            ("dlq-original-offset", b"7"),
            ("dlq-attempts", b"3"),
        ]
        await producer.send_and_wait(kafka.topic_prefix + dlq_topic(topic), b"{}", key=b"c1", headers=headers)
    finally:
        await producer.stop()


async def test_dlq_list_reads_every_dead_letter_topic_and_counts_them(
    kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ensure_topics(kafka, all_topics(kafka))
    await _dead_letter(kafka, "claims.claim.status-changed", "e1")
    await _dead_letter(kafka, "claims.claim.status-changed", "e2")
    await _dead_letter(kafka, "remittance.claim.adjudicated", "e3")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    dead_letter_topics = sum(1 for t in CATALOG if t.consumers)

    every = await rcm("dlq", "list")
    assert every.exit_code == 0, every.output
    assert sorted(json.loads(line)["event_id"] for line in every.stdout.splitlines()) == ["e1", "e2", "e3"]
    assert every.stderr == f"3 dead letters in {dead_letter_topics} dead-letter topics\n"

    # the original topic or its dead-letter topic's own name: the same messages
    for name in ("claims.claim.status-changed", "claims.claim.status-changed.dlq"):
        one = await rcm("dlq", "list", "--topic", name)
        assert one.exit_code == 0, one.output
        assert [json.loads(line)["event_id"] for line in one.stdout.splitlines()] == ["e1", "e2"]
        assert one.stderr == "2 dead letters in claims.claim.status-changed.dlq\n"

    none = await rcm("dlq", "list", "--topic", "denials.resubmission.requested")
    assert none.exit_code == 0 and none.stdout == ""
    assert none.stderr == "0 dead letters in denials.resubmission.requested.dlq\n"

    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix + "nothing-yet.")  # no topic exists there
    empty = await rcm("dlq", "list")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert empty.stderr == f"0 dead letters in {dead_letter_topics} dead-letter topics\n"
