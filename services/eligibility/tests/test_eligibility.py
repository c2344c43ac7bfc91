"""Eligibility: 271 normalization on the sample corpus, the API against a payer behind HTTP, events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from eligibility.clearinghouse import CircuitBreaker, Failover, HttpAdapter
from eligibility.domain.normalize import normalize
from eligibility.models import bus
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import HandlerRegistry, InboxConsumer
from rcm_shared.bus.relay import OutboxRelay
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.testing import app_client, consume_until
from rcm_shared.x12.sets.x270 import Benefit, EligibilityResponse, Member, RequestError, build_271, read_270, read_271
from rcm_shared.x12.writer import writer_for
from sqlalchemy import select

SAMPLES = Path(__file__).resolve().parents[3] / "tests" / "x12" / "samples" / "271"
T = {"X-Tenant-ID": "org-1"}


def test_dependent_sample_normalized() -> None:
    (r,) = read_271(SAMPLES / "lfh__271_005010X279A1__dependent-health-benefit-check.271")
    n = normalize(r)
    assert (n.status, n.plan, n.coverage_start, n.member_id) == (
        "active",
        "GOLD 123 PLAN",
        date(2006, 1, 1),
        "123456789",
    )
    office = {(b.service_type, b.network): b for b in n.benefits}
    assert office[("98", "in")].copay == D("10.00") and office[("98", "out")].copay == D("30.00")


def test_medicare_sample_deductibles_and_other_payer() -> None:
    (r,) = read_271(SAMPLES / "nodex12__test-data__271.edi", lenient_envelope=True)
    n = normalize(r)
    assert n.status == "active" and n.coverage_start == date(2019, 12, 30)
    general = [b for b in n.benefits if b.service_type == "30"]
    assert any(b.deductible.limit == D("0") for b in general) and any(b.coinsurance == D("0") for b in general)
    assert [p["plan"] for p in n.other_payers] == ["NJ QMB Plan", None]


def test_error_sample_keeps_aaa_with_a_next_step() -> None:
    (r,) = read_271(SAMPLES / "lfh__271_005010X279A1__subscriber-health-benefit-check-error.271", lenient_envelope=True)
    n = normalize(r)
    assert n.status == "error"
    assert n.errors == [
        {
            "loop": "2100B",
            "code": "50",
            "follow_up": "N",
            "valid_request": "Y",
            "next_step": "provider not eligible for this inquiry: verify enrollment with the payer",
        }
    ]


def answer(member_id: str, *, status: str = "1", errors: list[RequestError] | None = None) -> EligibilityResponse:
    return EligibilityResponse(
        transaction="",
        payer_name="ACME HEALTH PLAN",
        payer_id="ACME01",
        provider_name="VALLEY FAMILY CLINIC",
        provider_id="1234567893",
        subscriber=Member(
            "DOE", "JANE", member_id=member_id, birth_date=date(1980, 2, 29), references=[("6P", "GRP100")]
        ),
        trace_numbers=[("T1", "9RCMCLINIC")],
        errors=errors or [],
        dates=[("291", date(2026, 1, 1), date(2026, 12, 31))],
        benefits=[]
        if errors
        else [
            Benefit(status, "IND", ["30"], "HM", "GOLD PLAN"),
            Benefit("C", "IND", ["30"], time_period="23", amount=D("1500"), in_network="Y"),
            Benefit("C", "IND", ["30"], time_period="29", amount=D("500"), in_network="Y"),
            Benefit("G", "IND", ["30"], time_period="23", amount=D("6000"), in_network="Y"),
            Benefit("B", "IND", ["98"], time_period="27", amount=D("25"), in_network="Y"),
            Benefit("A", "IND", ["30"], percent=D("0.2"), in_network="Y", authorization_required="Y"),
        ],
    )


def x271(*responses: EligibilityResponse) -> str:
    ts = build_271(list(responses), reference="R", created=date(2026, 11, 1))
    return writer_for(ts, sender="ACME", receiver="RCMCLINIC").render([ts])


def test_synthetic_answer_normalized() -> None:
    (r,) = read_271(x271(answer("W1")).encode())
    n = normalize(r)
    general = next(b for b in n.benefits if b.service_type == "30" and b.network == "in")
    assert (general.deductible.limit, general.deductible.remaining) == (D("1500"), D("500"))
    assert general.out_of_pocket.limit == D("6000") and general.coinsurance == D("0.2")
    assert general.prior_authorization_required is True
    assert (n.group_number, n.coverage_start, n.coverage_end) == ("GRP100", date(2026, 1, 1), date(2026, 12, 31))


class FakePayer:
    """A payer behind HTTP (a real local server): reads the 270 it gets and answers a 271 (or fails, when told to)."""

    def __init__(self, fail: int = 0, status_code: int = 503, body: str | None = None) -> None:
        self.calls = 0
        self.fail = fail
        self.status_code = status_code
        self.body = body

    async def handler(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.calls <= self.fail:
            return web.Response(status=self.status_code, text="unavailable")
        if self.body is not None:
            return web.Response(text=self.body)
        (inquiry,) = read_270(await request.read())
        member = inquiry.subscriber.member_id or ""
        if member.startswith("BAD"):
            return web.Response(text=x271(answer(member, errors=[RequestError("2100C", "Y", "72", "C")])))
        return web.Response(text=x271(answer(member, status="6" if member.startswith("OLD") else "1")))


def request_body(member: str = "W123456789", npi: str = "1679576722") -> dict[str, Any]:
    return {
        "provider": {"npi": npi, "name": "Valley Family Clinic"},
        "payer_id": "ACME01",
        "payer_name": "Acme",
        "subscriber": {"member_id": member, "first_name": "Jane", "last_name": "Doe", "birth_date": "1980-02-29"},
        "service_date": "2026-11-30",
        "service_types": ["98", "30"],
    }


@pytest.fixture
async def client(db_factory: Any, monkeypatch: pytest.MonkeyPatch, kafka: KafkaSettings) -> AsyncIterator[Any]:
    db = await db_factory("eligibility")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("ELIGIBILITY_DATABASE_URL", db.url)
    monkeypatch.setenv("ELIGIBILITY_DB_SCHEMA", db.schema)
    from eligibility.config import get_settings
    from eligibility.main import create_app

    primary, backup = FakePayer(), FakePayer()
    app = web.Application()
    app.router.add_post("/a/270", primary.handler)
    app.router.add_post("/b/270", backup.handler)
    async with TestServer(app) as payers, app_client(create_app, get_settings.cache_clear) as c:
        c.app.state.failover = Failover(
            [
                HttpAdapter("primary", str(payers.make_url("/a/270")), retries=1, backoff=0.001),
                HttpAdapter("backup", str(payers.make_url("/b/270")), retries=0),
            ]
        )
        c.primary, c.backup = primary, backup
        yield c
        await c.app.state.failover.aclose()


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


async def test_a_repeated_check_is_answered_from_memory_as_stored_and_from_the_database_by_another_process(
    client: Any,
) -> None:
    from eligibility.handlers import RecentAnswers
    from sqlalchemy import event

    engine = client.app.state.engine
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    first = (await client.post("/v1/eligibility/checks", json=request_body(), headers=T)).json()
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        again = await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
        assert again.status_code == 200 and again.json() == {**first, "cached": True}
        assert not [s for s in statements if s.startswith("SELECT") and "eligibility_check" in s]  # no lookup
        RecentAnswers.of(engine)._rows.clear()  # as in another API process: the database has the answer
        other = await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
        assert other.status_code == 200 and other.json() == {**first, "cached": True}
        assert [s for s in statements if s.startswith("SELECT") and "eligibility_check" in s]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert client.primary.calls == 1
    # another member, or another tenant, is not answered by it
    assert (await client.post("/v1/eligibility/checks", json=request_body("W999"), headers=T)).status_code == 201
    org2 = {"X-Tenant-ID": "org-2"}
    assert (await client.post("/v1/eligibility/checks", json=request_body(), headers=org2)).status_code == 201


def test_recent_answers_keep_the_newest_active_answer_and_forget_the_expired_and_the_oldest() -> None:
    from types import SimpleNamespace

    from eligibility.handlers import RecentAnswers

    def row(at: int, status: str = "active", member: str = "M1") -> Any:
        created = datetime(2026, 11, 29, 8, 0, at, tzinfo=UTC)
        return SimpleNamespace(
            tenant_id="t",
            payer_id="P",
            member_id=member,
            service_date=date(2026, 11, 30),
            service_types="30",
            status=status,
            created_at=created,
            id=f"{member}-{at}",
        )

    recent, key = RecentAnswers(size=2), ("t", "P", "M1", date(2026, 11, 30), "30")
    since = datetime(2026, 11, 29, 7, tzinfo=UTC)
    recent.put(row(10))
    recent.put(row(5))  # older: the newer one stays
    recent.put(row(20, "inactive"))  # only active answers are reused
    assert recent.get(key, since).id == "M1-10"
    assert recent.get(key, datetime(2026, 11, 29, 8, 0, 11, tzinfo=UTC)) is None  # expired: dropped
    assert recent.get(key, since) is None
    recent.put(row(1))
    recent.put(row(2, member="M2"))
    recent.put(row(3, member="M3"))  # over the size: the least recently used (M1) goes
    assert recent.get(key, since) is None
    assert recent.get(("t", "P", "M3", date(2026, 11, 30), "30"), since).id == "M3-3"


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


async def test_ingest_raw_271(client: Any) -> None:
    r = await client.post("/v1/eligibility/responses", content=x271(answer("W9")), headers=T)
    assert r.status_code == 201 and r.json()[0]["status"] == "active" and r.json()[0]["source"] == "ingested"
    not_271 = (SAMPLES.parent / "835" / "lfh__demo-file__demo.835").read_bytes()
    bad = await client.post("/v1/eligibility/responses", content=not_271, headers=T)
    assert bad.status_code == 422 and "is not a 271" in bad.json()["detail"]


OPTUM = json.loads((Path(__file__).parent / "contracts" / "optum-eligibility-v3-response.json").read_text())


def optum_violations(body: dict[str, Any]) -> list[str]:
    """Where an answer of the v3 route departs from the publisher's own schema of the v3 response."""
    validator = jsonschema_rs.Draft4Validator(OPTUM)  # OpenAPI 3.0 schemas are JSON Schema draft 4 and a bit
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]


