"""Steps of a claim's way through the claims service in tests, and their `client` fixture: entry and submission
through the API, the clearinghouse's 999 and 277CA, the payer's 835 through the broker, pyx12 on the 837."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from claims.models import bus
from factory import encounter
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import InboxConsumer
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1, LinePaymentOut
from rcm_shared.testing import app_client, poll_until, wait_for_assignment
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.writer import Composite, TransactionSet, writer_for

T = {"X-Tenant-ID": "org-1"}


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


def controls(x12: str) -> tuple[str, str]:
    header = next(h for h, _s in X12Reader(x12.encode()))
    return header.group.control_number, header.control_number


def ack_999(gs06: str, st02: str, accepted: bool) -> str:
    ts = TransactionSet("999", "005010X231A1")
    ts.add("AK1", "HC", gs06, "005010X222A1")
    ts.add("AK2", "837", st02, "005010X222A1")
    if not accepted:
        ts.add("IK3", "NM1", "8", "2010", "8")
        ts.add("IK4", "9", None, "7", "XX")
    ts.add("IK5", "A" if accepted else "R", None if accepted else "5")
    ts.add("AK9", "A" if accepted else "R", "1", "1", "1" if accepted else "0")
    return writer_for(ts, sender="CLEARINGHOUSE", receiver="RCMCLINIC").render([ts])


def ack_277ca(claim_id: str, accepted: bool, pccn: str = "PAYERICN1", also: tuple[tuple[str, bool], ...] = ()) -> str:
    ts = TransactionSet("277", "005010X214")
    ts.add("BHT", "0085", "08", "ACK1", "20261120", "1200", "TH")
    ts.add("HL", "1", None, "20", "1")
    ts.add("NM1", "PR", "2", "MEDICARE PART B", None, None, None, None, "PI", "MCRB1")
    ts.add("TRN", "1", "1")
    ts.add("DTP", "050", "D8", "20261120")
    ts.add("DTP", "009", "D8", "20261120")
    ts.add("HL", "2", "1", "21", "1")
    ts.add("NM1", "41", "2", "CLINIC", None, None, None, None, "46", "RCMCLINIC")
    ts.add("TRN", "2", "BATCH1")
    ts.add("STC", Composite(("A1", "19", "PR")), "20261120", "WQ", "245.5")
    ts.add("HL", "3", "2", "19", "1")
    ts.add("NM1", "85", "2", "CLINIC", None, None, None, None, "XX", "1234567893")
    ts.add("TRN", "1", "PROV")
    for n, (patient_claim, ok) in enumerate(((claim_id, accepted), *also)):
        ts.add("HL", str(4 + n), "3", "PT")
        ts.add("NM1", "QC", "1", "DOE", "JANE", None, None, None, "MI", "W123456789")
        ts.add("TRN", "2", patient_claim)
        if ok:
            ts.add("STC", Composite(("A2", "20", "PR")), "20261120", "WQ", "245.5")
            ts.add("REF", "1K", pccn)
        else:
            ts.add("STC", Composite(("A7", "562", "85")), "20261120", "U", "245.5")
    return writer_for(ts, sender="CLEARINGHOUSE", receiver="RCMCLINIC").render([ts])


def adjudicated(claim_id: str, paid: int, lines_paid: list[int]) -> ClaimAdjudicatedV1:
    return ClaimAdjudicatedV1(
        remittance_id="R1",
        claim_id=claim_id,
        payer_id="MCRB1",
        payer_claim_control_number="PAYERICN1",
        status_code="1" if paid else "4",
        charge_cents=24550,
        paid_cents=paid,
        patient_responsibility_cents=0,
        contractual_cents=24550 - paid,
        adjustments=[AdjustmentOut(group="CO", reason="45" if paid else "50", amount_cents=24550 - paid)],
        lines=[
            LinePaymentOut(
                line_number=n + 1,
                line_control_number=f"{claim_id}-{n + 1}",
                procedure_code="99214",
                charge_cents=0,
                paid_cents=p,
            )
            for n, p in enumerate(lines_paid)
        ],
    )


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
