"""The remittance API as an integration engineer calls it, and its events on the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from builders.x835 import standard_file
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.relay import OutboxRelay
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1
from rcm_shared.testing import app_client
from remittance.models import bus


@pytest.fixture
async def client(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka: KafkaSettings
) -> AsyncIterator[Any]:
    db = await db_factory("remittance")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("REMITTANCE_DATABASE_URL", db.url)
    monkeypatch.setenv("REMITTANCE_DB_SCHEMA", db.schema)
    monkeypatch.setenv("REMITTANCE_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("REMITTANCE_MAX_UPLOAD_MB", "1")
    from remittance.config import get_settings
    from remittance.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c


X12 = {"content-type": "application/edi-x12", "X-Tenant-ID": "org-1"}
T = {"X-Tenant-ID": "org-1"}


async def test_post_raw_and_multipart_then_query(client: Any) -> None:
    r = await client.post("/v1/remittances", content=standard_file(), headers=X12)
    assert r.status_code == 201, r.text
    (posted,) = r.json()["remittances"]
    assert posted["status"] == "posted" and posted["total_paid_cents"] == 13500
    again = await client.post(
        "/v1/remittances", files={"file": ("era.835", standard_file(), "text/plain")}, headers={"X-Tenant-ID": "org-1"}
    )
    assert again.status_code == 200 and again.json()["remittances"][0]["status"] == "duplicate"

    detail = await client.get(f"/v1/remittances/{posted['remittance_id']}", headers=X12)
    assert detail.json()["trace_number"] == "EFT0001"
    claims = (await client.get(f"/v1/remittances/{posted['remittance_id']}/claims", headers=X12)).json()
    assert [c["claim_id"] for c in claims] == ["PCN0001", "PCN0002"]
    assert claims[0]["lines"][0]["allowed_cents"] == 10000
    postings = (await client.get("/v1/claims/PCN0001/postings", headers=X12)).json()
    assert postings["patient_responsibility_cents"] == 2000 and postings["totals_cents"]["payment"] == 8000
    listing = (await client.get("/v1/remittances?payer_id=ACME01", headers=X12)).json()
    assert len(listing) == 1
    totals = (await client.get("/v1/reports/payer-totals", headers=X12)).json()
    assert totals == [
        {
            "payer_id": "ACME01",
            "remittances": 1,
            "paid_cents": 13500,
            "contractual_cents": 4500,
            "patient_responsibility_cents": 3500,
            "provider_adjustment_cents": 0,
        }
    ]
    items = (await client.get("/v1/review-items", headers=X12)).json()
    assert {i["kind"] for i in items} == {"unmatched_claim"}
    resolved = await client.post(
        f"/v1/review-items/{items[0]['id']}/resolve", json={"note": "charge entered late"}, headers=T
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved", resolved.text
    conflict = await client.post(f"/v1/review-items/{items[0]['id']}/resolve", json={"note": "x"}, headers=T)
    assert conflict.status_code == 200  # resolving twice is idempotent


async def test_bad_input_gets_problem_details_and_nothing_is_kept(client: Any) -> None:
    bad = standard_file().replace(b"CLP*PCN0001*1*125*", b"CLP*PCN0001*1*12X5*")
    r = await client.post("/v1/remittances", content=bad, headers=X12)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["detail"].endswith("CLP, element 03: not a decimal: '12X5'")
    assert problem["x12"]["segment_id"] == "CLP" and problem["x12"]["element"] == 3
    assert (await client.get("/v1/remittances", headers=X12)).json() == []
    too_big = await client.post("/v1/remittances", content=b"ISA" + b"x" * (1024 * 1024 + 10), headers=X12)
    assert too_big.status_code == 413
    wrong_type = await client.post("/v1/remittances", json={"a": 1}, headers=T)
    assert wrong_type.status_code == 415
    empty = await client.post("/v1/remittances", content=b"", headers=X12)
    assert empty.status_code == 422
    missing = await client.get("/v1/remittances/nope", headers=X12)
    assert missing.status_code == 404 and missing.json()["title"] == "Not found"
    bad_deposit = await client.post(
        "/v1/deposits", json={"trace_number": "T", "amount_cents": -1, "deposit_date": "2026-02-30"}, headers=T
    )
    assert bad_deposit.status_code == 422
    assert {e["field"] for e in bad_deposit.json()["errors"]} == {"amount_cents", "deposit_date"}
    bad_tenant = await client.get("/v1/remittances", headers={"X-Tenant-ID": "../etc"})
    assert bad_tenant.status_code == 400


async def test_other_tenant_gets_404(client: Any) -> None:
    r = await client.post("/v1/remittances", content=standard_file(), headers=X12)
    rid = r.json()["remittances"][0]["remittance_id"]
    other = {"X-Tenant-ID": "org-2"}
    assert (await client.get(f"/v1/remittances/{rid}", headers=other)).status_code == 404
    assert (await client.get(f"/v1/remittances/{rid}/claims", headers=other)).status_code == 404
    assert (await client.get("/v1/claims/PCN0001/postings", headers=other)).status_code == 404


async def test_deposit_endpoints(client: Any) -> None:
    await client.post("/v1/remittances", content=standard_file(), headers=X12)
    r = await client.post(
        "/v1/deposits", json={"trace_number": "EFT0001", "amount_cents": 13500, "deposit_date": "2026-11-21"}, headers=T
    )
    assert r.status_code == 201 and r.json()["remittance_id"] is not None
    again = await client.post(
        "/v1/deposits", json={"trace_number": "EFT0001", "amount_cents": 13500, "deposit_date": "2026-11-21"}, headers=T
    )
    assert again.status_code == 200
    conflict = await client.post(
        "/v1/deposits", json={"trace_number": "EFT0001", "amount_cents": 1, "deposit_date": "2026-11-21"}, headers=T
    )
    assert conflict.status_code == 409
    rec = (await client.get("/v1/deposits/reconciliation", headers=X12)).json()
    assert rec == {"unmatched_deposits": [], "unmatched_remittances": []}


async def test_posted_claims_reach_the_broker_once_each(client: Any, kafka: KafkaSettings) -> None:
    r = await client.post("/v1/remittances", content=standard_file(), headers=X12)
    assert r.status_code == 201
    await client.post("/v1/remittances", content=standard_file(), headers=X12)  # a duplicate: no new events
    topic = kafka.topic_prefix + "remittance.claim.adjudicated"
    topics = [
        TopicRequest(kafka.topic_prefix + t, 3)
        for t in ("remittance.claim.adjudicated", "remittance.provider.adjusted")
    ]
    relay = OutboxRelay(engine=client.app.state.engine, tables=bus, kafka=kafka, topics=topics, name="remittance")
    await ensure_topics(kafka, topics)
    await relay.start()
    assert await relay.run_once() == 2
    await relay.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=topic + ".check",
        session_timeout_ms=1500,
        heartbeat_interval_ms=300,
    )
    await consumer.start()
    seen: list[ClaimAdjudicatedV1] = []
    try:
        while len(seen) < 2:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for m in records:
                    env = Envelope.from_kafka(m.headers, m.value)
                    assert m.key == env.payload_as(ClaimAdjudicatedV1).claim_id.encode()
                    assert env.tenantid == "org-1"
                    seen.append(env.payload_as(ClaimAdjudicatedV1))
    finally:
        await consumer.stop()
    assert sorted((p.claim_id, p.paid_cents, p.patient_responsibility_cents) for p in seen) == [
        ("PCN0001", 8000, 2000),
        ("PCN0002", 5500, 1500),
    ]
    # No PHI in the event: the patient's name and member id stay in the 835.
    assert all("DOE" not in p.model_dump_json() and "W123456789" not in p.model_dump_json() for p in seen)
