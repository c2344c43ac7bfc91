"""Each tenant's practice (eligibility/use_cases/practice.py): ``practice.changed`` stored (newer versions only,
idempotent, never across tenants) and the billing provider it names asking the 270s of checks that name none;
the 270s read back with rcm_shared.x12 and validated by x12sdk (pyx12 has no 270 map). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders.x271 import request_body
from eligibility.domain.inquiry import practice_provider
from eligibility.models import bus, eligibility_check, practice_profile
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import InboxConsumer, PermanentError
from rcm_shared.config import KafkaSettings
from rcm_shared.db import session_factory
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import PracticeAddress, PracticeChangedV1, PracticeProvider
from rcm_shared.testing import consume_until
from rcm_shared.x12.sets.x270 import Inquiry, read_270
from sqlalchemy import select
from x12sdk.io import X12ModelReader

A, B, C = {"X-Tenant-ID": "clinic-a"}, {"X-Tenant-ID": "clinic-b"}, {"X-Tenant-ID": "clinic-c"}
NPI_A, NPI_B, NPI_A2, NPI_ASKED = "1234567893", "1987654328", "1111111112", "1679576722"
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


async def check(client: Any, headers: dict[str, str], member: str, **changes: Any) -> Any:
    """A check without a provider unless ``changes`` names one: the response."""
    body = {k: v for k, v in request_body(member).items() if k != "provider"} | changes
    return await client.post("/v1/eligibility/checks", json=body, headers=headers)


async def sent_270(client: Any, check_id: str, tmp_path: Path) -> Inquiry:
    """The 270 a check sent, read back; validated by x12sdk, whose 2100B must say what ours does."""
    async with client.app.state.engine.connect() as conn:
        text = (
            await conn.execute(select(eligibility_check.c.x12_270).where(eligibility_check.c.id == check_id))
        ).scalar_one()
    (inquiry,) = read_270(text.encode())
    path = tmp_path / f"{check_id}.x12"
    path.write_text(text)
    with X12ModelReader(str(path)) as reader:
        (model,) = list(reader.models())
    nm1 = model.loop_2000a[0].loop_2000b[0].loop_2100b.nm1_segment
    assert (nm1.identification_code_qualifier, nm1.identification_code) == ("XX", inquiry.provider_npi)
    assert nm1.name_last_or_organization_name == inquiry.provider_name
    return inquiry


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


async def test_each_tenants_270_is_asked_by_its_own_billing_provider(client: Any, tmp_path: Path) -> None:
    await deliver(client, practice("clinic-a", 1, NPI_A, "Valley Family Clinic"))
    await deliver(client, practice("clinic-b", 7, NPI_B, "Smith", first_name="Anna", is_person=True))
    a, b = await check(client, A, "W1"), await check(client, B, "W2")
    assert (a.status_code, b.status_code) == (201, 201), (a.text, b.text)
    sent_a, sent_b = await sent_270(client, a.json()["id"], tmp_path), await sent_270(client, b.json()["id"], tmp_path)
    assert (sent_a.provider_npi, sent_a.provider_name, sent_a.provider_is_person) == (
        NPI_A,
        "VALLEY FAMILY CLINIC",
        False,
    )
    assert (sent_b.provider_npi, sent_b.provider_name, sent_b.provider_first, sent_b.provider_is_person) == (
        NPI_B,
        "SMITH",
        "ANNA",
        True,
    )
    async with client.app.state.engine.connect() as conn:
        stored = dict(list(await conn.execute(select(eligibility_check.c.tenant_id, eligibility_check.c.provider_npi))))
    assert stored == {"clinic-a": NPI_A, "clinic-b": NPI_B}
    # A provider the request names asks instead of the practice's.
    asked = await check(client, A, "W3", provider={"npi": NPI_ASKED, "name": "Dr Jones", "first_name": "Amy"})
    assert asked.status_code == 201, asked.text
    sent = await sent_270(client, asked.json()["id"], tmp_path)
    assert (sent.provider_npi, sent.provider_name, sent.provider_first) == (NPI_ASKED, "DR JONES", "AMY")


async def test_a_tenant_without_a_practice_must_name_its_provider_and_never_gets_anothers(client: Any) -> None:
    await deliver(client, practice("clinic-a", 1, NPI_A, "Valley Family Clinic"))
    r = await check(client, C, "W1")
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["title"] == "No provider for the 270" and "send `provider`" in problem["detail"]
    assert (client.primary.calls, client.backup.calls) == (0, 0)  # nothing sent
    assert (await check(client, A, "W1")).status_code == 201  # clinic-a's own check still works
    # A batch item without a provider fails with the same reason; the others run.
    body = {k: v for k, v in request_body("W9").items() if k != "provider"}
    batch = await client.post("/v1/eligibility/batches", json={"checks": [body, request_body("W8")]}, headers=C)
    assert batch.status_code == 202, batch.text
    status = await finished(client, batch.json()["id"], C)
    assert [i["status"] for i in status["items"]] == ["failed", "done"]
    assert "no practice profile" in status["items"][0]["error"]


async def finished(client: Any, batch_id: str, headers: dict[str, str]) -> dict[str, Any]:
    import asyncio

    for _ in range(200):
        status = (await client.get(f"/v1/eligibility/batches/{batch_id}", headers=headers)).json()
        if status["status"] == "done":
            return dict(status)
        await asyncio.sleep(0.02)
    raise AssertionError(f"batch {batch_id} still running: {status}")


async def test_the_270_names_the_provider_of_the_version_in_effect_on_the_date_of_service(
    client: Any, tmp_path: Path
) -> None:
    """A version announced ahead of its date applies from that date; a date before every version known gets
    the earliest one (the practice as first known)."""
    await deliver(client, practice("clinic-a", 1, NPI_A, "Valley Family Clinic", effective_from=TODAY - timedelta(30)))
    await deliver(client, practice("clinic-a", 2, NPI_A2, "Valley Clinic North", effective_from=TODAY + timedelta(10)))
    npis = []
    for member, day in (("W1", TODAY), ("W2", TODAY + timedelta(10)), ("W3", TODAY - timedelta(60))):
        r = await check(client, A, member, service_date=day.isoformat())
        assert r.status_code == 201, r.text
        npis.append((await sent_270(client, r.json()["id"], tmp_path)).provider_npi)
    assert npis == [NPI_A, NPI_A2, NPI_A]


def test_a_practice_provider_is_cut_to_what_a_270_holds_and_an_organization_has_no_first_name() -> None:
    long = "Valley Family Clinic and Associated Physicians of Springfield, LLC"  # 66 characters
    p = practice_provider(NPI_A, long, "Ignored", is_person=False)
    assert (p.name, p.first_name, p.is_person) == (long[:60], None, False)
    person = practice_provider(NPI_A, " Smith ", "Anna-Maria Josephine Catherine Elisabeth", is_person=True)
    assert (person.name, person.first_name) == ("Smith", "Anna-Maria Josephine Catherine Elis")
    with pytest.raises(ValueError, match="first_name: String should match pattern"):
        practice_provider(NPI_A, "Smith", "An|na", is_person=True)
    # the practice profile is claims' text: accents become their base letter, control characters are refused
    assert practice_provider(NPI_A, "Clínica Médica", None, is_person=False).name == "Clinica Medica"
    with pytest.raises(ValueError, match="name: String should match pattern"):
        practice_provider(NPI_A, "Valley\nClinic", None, is_person=False)


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
