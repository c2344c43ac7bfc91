"""Across services on the real broker: a denied claim in an 835 -> a denial in the queue -> resubmit ->
the claims service produces the frequency-7 claim with REF*F8, which passes pyx12.

Each service keeps its own database (SQLite files or PostgreSQL schemas) and only events cross between
them, published by each service's outbox relay and read by each worker's inbox consumer.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from builders.encounters import encounter
from builders.x835 import encounter_835
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import HandlerRegistry, InboxConsumer
from rcm_shared.bus.relay import OutboxRelay
from rcm_shared.bus.tables import BusTables
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine
from rcm_shared.payloads.denials import ClaimCorrection
from rcm_shared.testing import poll_until, wait_for_assignment
from rcm_shared.topics import CATALOG, consumed_by, produced_by
from sqlalchemy import select

X12VALID = shutil.which("x12valid") or str(Path(sys.executable).with_name("x12valid"))
TENANT = "org-1"


async def relay(engine: Any, tables: BusTables, kafka: KafkaSettings, service: str) -> int:
    topics = [TopicRequest(kafka.topic_prefix + t.name, t.partitions) for t in produced_by(service)]
    r = OutboxRelay(engine=engine, tables=tables, kafka=kafka, topics=topics, name=service)
    await r.start()
    try:
        return await r.run_once()
    finally:
        await r.release_lease()
        await r.stop()


async def drain(
    engine: Any, tables: BusTables, kafka: KafkaSettings, service: str, registry: HandlerRegistry, expected: int
) -> InboxConsumer:
    topics = [kafka.topic_prefix + t.name for t in consumed_by(service)]
    c = InboxConsumer(
        name=f"{service}-worker",
        engine=engine,
        tables=tables,
        kafka=kafka,
        group_id=kafka.topic_prefix + service,
        topics=topics,
        registry=registry,
        session_timeout_ms=1500,
        max_retries=1,
        retry_backoff=0.01,
    )
    await c.start()
    try:
        await wait_for_assignment(c)
        await poll_until(
            c, lambda: c.stats.handled + c.stats.duplicates + c.stats.passed_over + c.stats.dead_lettered >= expected
        )
    finally:
        await c.stop()
    assert c.stats.dead_lettered == 0, "nothing may land in a DLQ in this flow"
    return c


async def test_denied_claim_is_resubmitted_as_a_frequency_7_claim(
    db_factory: Any, kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dbs = {name: await db_factory(name) for name in ("claims", "remittance", "denials")}
    engines = {name: create_engine(db.url, schema=db.schema) for name, db in dbs.items()}
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("CLAIMS_OUTBOUND_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CLAIMS_DEFAULT_TENANT", TENANT)  # it sends under the deployment's own clearinghouse ids
    from claims.config import get_settings as claims_settings
    from denials.config import get_settings as denials_settings

    claims_settings.cache_clear()
    denials_settings.cache_clear()
    await ensure_topics(
        kafka,
        [TopicRequest(kafka.topic_prefix + t.name, t.partitions) for t in CATALOG]
        + [TopicRequest(kafka.topic_prefix + t.dlq, 1) for t in CATALOG if t.consumers],
    )

    from claims.adapters.scrub_resources import default_resources
    from claims.consumers import registry as claims_registry
    from claims.domain.encounter import ClaimCreate
    from claims.models import bus as claims_bus
    from claims.models import claim as claim_table
    from claims.models import submission
    from claims.use_cases.acknowledgments import apply_claim_status
    from claims.use_cases.charge_entry import create_claims
    from claims.use_cases.submission import prepare
    from denials.consumers import registry as denials_registry
    from denials.models import bus as denials_bus
    from denials.models import denial
    from denials.use_cases.actions import act
    from rcm_shared.unit import Actor, Units
    from remittance.models import bus as remittance_bus
    from remittance.use_cases import service_units
    from remittance.use_cases.ingestion import ingest_835

    # 1. Claims: charge entry, submission, the payer's 277CA acceptance with its claim control number.
    async with engines["claims"].begin() as conn:
        unit = Units(claims_bus, source="/claims", topic_prefix=kafka.topic_prefix).on(conn, TENANT, Actor("test"))
        (created,) = await create_claims(unit, [ClaimCreate.model_validate(encounter())], default_resources().context())
        claim_id = created["id"]
        await prepare(unit, claims_settings(), [claim_id], "filedrop")
        await apply_claim_status(
            unit.acting_as(Actor("ch")),
            claim_id,
            accepted=True,
            detail={"source": "277CA", "summary": "277CA A2:20", "codes": ["A2:20"]},
            payer_claim_control_number="PCCN0001",
        )
    # 2. Remittance: the payer's 835 denies it (CO-197, no authorization).
    (tmp_path / "denial.835").write_bytes(encounter_835(claim_id, "PCCN0001"))
    (posted,) = await ingest_835(
        service_units(engines["remittance"], kafka.topic_prefix), tmp_path / "denial.835", tenant=TENANT
    )
    assert posted.status == "posted"
    assert await relay(engines["remittance"], remittance_bus, kafka, "remittance") == 1
    assert await relay(engines["claims"], claims_bus, kafka, "claims") == 3  # entered ready, submitted, accepted
    # 3. Denials and claims workers consume: the claim is denied, the denial enters the queue once.
    await drain(engines["denials"], denials_bus, kafka, "denials", denials_registry, expected=4)
    await drain(engines["claims"], claims_bus, kafka, "claims", claims_registry, expected=1)
    async with engines["denials"].connect() as conn:
        (opened,) = list(await conn.execute(select(denial)))
    assert (opened.claim_id, opened.category, opened.amount_cents) == (claim_id, "authorization", 24550)
    # 4. The specialist resubmits with the authorization number; claims builds and sends the replacement.
    async with engines["denials"].begin() as conn:
        await act(
            Units.of_service(denials_settings(), denials_bus).on(conn, TENANT, Actor("maria")),
            denials_settings(),
            opened.id,
            "resubmit",
            note="authorization obtained",
            correction=ClaimCorrection(prior_authorization="AUTH2026"),
        )
    assert await relay(engines["denials"], denials_bus, kafka, "denials") == 2  # opened, resubmission requested
    assert await relay(engines["claims"], claims_bus, kafka, "claims") == 1  # denied
    await drain(engines["claims"], claims_bus, kafka, "claims", claims_registry, expected=1)
    async with engines["claims"].connect() as conn:
        rows = {r.id: r for r in await conn.execute(select(claim_table))}
        replacement = next(r for r in rows.values() if r.frequency == "7")
        x12 = (
            await conn.execute(select(submission.c.x12).where(submission.c.id == replacement.submission_id))
        ).scalar()
    # the original stays denied until the payer accepts its replacement
    assert rows[claim_id].state == "denied" and replacement.state == "submitted"
    assert replacement.original_claim_id == claim_id and replacement.payer_claim_control_number == "PCCN0001"
    assert "REF*F8*PCCN0001~" in x12 and "REF*G1*AUTH2026~" in x12 and ":B:7*" in x12
    path = tmp_path / "replacement.837"
    path.write_text(x12)
    out = subprocess.run([X12VALID, str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert (out.stdout + out.stderr).strip().endswith(": OK")
    # 5. The replacement's events link it to the denial.
    # the replacement entered ready, submitted (and the denied claim's event before them)
    assert await relay(engines["claims"], claims_bus, kafka, "claims") == 2
    await drain(engines["denials"], denials_bus, kafka, "denials", denials_registry, expected=3)
    async with engines["denials"].connect() as conn:
        (linked,) = list(await conn.execute(select(denial)))
    assert linked.status == "resubmitted" and linked.replacement_claim_id == replacement.id
    # 6. The payer accepts the replacement (277CA): it supersedes the original.
    async with engines["claims"].begin() as conn:
        await apply_claim_status(
            Units(claims_bus, source="/claims", topic_prefix=kafka.topic_prefix).on(conn, TENANT, Actor("ch")),
            replacement.id,
            accepted=True,
            detail={"source": "277CA", "summary": "277CA A2:20", "codes": ["A2:20"]},
            payer_claim_control_number="PCCN0002",
        )
        states = dict((await conn.execute(select(claim_table.c.id, claim_table.c.state))).tuples().all())
    assert states == {claim_id: "corrected", replacement.id: "accepted"}
    for engine in engines.values():
        await engine.dispose()
    claims_settings.cache_clear()
    denials_settings.cache_clear()