def v3_request(member: str) -> dict[str, Any]:
    return {
        "controlNumber": "123456789",
        "tradingPartnerServiceId": "ACME01",
        "provider": {"organizationName": "Valley Family Clinic", "npi": "1234567893"},
        "subscriber": {"memberId": member, "firstName": "Jane", "lastName": "Doe", "dateOfBirth": "19800229"},
        "encounter": {"dateOfService": "20261130", "serviceTypeCodes": ["30"]},
    }


async def test_the_v3_route_answers_a_malformed_271_with_a_problem_naming_segment_and_element(client: Any) -> None:
    bad_date = x271(answer("W1")).replace("DMG*D8*19800229", "DMG*D8*19801345")
    client.primary.body = bad_date
    r = await client.post("/change/medicalnetwork/eligibility/v3", json=v3_request("W1"), headers=T)
    assert r.status_code == 502, r.text
    problem = r.json()
    assert problem["title"] == "Invalid 271 from the payer" and "DMG, element 02" in problem["detail"]
    assert (problem["x12"]["segment_id"], problem["x12"]["element"]) == ("DMG", 2)
    assert problem["errors"][0]["field"] == "DMG02" and problem["errors"][0]["location"] == "segment 11 DMG element 02"


async def test_the_v3_route_answers_in_optums_published_shape_without_nulls(client: Any) -> None:
    from rcm_shared.x12.sets.x270 import RelatedEntity

    bare = EligibilityResponse(  # no gender, no plan description, a benefit with dates and a related entity
        transaction="",
        payer_name="ACME HEALTH PLAN",
        payer_id="ACME01",
        provider_name="VALLEY FAMILY CLINIC",
        provider_id="1234567893",
        subscriber=Member("DOE", "JANE", member_id="W1", birth_date=date(1980, 2, 29)),
        trace_numbers=[("T1", "9RCMCLINIC")],
        errors=[],
        dates=[("291", date(2026, 1, 1), date(2026, 12, 31))],
        benefits=[
            Benefit("1", "IND", ["30"]),
            Benefit(
                "L",
                "IND",
                ["30"],
                dates=[("291", date(2026, 1, 1), date(2026, 12, 31))],
                related=[RelatedEntity("P3", "WELBY", first="MARCUS", id_qualifier="XX", id="1679576722")],
            ),
        ],
    )
    client.primary.body = x271(bare)
    r = await client.post("/change/medicalnetwork/eligibility/v3", json=v3_request("W1"), headers=T)
    assert r.status_code == 200, r.text
    out = r.json()
    assert optum_violations(out) == []
    assert "gender" not in out["subscriber"] and out["subscriber"]["dateOfBirth"] == "19800229"
    assert out["planStatus"] == [{"statusCode": "1", "status": "active coverage", "serviceTypeCodes": ["30"]}]
    pcp = out["benefitsInformation"][1]
    assert pcp["benefitsDateInformation"] == {"plan": "20260101-20261231"}
    assert pcp["benefitsRelatedEntities"] == [
        {
            "entityIdentifier": "P3",
            "entityName": "WELBY",
            "entityFirstname": "MARCUS",
            "entityIdentification": "XX",
            "entityIdentificationValue": "1679576722",
        }
    ]
    client.primary.body = None  # the payer's own answers: an active member, and an AAA rejection
    for member in ("W2", "BAD2"):
        r = await client.post("/change/medicalnetwork/eligibility/v3", json=v3_request(member), headers=T)
        assert r.status_code == 200 and optum_violations(r.json()) == [], r.text
    assert r.json()["errors"][0]["code"] == "72" and r.json()["errors"][0]["followupAction"] == "C"


