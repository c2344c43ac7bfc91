"""Each tenant's practice (eligibility/use_cases/practice.py): ``practice.changed`` stored, newer versions only,
idempotent, never across tenants; a billing provider no 270 can carry refused. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from eligibility.domain.inquiry import practice_provider
from eligibility.models import bus, practice_profile
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import InboxConsumer, PermanentError
from rcm_shared.config import KafkaSettings
from rcm_shared.db import session_factory
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import PracticeAddress, PracticeChangedV1, PracticeProvider
from rcm_shared.testing import consume_until
from sqlalchemy import select

NPI_A, NPI_B, NPI_A2 = "1234567893", "1987654328", "1111111112"
TODAY = date.today()


def practice(
    tenant: str, version: int, npi: str, name: str, *, effective_from: date = TODAY - timedelta(days=30), **more: Any
) -> PracticeChangedV1:
    """A practice as the claims service announces it; ``more``: the billing provider's other fields."""
    return PracticeChangedV1(
        tenant_id=tenant,
        version=version,
        effective_from=effective_from,
        legal_name=name + " LLC",
        statement_name=name,
        statement_address=PracticeAddress(line1="1 Main St", city="Springfield", state="IL", postal_code="62701"),
        statement_phone="(800) 555-0100",
        billing_provider=PracticeProvider(npi=npi, name=name, **more),
    )


async def deliver(client: Any, event: PracticeChangedV1, tenant: str | None = None) -> None:
    """The eligibility worker's handler, in a transaction of its own, for ``event`` sent under ``tenant``."""
    from eligibility.consumers import registry

    handler = registry.get(PracticeChangedV1.event_type, PracticeChangedV1.schema_version)
    assert handler is not None, "eligibility does not read practice.changed"
    envelope = Envelope.wrap(event, source="/claims", tenant_id=tenant or event.tenant_id)
    async with session_factory(client.app.state.engine)() as session, session.begin():
        await handler(session, envelope)


async def profiles(client: Any) -> list[tuple[str, int, str, str]]:
    async with client.app.state.engine.connect() as conn:
        rows = await conn.execute(select(practice_profile).order_by(practice_profile.c.tenant_id, "version"))
        return [(r.tenant_id, r.version, r.provider_npi, r.provider_name) for r in rows]


async def test_the_newest_version_is_stored_an_older_or_repeated_one_changes_nothing(client: Any) -> None:
    await deliver(client, practice("clinic-a", 3, NPI_A, "Valley Family Clinic"))
    assert await profiles(client) == [("clinic-a", 3, NPI_A, "Valley Family Clinic")]
    await deliver(client, practice("clinic-a", 5, NPI_A2, "Valley Clinic North"))
    await deliver(client, practice("clinic-a", 4, NPI_B, "Late Arrival"))  # older, late: ignored
    await deliver(client, practice("clinic-a", 5, NPI_B, "Redelivered"))  # the same version again: ignored
    await deliver(client, practice("clinic-a", 3, NPI_A, "Valley Family Clinic"))
    await deliver(client, practice("clinic-b", 1, NPI_B, "Lakeside Pediatrics"))  # each tenant its own versions
    assert await profiles(client) == [
        ("clinic-a", 3, NPI_A, "Valley Family Clinic"),
        ("clinic-a", 5, NPI_A2, "Valley Clinic North"),
        ("clinic-b", 1, NPI_B, "Lakeside Pediatrics"),
    ]


async def test_a_profile_of_another_tenant_or_no_270_can_carry_is_dead_lettered_and_stores_nothing(
    client: Any,
) -> None:
    with pytest.raises(PermanentError, match="carries the profile of tenant clinic-b"):
        await deliver(client, practice("clinic-b", 1, NPI_B, "Lakeside Pediatrics"), tenant="clinic-a")
    with pytest.raises(PermanentError, match="npi: Value error, NPI fails the check digit"):
        await deliver(client, practice("clinic-a", 1, "1234567890", "Valley Family Clinic"))
    with pytest.raises(PermanentError, match="name: String should match pattern"):
        await deliver(client, practice("clinic-a", 1, NPI_A, "Valley*Family"))
    assert await profiles(client) == []


def test_a_practice_provider_is_cut_to_what_a_270_holds_and_an_organization_has_no_first_name() -> None:
    long = "Valley Family Clinic and Associated Physicians of Springfield, LLC"  # 66 characters
    p = practice_provider(NPI_A, long, "Ignored", is_person=False)
    assert (p.name, p.first_name, p.is_person) == (long[:60], None, False)
    person = practice_provider(NPI_A, " Smith ", "Anna-Maria Josephine Catherine Elisabeth", is_person=True)
    assert (person.name, person.first_name) == ("Smith", "Anna-Maria Josephine Catherine Elis")
    with pytest.raises(ValueError, match="first_name: String should match pattern"):
        practice_provider(NPI_A, "Smith", "An|na", is_person=True)


async def test_the_worker_learns_the_practice_from_the_topic(client: Any, kafka: KafkaSettings) -> None:
    """Through the real broker, with the worker's registry: the inbox drops a redelivered event; a profile
    under another tenant's envelope goes to the dead-letter topic."""
    from aiokafka import AIOKafkaProducer
    from eligibility.consumers import registry

    topic = kafka.topic_prefix + "claims.practice.changed"
    await ensure_topics(kafka, [TopicRequest(topic, 1), TopicRequest(topic + ".dlq", 1)])
    first = Envelope.wrap(
        practice("clinic-a", 2, NPI_A, "Valley Family Clinic"), source="/claims", tenant_id="clinic-a"
    )
    stray = Envelope.wrap(practice("clinic-b", 1, NPI_B, "Lakeside"), source="/claims", tenant_id="clinic-a")
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    for env in (first, first, stray):
        await producer.send_and_wait(topic, env.to_value(), key=b"clinic-a", headers=env.to_headers())
    await producer.stop()
    consumer = InboxConsumer(
        name="eligibility-worker",
        engine=client.app.state.engine,
        tables=bus,
        kafka=kafka,
        group_id=topic + ".g",
        topics=[topic],
        registry=registry,
        session_timeout_ms=1500,
        max_retries=1,
        retry_backoff=0.01,
    )
    s = consumer.stats
    await consume_until(consumer, lambda: s.handled + s.duplicates + s.dead_lettered >= 3)
    assert (s.handled, s.duplicates, s.dead_lettered) == (1, 1, 1)
    assert await profiles(client) == [("clinic-a", 2, NPI_A, "Valley Family Clinic")]
