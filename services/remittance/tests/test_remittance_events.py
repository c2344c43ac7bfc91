"""The events of a posting on the real broker: once per claim, keyed by claim, no PHI."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer
from builders.x835 import standard_file
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.relay import OutboxRelay
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1
from remittance.models import bus
from remittance_steps import X12


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