def test_circuit_breaker_opens_and_half_opens() -> None:
    b = CircuitBreaker(threshold=2, reset_after=0.0)
    b.failure()
    assert b.allow()
    b.failure()
    assert b.opened_at is not None and b.allow()  # reset_after 0: half-open immediately
    b.success()
    assert b.failures == 0 and b.opened_at is None
    closed = CircuitBreaker(threshold=1, reset_after=60)
    closed.failure()
    assert not closed.allow()


async def test_a_half_open_circuit_lets_one_trial_through_until_its_outcome() -> None:
    import asyncio

    from eligibility.clearinghouse import AdapterError

    arrived, release, failing = asyncio.Event(), asyncio.Event(), [True]
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        arrived.set()
        await release.wait()  # the trial is held until the test lets it answer
        if failing[0]:
            return web.Response(status=503, text="unavailable")
        return web.Response(text=x271(answer("W1")))

    app = web.Application()
    app.router.add_post("/270", handler)
    async with TestServer(app) as server:
        breaker = CircuitBreaker(threshold=1, reset_after=0.05)
        adapter = HttpAdapter("ch", str(server.make_url("/270")), retries=0, breaker=breaker)
        try:
            breaker.failure()  # open
            with pytest.raises(AdapterError, match="circuit open"):
                await adapter.exchange("270")
            await asyncio.sleep(0.06)  # half-open now
            for outcome in ("failure", "success"):
                arrived.clear()
                release.clear()
                failing[0] = outcome == "failure"
                before = calls
                tasks = [asyncio.create_task(adapter.exchange("270")) for _ in range(8)]
                await asyncio.wait_for(arrived.wait(), 5)
                await asyncio.sleep(0.01)  # the others have had their turn meanwhile
                refused = [t for t in tasks if t.done()]
                assert len(refused) == 7 and calls == before + 1  # exactly one reached the clearinghouse
                assert all("circuit open" in str(t.exception()) for t in refused)
                release.set()
                results = await asyncio.gather(*tasks, return_exceptions=True)
                if outcome == "failure":  # the trial failed: open again, nothing goes until reset_after
                    assert isinstance(results[0], AdapterError) and breaker.opened_at is not None
                    with pytest.raises(AdapterError, match="circuit open"):
                        await adapter.exchange("270")
                    assert calls == before + 1
                    await asyncio.sleep(0.06)
                else:  # the trial answered: closed, every call goes
                    assert isinstance(results[0], str) and breaker.opened_at is None
                    assert len(await asyncio.gather(adapter.exchange("270"), adapter.exchange("270"))) == 2
                    assert calls == before + 3
        finally:
            await adapter.aclose()


def test_a_cancelled_trial_lets_the_next_call_try() -> None:
    b = CircuitBreaker(threshold=1, reset_after=0.0)
    b.failure()
    assert b.allow() and not b.allow()  # the trial, and no second one while it runs
    b.end_trial()  # abandoned without an outcome (cancelled)
    assert b.allow()


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


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("lfh__271_005010X279A1__dependent-health-benefit-check.271", "active"),
        ("lfh__demo-file__demo.271", "active"),
        ("nodex12__test-data__271.edi", "active"),
        ("lfh__271_005010X279A1__subscriber-health-benefit-check-error.271", "error"),
        ("imsweb__x270_271__x271.txt", "unsupported version '00401'"),
    ],
)
def test_every_sample_271(name: str, status: str) -> None:
    from rcm_shared.x12.errors import X12Error

    if status.startswith("unsupported"):
        with pytest.raises(X12Error, match=status):
            list(read_271(SAMPLES / name, lenient_envelope=True))
        return
    (r,) = read_271(SAMPLES / name, lenient_envelope=True)
    assert normalize(r).status == status
