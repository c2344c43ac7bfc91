"""Real-time checks (eligibility/use_cases/checks.py): a 270 out, the 271 stored, cached, announced; bad input,
failover and refusals (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

from builders import T
from builders.x271 import request_body
from eligibility.models import bus
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import HandlerRegistry, InboxConsumer
from rcm_shared.bus.relay import OutboxRelay
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.testing import consume_until
from sqlalchemy import select


async def test_check_then_cache_then_queries(client: Any) -> None:
    r = await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "active" and body["source"] == "primary" and body["service_types"] == ["30", "98"]
    assert body["result"]["plan"] == "GOLD PLAN"
    again = await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
    assert again.status_code == 200 and again.json()["cached"] and again.json()["id"] == body["id"]
    assert client.primary.calls == 1
    assert (await client.get(f"/v1/eligibility/checks/{body['id']}", headers=T)).json() == body  # as stored
    listing = (await client.get("/v1/eligibility/checks?member=W123456789&payer=ACME01", headers=T)).json()
    assert [c["id"] for c in listing] == [body["id"]]
    assert (
        await client.get(f"/v1/eligibility/checks/{body['id']}", headers={"X-Tenant-ID": "org-2"})
    ).status_code == 404
    inactive = (await client.post("/v1/eligibility/checks", json=request_body("OLD1"), headers=T)).json()
    assert inactive["status"] == "inactive"
    error = (await client.post("/v1/eligibility/checks", json=request_body("BAD1"), headers=T)).json()
    assert error["status"] == "error" and error["result"]["errors"][0]["next_step"].startswith("invalid member id")
    async with client.app.state.engine.connect() as conn:
        rows = list(await conn.execute(select(bus.outbox)))
    assert len(rows) == 3 and all("DOE" not in r.payload and "1980" not in r.payload for r in rows)


async def test_a_new_checks_audit_row_is_committed_with_its_rows_in_one_transaction(client: Any) -> None:
    from eligibility.models import audit
    from rcm_shared.audit import verify
    from sqlalchemy import event

    engine = client.app.state.engine
    # the process's first check reserves a block of control numbers (a commit of its own, once per block)
    assert (await client.post("/v1/eligibility/checks", json=request_body("OLD1"), headers=T)).status_code == 201
    commits: list[int] = []

    def count(_conn: Any) -> None:
        commits.append(1)

    event.listen(engine.sync_engine, "commit", count)
    try:
        live = await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
        live_commits = len(commits)
        cached = await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
        bad = await client.post("/v1/eligibility/checks", json=request_body(npi="1679576723"), headers=T)
    finally:
        event.remove(engine.sync_engine, "commit", count)
    assert (live.status_code, cached.status_code, bad.status_code) == (201, 200, 422)
    assert live_commits == 1  # the check, its event and its audit row: one transaction (two before)
    async with engine.connect() as conn:
        trail = list(await conn.execute(select(audit).order_by(audit.c.id)))
    assert [(r.method, r.resource, r.status, r.request_id) for r in trail[1:]] == [
        ("POST", "/v1/eligibility/checks", answer.status_code, answer.headers["X-Correlation-ID"])
        for answer in (live, cached, bad)
    ]  # one row per answer, each with its own status, none written twice
    assert (await verify(engine, audit)).ok


async def test_bad_input_and_failover(client: Any) -> None:
    bad = await client.post("/v1/eligibility/checks", json=request_body(npi="1234567890"), headers=T)
    assert bad.status_code == 422 and "check digit" in bad.json()["errors"][0]["message"]
    broken = await client.post(
        "/v1/eligibility/checks", content=b"{not json", headers={**T, "content-type": "application/json"}
    )
    assert broken.status_code == 422
    client.primary.fail = 10  # the primary clearinghouse is down: the backup answers
    r = await client.post("/v1/eligibility/checks", json=request_body("W2"), headers=T)
    assert r.status_code == 201 and r.json()["source"] == "backup"
    client.backup.fail = 10
    down = await client.post("/v1/eligibility/checks", json=request_body("W3"), headers=T)
    assert down.status_code == 502 and down.json()["title"] == "Payer unavailable"
    client.primary.fail, client.backup.fail = 0, 0
    client.primary.body = "ISA*this is not a 271"
    garbage = await client.post("/v1/eligibility/checks", json=request_body("W4"), headers=T)
    assert garbage.status_code == 502
    async with client.app.state.engine.connect() as conn:
        from eligibility.models import eligibility_check

        assert len(list(await conn.execute(select(eligibility_check)))) == 1  # nothing stored half-way


async def test_a_refusal_is_our_error_and_goes_to_no_other_clearinghouse(client: Any) -> None:
    client.primary.fail, client.primary.status_code = 10, 400  # the primary refuses the 270 itself
    r = await client.post("/v1/eligibility/checks", json=request_body("W5"), headers=T)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["title"] == "Refused by the clearinghouse" and problem["clearinghouse"] == "primary"
    assert problem["upstream_status"] == 400 and "primary refused the 270 with 400" in problem["detail"]
    assert (client.primary.calls, client.backup.calls) == (1, 0)  # neither retried nor failed over
    for n, status in enumerate((401, 403, 404, 408, 429)):
        # our credentials there, its endpoint as configured, its timeout, its throttling: about that
        # clearinghouse, not the request. Retried, counted against its breaker, failed over.
        client.primary.calls, client.primary.status_code, backup_calls = 0, status, client.backup.calls
        failures = client.app.state.failover.adapters[0].breaker.failures
        r = await client.post("/v1/eligibility/checks", json=request_body(f"W6{n}"), headers=T)
        assert r.status_code == 201 and r.json()["source"] == "backup", (status, r.text)
        assert client.primary.calls > 1 and client.backup.calls == backup_calls + 1, status
        assert client.app.state.failover.adapters[0].breaker.failures == failures + 1, status
    client.primary.status_code = 503  # a clearinghouse that is down is still failed over
    r = await client.post("/v1/eligibility/checks", json=request_body("W7"), headers=T)
    assert r.status_code == 201 and r.json()["source"] == "backup"


async def test_check_event_reaches_a_consumer_once(client: Any, kafka: KafkaSettings) -> None:
    await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
    topic = kafka.topic_prefix + "eligibility.check.completed"
    await ensure_topics(kafka, [TopicRequest(topic, 3), TopicRequest(topic + ".dlq", 1)])
    relay = OutboxRelay(
        engine=client.app.state.engine, tables=bus, kafka=kafka, topics=[TopicRequest(topic, 3)], name="eligibility"
    )
    await relay.start()
    assert await relay.run_once() == 1
    await relay.stop()
    seen: list[EligibilityCheckCompletedV1] = []
    registry = HandlerRegistry()

    @registry.on(EligibilityCheckCompletedV1.event_type)
    async def on_check(_session: Any, env: Envelope) -> None:
        seen.append(env.payload_as(EligibilityCheckCompletedV1))

    consumer = InboxConsumer(
        name="claims-worker",
        engine=client.app.state.engine,
        tables=bus,
        kafka=kafka,
        group_id=topic + ".g",
        topics=[topic],
        registry=registry,
        session_timeout_ms=1500,
    )
    await consume_until(consumer, lambda: len(seen) == 1)
    assert seen[0].status == "active" and seen[0].member_id == "W123456789" and seen[0].plan == "GOLD PLAN"
    assert isinstance(seen[0].service_date, date)


async def test_text_a_270_cannot_carry_is_refused_and_nothing_is_sent(client: Any) -> None:
    # the X12 extended character set's printable characters only: no control character (a line feed ends a
    # segment for some readers), no letter outside ASCII, no delimiter
    refused = [
        ("group_number", "GRP\n100"),
        ("group_number", "GRPÉ100"),
        ("group_number", "\x07"),
        ("group_number", "GRP*100"),
        ("member_id", "W123\t456"),
        ("last_name", "Do\x00e"),
        ("first_name", "José"),
    ]
    for name, text in refused:
        body = request_body()
        body["subscriber"][name] = text
        r = await client.post("/v1/eligibility/checks", json=body, headers=T)
        assert r.status_code == 422, (name, text, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [f"subscriber.{name}"], (name, text)
    dependent = {"last_name": "Doe", "first_name": "Jim\r", "birth_date": "2015-06-01"}
    r = await client.post("/v1/eligibility/checks", json={**request_body(), "dependent": dependent}, headers=T)
    assert r.status_code == 201, r.text  # white space around a name is trimmed, not refused
    dependent["first_name"] = "J\rim"
    r = await client.post("/v1/eligibility/checks", json={**request_body("W5"), "dependent": dependent}, headers=T)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dependent.first_name"
    assert client.primary.calls == 1
    body = request_body("W6")
    body["subscriber"]["group_number"] = "GRP-100 (A/B) #2 & co.; <x>=y? [z]_{w}'\"!$%@`"
    r = await client.post("/v1/eligibility/checks", json=body, headers=T)
    assert r.status_code == 201, r.text  # every other printable character is X12 text
