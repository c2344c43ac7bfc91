"""The claims service end to end on its own: API, database (SQLite and PostgreSQL), real broker, pyx12."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from claims.models import bus
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.bus.consumer import InboxConsumer
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.denials import ClaimCorrection, ResubmissionRequestedV1
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1, ClaimReversedV1, LinePaymentOut
from rcm_shared.testing import app_client, enum_of, poll_until, wait_for_assignment
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.writer import Composite, TransactionSet, writer_for

sys.path.insert(0, str(Path(__file__).parent))
from factory import DOS, days_ago, encounter
from test_state import STATES

T = {"X-Tenant-ID": "org-1"}
X12VALID = shutil.which("x12valid") or str(Path(sys.executable).with_name("x12valid"))


@pytest.fixture
async def client(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka: KafkaSettings
) -> AsyncIterator[Any]:
    db = await db_factory("claims")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("CLAIMS_DATABASE_URL", db.url)
    monkeypatch.setenv("CLAIMS_DB_SCHEMA", db.schema)
    monkeypatch.setenv("CLAIMS_OUTBOUND_DIR", str(tmp_path / "outbound"))
    monkeypatch.setenv("CLAIMS_DEFAULT_TENANT", "org-1")
    from claims.config import get_settings
    from claims.main import create_app
    from claims.adapters.scrub_resources import default_resources

    async with app_client(create_app, get_settings.cache_clear, default_resources.cache_clear) as c:
        yield c


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


async def test_charge_entry_scrubs_and_bad_input_is_refused(client: Any) -> None:
    ok = await create(client)
    assert ok["state"] == "ready" and ok["edits"] == [] and ok["charge_cents"] == 24550
    bad = await create(client, **{"billing_provider.npi": "1234567890", "lines.0.service_date": "2026-01-02"})
    assert bad["state"] == "draft"
    assert bad["edits"][0]["rule"] == "NPI001"
    r = await client.post("/v1/claims", json={"kind": "professional"}, headers=T)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert {"billing_provider", "subscriber", "payer", "diagnoses", "lines", "facility_code"} <= {
        e["field"] for e in r.json()["errors"]
    }
    star = await client.post("/v1/claims", json=encounter(**{"subscriber.last_name": "O*BRIEN"}), headers=T)
    assert star.status_code == 422  # an X12 delimiter in a name never reaches an 837
    dup = await create(client)
    assert dup["state"] == "draft" and any(e["rule"] == "DUP001" and ok["id"] in e["message"] for e in dup["edits"])
    # one transition at entry: clean claims enter ready, the others draft
    history = (await client.get(f"/v1/claims/{ok['id']}/history", headers=T)).json()
    assert [(h["from_state"], h["to_state"], h["reason"]) for h in history] == [
        (None, "ready", "charge entry, scrubbed clean")
    ]
    history = (await client.get(f"/v1/claims/{dup['id']}/history", headers=T)).json()
    assert [(h["from_state"], h["to_state"], h["reason"]) for h in history] == [(None, "draft", "charge entry")]


async def test_batch_charge_entry_flags_duplicates_within_the_batch(client: Any) -> None:
    r = await client.post(
        "/v1/claim-batches", json=[encounter(), encounter(**{"subscriber.member_id": "W9"}), encounter()], headers=T
    )
    assert r.status_code == 201
    first, other, copy = r.json()
    assert (first["state"], other["state"], copy["state"]) == ("ready", "ready", "draft")
    assert any(e["rule"] == "DUP001" and first["id"] in e["message"] for e in copy["edits"])
    too_many = await client.post("/v1/claim-batches", json=[], headers=T)
    assert too_many.status_code == 422


@pytest.fixture
def mue_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The MUE fixture loaded by the service (83036: MUE 1, MAI 3; 99214: MUE 1, MAI 2)."""
    monkeypatch.setenv("CLAIMS_MUE_FILES", json.dumps([str(Path(__file__).parent / "fixtures" / "mue_sample.csv")]))


def mue_findings(claim: dict[str, Any]) -> list[str]:
    return [e["message"] for e in claim["edits"] if e["rule"] == "MUE001"]


async def test_per_day_mue_adds_up_the_claims_of_the_same_patient_provider_and_date(
    mue_tables: None, client: Any
) -> None:
    a1c = encounter()["lines"][1]  # 83036 x 1 on DOS
    first = await create(client)
    assert first["state"] == "ready"
    second = await create(client, lines=[a1c])
    assert second["state"] == "draft"
    assert mue_findings(second) == [
        f"2 units of 83036 on {DOS} exceed the MUE of 1 per date of service (MAI 3; 1 of them on other claims"
        " from this provider)"
    ]
    # another date, another patient, another billing provider: nothing to add up
    other_day = await create(client, lines=[{**a1c, "service_date": days_ago(11)}])
    other_patient = await create(client, lines=[a1c], **{"subscriber.first_name": "John", "subscriber.member_id": "W8"})
    other_provider = await create(client, lines=[a1c], **{"billing_provider.npi": "1245319599"})
    assert other_day["state"] == other_patient["state"] == "ready"
    assert mue_findings(other_day) == mue_findings(other_patient) == mue_findings(other_provider) == []
    # editing the first claim does not count its own units; the held second claim is not billed
    r = await client.put(f"/v1/claims/{first['id']}", json=encounter(), headers=T)
    assert r.status_code == 200 and r.json()["state"] == "ready", r.text
    # two claims entered together add up too
    batch = await client.post(
        "/v1/claim-batches", json=[encounter(lines=[{**a1c, "service_date": days_ago(12)}])] * 2, headers=T
    )
    assert [c["state"] for c in batch.json()] == ["ready", "draft"]
    assert any("exceed the MUE of 1 per date of service" in m for m in mue_findings(batch.json()[1]))


async def test_pages_of_the_claim_list_neither_repeat_nor_skip_claims_entered_together(client: Any) -> None:
    # A batch is one transaction: on PostgreSQL its claims share created_at, so the list needs a total order
    # (the id after the time) or offset pages repeat some claims and skip others.
    docs = [encounter(**{"subscriber.member_id": f"W{n:03d}"}) for n in range(40)]
    created = await client.post("/v1/claim-batches", json=docs, headers=T)
    assert created.status_code == 201
    seen: list[str] = []
    for offset in range(0, 40, 7):
        page = await client.get("/v1/claims", params={"limit": 7, "offset": offset}, headers=T)
        seen += [c["id"] for c in page.json()]
    assert sorted(seen) == sorted(c["id"] for c in created.json())


CLAIM_STATES = set(STATES)  # the lifecycle as the state tests write it out


async def test_list_filters_name_their_values_and_refuse_unknown_ones(client: Any) -> None:
    ready = await create(client)
    draft = await create(client, **{"subscriber.member_id": "W2", "diagnoses": ["E11"]})  # held: DX002
    assert (ready["state"], draft["state"]) == ("ready", "draft")

    async def listed(**params: Any) -> list[str]:
        r = await client.get("/v1/claims", params=params, headers=T)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()]

    assert await listed(state="draft") == [draft["id"]]
    assert sorted(await listed(state=["draft", "ready"])) == sorted([ready["id"], draft["id"]])
    assert await listed(state="paid") == []
    for path, params in [
        ("/v1/claims", {"state": "bogus"}),
        ("/v1/claims", {"state": ["ready", "Ready"]}),
        ("/v1/follow-up", {"reason": "bogus"}),
    ]:
        r = await client.get(path, params=params, headers=T)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (path, r.text)
        assert r.json()["errors"][0]["field"].split(".")[:2] == ["query", next(iter(params))], r.json()
    spec = client.app.openapi()["paths"]
    state = next(p for p in spec["/v1/claims"]["get"]["parameters"] if p["name"] == "state")
    assert enum_of(state) == CLAIM_STATES
    reason = next(p for p in spec["/v1/follow-up"]["get"]["parameters"] if p["name"] == "reason")
    assert enum_of(reason) == {"no_999", "no_277ca", "no_payment", "no_crossover_payment", "timely_filing"}


async def test_submit_writes_an_837_that_passes_pyx12(client: Any, tmp_path: Path) -> None:
    a = await create(client)
    b = await create(client, **{"subscriber.member_id": "W2", "subscriber.first_name": "Ann"})
    r = await client.post("/v1/submissions", json={}, headers=T)
    (sub,) = r.json()
    assert sub["delivered"] and sorted(sub["claim_ids"]) == sorted([a["id"], b["id"]])
    assert Path(sub["destination"]).exists()
    x12 = (await client.get(f"/v1/claims/{a['id']}/x12", headers=T)).text
    assert pyx12(x12, tmp_path).endswith(": OK")
    assert f"CLM*{a['id']}*245.50***11:B:1" in x12 and f"REF*6R*{a['id']}-1~" in x12
    claim = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert claim["state"] == "submitted"
    again = await client.post(f"/v1/claims/{a['id']}/submit", headers=T)
    assert again.status_code == 409 and again.json()["current_state"] == "submitted"
    async with client.app.state.engine.connect() as conn:
        from sqlalchemy import select

        rows = list(await conn.execute(select(bus.outbox).where(bus.outbox.c.key == a["id"]).order_by(bus.outbox.c.id)))
    import json

    submitted = json.loads(rows[-1].payload)
    assert submitted["new_state"] == "submitted" and submitted["lines"][0]["line_control_number"] == f"{a['id']}-1"
    assert "DOE" not in rows[-1].payload and "W123456789" not in rows[-1].payload  # no PHI in events


async def test_the_x12_reads_one_segment_a_line_and_as_sent_gives_the_bytes_delivered(client: Any) -> None:
    a = await create(client)
    (sub,) = (await client.post("/v1/submissions", json={}, headers=T)).json()
    delivered = Path(sub["destination"]).read_text()
    shown = await client.get(f"/v1/claims/{a['id']}/x12", headers=T)
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("application/edi-x12")
    lines = shown.text.splitlines()
    assert lines[0].startswith("ISA*") and lines[-1].startswith("IEA*") and all(ln.endswith("~") for ln in lines)
    assert "".join(lines) == delivered  # the same segments, a line break after each
    assert controls(shown.text) == controls(delivered)
    exact = await client.get(f"/v1/claims/{a['id']}/x12", params={"as_sent": "true"}, headers=T)
    assert exact.content == delivered.encode() and "\n" not in exact.text


async def test_a_submission_left_pending_is_retried_by_the_worker_after_the_grace_and_written_once(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import time

    from claims import background
    from claims.adapters import clearinghouse as submission_module
    from claims.config import get_settings

    a = await create(client)
    real = submission_module.FiledropAdapter.deliver

    async def refuse(self: Any, submission_id: str, x12: str) -> tuple[str, str | None]:
        raise submission_module.DeliveryError("clearinghouse unreachable")

    monkeypatch.setattr(submission_module.FiledropAdapter, "deliver", refuse)
    (sub,) = (await client.post("/v1/submissions", json={}, headers=T)).json()
    assert not sub["delivered"] and "the worker retries" in sub["error"]
    monkeypatch.setattr(submission_module.FiledropAdapter, "deliver", real)
    engine = client.app.state.engine
    assert await background.deliver_pending(engine) == 0  # within the grace the API request has: left alone
    later = datetime.now(UTC) + timedelta(seconds=get_settings().delivery_grace_s + 1)
    assert await background.deliver_pending(engine, now=later) == 1
    assert await background.deliver_pending(engine, now=later) == 0  # delivered: never again
    # the API's delivery and a retry at the same moment: both succeed, one file, no temporary left behind
    x12 = (await client.get(f"/v1/claims/{a['id']}/x12", params={"as_sent": "true"}, headers=T)).text
    adapter = submission_module.adapter_for(get_settings())
    replace = submission_module.os.replace

    def slow_replace(src: Any, dst: Any) -> None:  # every writer has written its temporary before any rename
        time.sleep(0.05)
        replace(src, dst)

    monkeypatch.setattr(submission_module.os, "replace", slow_replace)
    results = await asyncio.gather(*(adapter.deliver(sub["submission_id"], x12) for _ in range(8)))
    (destination,) = {r[0] for r in results}
    assert Path(destination).read_text() == x12
    assert [p.name for p in Path(destination).parent.iterdir()] == [Path(destination).name]


async def test_999_rejection_and_277ca_acceptance(client: Any) -> None:
    a = await create(client)
    b = await create(client, **{"subscriber.member_id": "W2"})
    await submit(client, a["id"])
    await submit(client, b["id"])
    gs_a, st_a = controls((await client.get(f"/v1/claims/{a['id']}/x12", headers=T)).text)
    r = await client.post("/v1/acknowledgments", content=ack_999(gs_a, st_a, accepted=False), headers=T)
    assert r.status_code == 200 and r.json()["claims_updated"] == [a["id"]]
    rejected = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert rejected["state"] == "rejected"
    finding = rejected["status_detail"]["findings"][0]
    assert finding["segment"] == "NM1" and finding["elements"][0]["problem"] == "invalid code value"
    r = await client.post("/v1/acknowledgments", content=ack_277ca(b["id"], accepted=True), headers=T)
    assert r.json() == {"kind": "277CA", "claims_updated": [b["id"]], "unknown": []}
    accepted = (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()
    assert accepted["state"] == "accepted" and accepted["payer_claim_control_number"] == "PAYERICN1"
    bad = await client.post("/v1/acknowledgments", content=b"ISA*00*garbage", headers=T)
    assert bad.status_code == 422


async def test_one_277ca_for_many_claims_applies_its_findings_in_order(client: Any) -> None:
    a, b = await create(client), await create(client, **{"subscriber.member_id": "W2"})
    for claim in (a, b):
        await submit(client, claim["id"])
    # a accepted, b rejected, a claim we never billed, then a again, rejected: too late, recorded only
    ack = ack_277ca(a["id"], True, also=((b["id"], False), ("CNOTOURS", True), (a["id"], False)))
    r = await client.post("/v1/acknowledgments", content=ack, headers=T)
    assert r.json() == {"kind": "277CA", "claims_updated": [a["id"], b["id"], a["id"]], "unknown": ["CNOTOURS"]}
    got_a = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    got_b = (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()
    assert (got_a["state"], got_a["payer_claim_control_number"]) == ("accepted", "PAYERICN1")
    assert got_a["status_detail"]["codes"] == ["A7:562:85"]  # the last finding is the one shown
    assert datetime.fromisoformat(got_a["updated_at"]).utcoffset() == timedelta(0)  # with its offset, on SQLite too
    assert (got_b["state"], got_b["payer_claim_control_number"]) == ("rejected", None)
    history = (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()
    assert [h["to_state"] for h in history].count("accepted") == 1 and "rejected" not in [
        h["to_state"] for h in history
    ]
    records = (await client.get(f"/v1/claims/{a['id']}/status-records", headers=T)).json()
    assert [r["codes"] for r in records if r["source"] == "277CA"] == [["A2:20:PR"], ["A7:562:85"]]


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


async def test_payment_before_acceptance_and_redelivery_move_the_claim_once(client: Any, kafka: KafkaSettings) -> None:
    a = await create(client)
    await submit(client, a["id"])
    paid = Envelope.wrap(adjudicated(a["id"], 20000, [15000, 5000]), source="/remittance", tenant_id="org-1")
    denied_other = Envelope.wrap(adjudicated("CUNKNOWN", 0, []), source="/remittance", tenant_id="org-1")
    stats = await consume(
        client,
        kafka,
        [
            ("remittance.claim.adjudicated", paid, a["id"]),
            ("remittance.claim.adjudicated", paid, a["id"]),  # redelivered
            ("remittance.claim.adjudicated", denied_other, "CUNKNOWN"),
        ],
    )
    assert stats.stats.handled == 2 and stats.stats.duplicates == 1
    claim = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert claim["state"] == "paid" and claim["paid_cents"] == 20000
    # The 277CA acceptance arrives after the payment: recorded, not lost, and the claim stays paid.
    await client.post("/v1/acknowledgments", content=ack_277ca(a["id"], accepted=True), headers=T)
    claim = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert claim["state"] == "paid" and claim["status_detail"]["source"] == "277CA"
    history = [h["to_state"] for h in (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()]
    assert history == ["ready", "submitted", "paid"]


async def test_denial_resubmission_produces_a_frequency_7_claim_that_passes_pyx12(
    client: Any, kafka: KafkaSettings, tmp_path: Path
) -> None:
    a = await create(client)
    await submit(client, a["id"])
    await client.post("/v1/acknowledgments", content=ack_277ca(a["id"], accepted=True), headers=T)
    denial = Envelope.wrap(adjudicated(a["id"], 0, [0, 0]), source="/remittance", tenant_id="org-1")
    request = Envelope.wrap(
        ResubmissionRequestedV1(
            denial_id="D1",
            claim_id=a["id"],
            reason="missing prior authorization",
            correction=ClaimCorrection(prior_authorization="AUTH777"),
        ),
        source="/denials",
        tenant_id="org-1",
    )
    await consume(client, kafka, [("remittance.claim.adjudicated", denial, a["id"])])
    assert (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()["state"] == "denied"
    await consume(client, kafka, [("denials.resubmission.requested", request, a["id"])])
    # the original stays denied until the payer accepts its replacement
    assert (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()["state"] == "denied"
    (replacement,) = (await client.get("/v1/claims?state=submitted", headers=T)).json()
    assert replacement["frequency"] == "7" and replacement["original_claim_id"] == a["id"]
    x12 = (await client.get(f"/v1/claims/{replacement['id']}/x12", headers=T)).text
    assert "REF*F8*PAYERICN1~" in x12 and "REF*G1*AUTH777~" in x12 and "*11:B:7*" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")
    await client.post("/v1/acknowledgments", content=ack_277ca(replacement["id"], True, "PAYERICN2"), headers=T)
    assert (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()["state"] == "corrected"


async def test_void_illegal_transitions_and_tenancy(client: Any, tmp_path: Path) -> None:
    a = await create(client)
    voided = (await client.post(f"/v1/claims/{a['id']}/void", headers=T)).json()
    assert voided["id"] == a["id"] and voided["state"] == "void"  # never sent: voided directly
    r = await client.post(f"/v1/claims/{a['id']}/submit", headers=T)
    assert r.status_code == 409 and "cannot become 'submitted'" in r.json()["detail"]
    b = await create(client, **{"subscriber.member_id": "W3"})
    await submit(client, b["id"])
    other = {"X-Tenant-ID": "org-2"}
    assert (await client.get(f"/v1/claims/{b['id']}", headers=other)).status_code == 404
    assert (await client.post(f"/v1/claims/{b['id']}/close", headers=other)).status_code == 404
    assert (await client.get("/v1/claims", headers=other)).json() == []


async def test_void_waits_for_the_payer_claim_number_and_for_the_payer(client: Any, tmp_path: Path) -> None:
    """Sent, not yet numbered by the payer: a void is refused (409) and changes nothing. Numbered: the void
    claim (frequency 8, REF*F8) goes out; the original is void only once the payer accepts the void."""
    b = await create(client, **{"subscriber.member_id": "W3"})
    await submit(client, b["id"])
    r = await client.post(f"/v1/claims/{b['id']}/void", headers=T)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert "has not numbered claim" in r.json()["detail"] and "REF*F8" in r.json()["detail"]
    r = await client.post(f"/v1/claims/{b['id']}/correct", headers=T, json={})
    assert r.status_code == 409, r.text  # a replacement is for a claim the payer has adjudicated
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "submitted"
    assert [c["id"] for c in (await client.get("/v1/claims", headers=T)).json()] == [b["id"]]
    await client.post("/v1/acknowledgments", content=ack_277ca(b["id"], accepted=True), headers=T)
    void_claim = (await client.post(f"/v1/claims/{b['id']}/void", headers=T)).json()
    assert void_claim["frequency"] == "8" and void_claim["original_claim_id"] == b["id"]
    assert void_claim["state"] == "ready" and void_claim["payer_claim_control_number"] == "PAYERICN1"
    again = await client.post(f"/v1/claims/{b['id']}/void", headers=T)
    assert again.status_code == 409 and f"already has a void in progress (claim {void_claim['id']}" in again.text
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "accepted"
    await submit(client, void_claim["id"])
    (aging,) = (await client.get("/v1/reports/ar-aging", headers=T)).json()
    assert (aging["claims"], aging["total_cents"]) == (1, 24550)  # the original; nothing is owed on its void
    x12 = (await client.get(f"/v1/claims/{void_claim['id']}/x12", headers=T)).text
    assert "REF*F8*PAYERICN1~" in x12 and "*11:B:8*" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "accepted"
    # the payer accepts the void; nothing was paid on the original: both are void now
    await client.post("/v1/acknowledgments", content=ack_277ca(void_claim["id"], True, "PAYERICN9"), headers=T)
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "void"
    assert (await client.get(f"/v1/claims/{void_claim['id']}", headers=T)).json()["state"] == "void"
    history = (await client.get(f"/v1/claims/{b['id']}/history", headers=T)).json()
    assert [h["to_state"] for h in history] == ["ready", "submitted", "accepted", "void"]
    assert history[-1]["reason"].startswith(f"void claim {void_claim['id']} accepted by the payer")


async def test_void_of_a_paid_claim_takes_effect_with_the_payers_reversal(client: Any, kafka: KafkaSettings) -> None:
    a = await create(client)
    await submit(client, a["id"])
    paid = Envelope.wrap(adjudicated(a["id"], 20000, [15000, 5000]), source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", paid, a["id"])])
    void_claim = (await client.post(f"/v1/claims/{a['id']}/void", headers=T)).json()
    await submit(client, void_claim["id"])
    await client.post("/v1/acknowledgments", content=ack_277ca(void_claim["id"], True, "PAYERICN9"), headers=T)
    # accepted, but the payment is not taken back yet: the original stays paid
    assert (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()["state"] == "paid"
    assert (await client.get(f"/v1/claims/{void_claim['id']}", headers=T)).json()["state"] == "accepted"
    reversal = ClaimReversedV1(
        remittance_id="R2",
        claim_id=a["id"],
        payer_id="MCRB1",
        payer_claim_control_number="PAYERICN1",
        reversed_paid_cents=-20000,
        reversed_charge_cents=-24550,
        original_remittance_id="R1",
    )
    env = Envelope.wrap(reversal, source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])
    original = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert (original["state"], original["paid_cents"]) == ("void", 0)
    assert (await client.get(f"/v1/claims/{void_claim['id']}", headers=T)).json()["state"] == "void"
    history = [h["to_state"] for h in (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()]
    assert history == ["ready", "submitted", "paid", "void"]


async def test_a_replacement_of_a_paid_claim_supersedes_it_and_its_reversal_takes_the_money_back(
    client: Any, kafka: KafkaSettings
) -> None:
    """The payer answers a replacement of a paid claim with a reversal of the original's payment and a
    payment of the replacement, in whatever order they reach us: the original ends corrected with nothing
    paid on it (the replacement's payment is the one that stands)."""
    a = await create(client)
    b = await create(client, **{"subscriber.member_id": "W2"})
    for c in (a, b):
        await submit(client, c["id"])
    await consume(
        client,
        kafka,
        [
            (
                "remittance.claim.adjudicated",
                Envelope.wrap(adjudicated(c["id"], 20000, [15000, 5000]), source="/r", tenant_id="org-1"),
                c["id"],
            )
            for c in (a, b)
        ],
    )
    fixes = {}
    for c in (a, b):
        r = await client.post(
            f"/v1/claims/{c['id']}/correct", headers=T, json={"correction": {"referral_number": "REF1"}}
        )
        assert r.status_code == 201, r.text
        fixes[c["id"]] = r.json()["id"]
        await submit(client, fixes[c["id"]])
        assert (await client.get(f"/v1/claims/{c['id']}", headers=T)).json()["state"] == "paid"
    # b: the payer's 277CA accepts the replacement first; a: the reversal comes first
    await client.post("/v1/acknowledgments", content=ack_277ca(fixes[b["id"]], True, "PAYERICN7"), headers=T)
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "corrected"

    def reversal(claim_id: str) -> tuple[str, Envelope, str]:
        payload = ClaimReversedV1(
            remittance_id="R2",
            claim_id=claim_id,
            payer_id="MCRB1",
            payer_claim_control_number="PAYERICN1",
            reversed_paid_cents=-20000,
            reversed_charge_cents=-24550,
            original_remittance_id="R1",
        )
        return "remittance.claim.adjudicated", Envelope.wrap(payload, source="/r", tenant_id="org-1"), claim_id

    await consume(client, kafka, [reversal(a["id"]), reversal(b["id"])])
    for c in (a, b):
        original = (await client.get(f"/v1/claims/{c['id']}", headers=T)).json()
        assert (original["state"], original["paid_cents"]) == ("corrected", 0), original
    await client.post("/v1/acknowledgments", content=ack_277ca(fixes[a["id"]], True, "PAYERICN8"), headers=T)
    assert (await client.get(f"/v1/claims/{fixes[a['id']]}", headers=T)).json()["state"] == "accepted"
    history = [h["to_state"] for h in (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()]
    assert history == ["ready", "submitted", "paid", "corrected"]


async def test_a_claim_that_cannot_be_built_is_held_and_the_rest_of_the_batch_goes(client: Any) -> None:
    """A frequency-8 claim stored without the payer's claim number (as a void asked too early once made
    them) cannot be written into an 837: it goes back to draft with the reason; the other claims are sent."""
    from claims.models import claim
    from sqlalchemy import update

    a = await create(client)
    bad = await create(client, **{"subscriber.member_id": "W2"})
    c = await create(client, **{"subscriber.member_id": "W3"})
    async with client.app.state.engine.begin() as conn:
        await conn.execute(
            update(claim).where(claim.c.id == bad["id"]).values(frequency="8", original_claim_id=a["id"])
        )
    r = await client.post("/v1/submissions", json={}, headers=T)
    assert r.status_code == 200, r.text
    assert sorted(cid for s in r.json() for cid in s["claim_ids"]) == sorted([a["id"], c["id"]])
    for sent in (a, c):
        assert (await client.get(f"/v1/claims/{sent['id']}", headers=T)).json()["state"] == "submitted"
    held = (await client.get(f"/v1/claims/{bad['id']}", headers=T)).json()
    assert held["state"] == "draft"
    (edit,) = [e for e in held["edits"] if e["rule"] == "SUB001"]
    assert edit["severity"] == "error" and "needs the payer claim control number" in edit["message"]
    history = (await client.get(f"/v1/claims/{bad['id']}/history", headers=T)).json()
    assert history[-1]["to_state"] == "draft" and "held back from submission" in history[-1]["reason"]
    # asked for alone, a claim that cannot be built is a problem for the caller, not a 500
    await client.put(f"/v1/claims/{bad['id']}", json=held["document"], headers=T)
    r = await client.post(f"/v1/claims/{bad['id']}/submit", headers=T)
    assert r.status_code == 422 and r.json()["held"][0]["claim_id"] == bad["id"], r.text


async def test_secondary_claim_with_prior_payer_adjudication_passes_pyx12(client: Any, tmp_path: Path) -> None:
    prior = {
        "payer_id": "MCRB1",
        "name": "Medicare Part B",
        "responsibility": "P",
        "filing_indicator": "MB",
        "subscriber": {"last_name": "Doe", "first_name": "Jane", "member_id": "1EG4TE5MK73"},
        "paid": "160.00",
        "paid_date": "2026-11-01",
        "remaining_patient_liability": "40.00",
        "adjustments": [
            {"group": "CO", "reason": "45", "amount": "45.50"},
            {"group": "PR", "reason": "2", "amount": "40.00"},
        ],
    }
    doc = encounter(
        **{"payer": {"payer_id": "AARP1", "name": "AARP Medigap", "responsibility": "S", "filing_indicator": "CI"}}
    )
    doc["prior_payers"] = [prior]
    doc["lines"][0]["prior_payments"] = [
        {
            "paid": "130.00",
            "paid_date": "2026-11-01",
            "adjustments": [
                {"group": "CO", "reason": "45", "amount": "40.00"},
                {"group": "PR", "reason": "2", "amount": "30.00"},
            ],
        }
    ]
    doc["lines"][1]["prior_payments"] = [
        {
            "paid": "30.00",
            "paid_date": "2026-11-01",
            "adjustments": [
                {"group": "CO", "reason": "45", "amount": "5.50"},
                {"group": "PR", "reason": "2", "amount": "10.00"},
            ],
        }
    ]
    r = await client.post("/v1/claims", json=doc, headers=T)
    assert r.json()["state"] == "ready", r.json()["edits"]
    await submit(client, r.json()["id"])
    x12 = (await client.get(f"/v1/claims/{r.json()['id']}/x12", headers=T)).text
    assert "SBR*P*18" in x12 and "AMT*D*160~" in x12 and "SVD*MCRB1*130*HC:99214:25" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")


async def test_status_inquiry_sends_a_276(client: Any) -> None:
    a = await create(client)
    early = await client.post(f"/v1/claims/{a['id']}/status-inquiry", headers=T)
    assert early.status_code == 409  # nothing to ask about before the claim is sent
    await submit(client, a["id"])
    r = await client.post(f"/v1/claims/{a['id']}/status-inquiry", headers=T)
    assert r.status_code == 200 and r.json()["delivered"]
    text = Path(r.json()["destination"]).read_text()
    from rcm_shared.x12.sets.x276 import read_276

    (inquiry,) = read_276(text.encode())
    assert inquiry.claim_id == a["id"] and inquiry.total_charge == 245.5 and inquiry.member_id == "W123456789"
    (record,) = (await client.get(f"/v1/claims/{a['id']}/status-records", headers=T)).json()
    assert record["source"] == "276" and inquiry.trace_number in record["summary"]


async def test_follow_up_lists_what_is_late_sends_276s_and_reads_the_277_answers(client: Any) -> None:
    """Medicare (MCRB1): 999 expected within 2 days, 277CA within 7, payment within 14 (payer_rules.toml)."""
    from datetime import timedelta

    from factory import TODAY, days_ago
    from rcm_shared.x12.sets.x276 import Status, StatusAnswer, build_277, read_276

    def at(days: int) -> str:
        return (TODAY + timedelta(days=days)).isoformat()

    async def listed(days: int) -> dict[str, dict[str, Any]]:
        r = await client.get("/v1/follow-up", params={"as_of": at(days)}, headers=T)
        assert r.status_code == 200, r.text
        return {i["claim_id"]: i for i in r.json()}

    a = await create(client)
    await submit(client, a["id"])
    assert a["id"] not in await listed(0) and a["id"] not in await listed(2)
    late = (await listed(3))[a["id"]]
    assert (late["reason"], late["next_action"], late["inquiry_due"]) == ("no_999", "resend", False)
    gs, st = controls((await client.get(f"/v1/claims/{a['id']}/x12", headers=T)).text)
    await client.post("/v1/acknowledgments", content=ack_999(gs, st, accepted=True), headers=T)
    assert a["id"] not in await listed(7)
    item = (await listed(8))[a["id"]]
    assert (item["reason"], item["next_action"], item["inquiry_due"]) == ("no_277ca", "status_inquiry", True)

    sent = await client.post("/v1/follow-up/inquiries", json={"as_of": at(8)}, headers=T)
    assert sent.status_code == 200 and [s["claim_ids"] for s in sent.json()] == [[a["id"]]]
    (inquiry,) = read_276(Path(sent.json()[0]["destination"]).read_bytes())
    assert inquiry.claim_id == a["id"]
    again = await client.post("/v1/follow-up/inquiries", json={"as_of": at(8)}, headers=T)
    assert again.json() == []  # asked already: the next one is due inquiry_every_days later
    item = (await listed(8))[a["id"]]
    assert item["last_inquiry_at"] and not item["inquiry_due"] and item["next_action"] == "status_inquiry"

    # the payer's 277: not on file -> resubmit
    answer = build_277([StatusAnswer(inquiry, Status("A4", "35"))], reference="R1", created=TODAY)
    text = writer_for(answer, sender="CLEARINGHOUSE", receiver="RCMCLINIC").render([answer])
    r = await client.post("/v1/acknowledgments", content=text, headers=T)
    assert r.json() == {"kind": "277", "claims_updated": [a["id"]], "unknown": []}
    item = (await listed(8))[a["id"]]
    assert item["last_answer"]["codes"] == ["A4:35"] and item["next_action"] == "resubmit"
    records = (await client.get(f"/v1/claims/{a['id']}/status-records", headers=T)).json()
    assert [x["source"] for x in records] == ["999", "276", "277"]

    # the worker's sweep: the same list, every tenant, inquiries prepared for delivery
    from claims.config import get_settings
    from claims.use_cases.follow_up import send_due_inquiries
    from claims.adapters.scrub_resources import default_resources

    b = await create(client, **{"subscriber.member_id": "W7"})
    await submit(client, b["id"])
    gs, st = controls((await client.get(f"/v1/claims/{b['id']}/x12", headers=T)).text)
    await client.post("/v1/acknowledgments", content=ack_999(gs, st, accepted=True), headers=T)
    engine = client.app.state.engine  # the app's own engine (same database)
    swept = await send_due_inquiries(
        engine, get_settings(), default_resources().payer_rules, as_of=TODAY + timedelta(days=30)
    )
    assert [p.claim_ids for p in swept] == [[b["id"]]]  # a's answer says resubmit: no second inquiry
    assert (await listed(30))[b["id"]]["last_inquiry_at"]

    # timely filing: flagged warn_days_before_limit (30) before the limit (365 days from the date of service)
    old = await create(client, **{"lines.0.service_date": days_ago(340), "lines.1.service_date": days_ago(340)})
    flagged = (await listed(0))[old["id"]]
    assert flagged["reason"] == "timely_filing" and flagged["next_action"] == "file_now"
    assert flagged["timely_filing_warning"] and flagged["days_to_timely_filing_limit"] == 25
    assert next(iter(await listed(0))) == old["id"]  # the nearest limit comes first


async def test_primary_adjudication_builds_the_secondary_claim(
    client: Any, kafka: KafkaSettings, tmp_path: Path
) -> None:
    secondary = {
        "payer_id": "AARP1",
        "name": "AARP Medigap",
        "filing_indicator": "CI",
        "subscriber": {
            "last_name": "Doe",
            "first_name": "Jane",
            "member_id": "AARP77",
            "birth_date": "1980-02-29",
            "sex": "F",
            "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
        },
    }
    a = await create(client, secondary_payer=secondary)
    await submit(client, a["id"])
    event = ClaimAdjudicatedV1(
        remittance_id="R9",
        claim_id=a["id"],
        payer_id="MCRB1",
        payer_claim_control_number="PCCN9",
        status_code="1",
        charge_cents=24550,
        paid_cents=16000,
        patient_responsibility_cents=4000,
        contractual_cents=4550,
        adjustments=[
            AdjustmentOut(group="CO", reason="45", amount_cents=4000, line_number=1),
            AdjustmentOut(group="PR", reason="2", amount_cents=3000, line_number=1),
            AdjustmentOut(group="CO", reason="45", amount_cents=550, line_number=2),
            AdjustmentOut(group="PR", reason="2", amount_cents=1000, line_number=2),
        ],
        lines=[
            LinePaymentOut(
                line_number=1, line_control_number=None, procedure_code="99214", charge_cents=20000, paid_cents=13000
            ),
            LinePaymentOut(
                line_number=2, line_control_number=None, procedure_code="83036", charge_cents=4550, paid_cents=3000
            ),
        ],
        payment_date=date(2026, 11, 20),
    )
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])
    claims = (await client.get("/v1/claims", headers=T)).json()
    second = next(c for c in claims if c["payer_id"] == "AARP1")
    assert second["state"] == "ready" and second["frequency"] == "1" and second["original_claim_id"] == a["id"]
    assert second["document"]["prior_payers"][0]["paid"] == "160.00"
    await submit(client, second["id"])
    x12 = (await client.get(f"/v1/claims/{second['id']}/x12", headers=T)).text
    assert "SBR*S*18" in x12 and "AMT*D*160~" in x12 and "SVD*MCRB1*130*HC:99214:25" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])  # redelivered: no second copy
    assert sum(c["payer_id"] == "AARP1" for c in (await client.get("/v1/claims", headers=T)).json()) == 1
    # remittance learns from the events whose claims these are and who pays next: one patient, one account
    import json

    from sqlalchemy import select

    async with client.app.state.engine.connect() as conn:
        rows = await conn.execute(
            select(bus.outbox.c.key, bus.outbox.c.payload).where(bus.outbox.c.key.in_([a["id"], second["id"]]))
        )
        events = [(key, json.loads(payload)) for key, payload in rows]
    primary = [e for k, e in events if k == a["id"]]
    secondary_events = [e for k, e in events if k == second["id"]]
    assert {e["next_payer_id"] for e in primary} == {"AARP1"} and {e["next_payer_id"] for e in secondary_events} == {
        None
    }
    accounts = {e["patient_account"] for _k, e in events}
    assert len(accounts) == 1 and next(iter(accounts)).startswith("A")
    assert a["patient_account"] == second["patient_account"] == next(iter(accounts))
    other = await create(client, **{"subscriber.first_name": "John", "subscriber.member_id": "W999"})
    assert other["patient_account"] not in (None, a["patient_account"])


async def test_a_crossover_is_not_billed_to_the_secondary_and_waits_for_its_835(
    client: Any, kafka: KafkaSettings
) -> None:
    """Medicare answers CLP02 19 with NM1*TT: it forwarded the claim to the Medigap plan itself. No secondary
    claim from us (it would be a duplicate, CO-18); the carrier is recorded; the claim is on the follow-up list
    once the carrier's 835 is late; that 835 (same claim id) completes the claim's money."""
    secondary = {
        "payer_id": "MGAP1",
        "name": "MEDIGAP MUTUAL",
        "filing_indicator": "CI",
        "subscriber": {
            "last_name": "Doe",
            "first_name": "Jane",
            "member_id": "MG77",
            "birth_date": "1950-02-28",
            "sex": "F",
            "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
        },
    }
    a = await create(client, secondary_payer=secondary)
    await submit(client, a["id"])
    # Medicare paid (BPR16) 20 days before its 835 is processed here: the crossover payer's wait counts from then
    paid_on = datetime.now(UTC).date() - timedelta(days=20)
    common = {"remittance_id": "R19", "claim_id": a["id"], "charge_cents": 24550, "payment_date": paid_on}
    medicare = ClaimAdjudicatedV1(
        **common,
        payer_id="MCRB1",
        payer_claim_control_number="MCR19",
        status_code="19",
        paid_cents=16000,
        patient_responsibility_cents=4000,
        contractual_cents=4550,
        adjustments=[
            AdjustmentOut(group="CO", reason="45", amount_cents=4550, line_number=1),
            AdjustmentOut(group="PR", reason="2", amount_cents=4000, line_number=1),
        ],
        crossover_payer_id="MGAP1",
        crossover_payer_name="MEDIGAP MUTUAL",
    )
    env = Envelope.wrap(medicare, source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])
    claims = (await client.get("/v1/claims", headers=T)).json()
    assert [c["id"] for c in claims] == [a["id"]]  # no secondary claim
    (c,) = claims
    assert c["state"] == "paid" and c["crossover_payer_id"] == "MGAP1" and c["crossover_state"] == "pending"
    assert c["crossover_payer_name"] == "MEDIGAP MUTUAL"

    async def listed(days: int) -> dict[str, dict[str, Any]]:
        as_of = (datetime.now(UTC).date() + timedelta(days=days)).isoformat()
        r = await client.get("/v1/follow-up", params={"as_of": as_of}, headers=T)
        assert r.status_code == 200, r.text
        return {i["claim_id"]: i for i in r.json()}

    assert a["id"] not in await listed(10)  # the default rules' payment_days for MGAP1: 30
    late = (await listed(11))[a["id"]]
    assert late["days_outstanding"] == 31
    assert late["reason"] == "no_crossover_payment" and late["next_action"] == "contact_crossover_payer"
    assert late["payer_id"] == "MGAP1" and not late["inquiry_due"]

    answer = ClaimAdjudicatedV1(
        **common | {"remittance_id": "R2"},
        payer_id="MGAP1",
        payer_claim_control_number="MG2",
        status_code="2",
        paid_cents=4000,
        patient_responsibility_cents=0,
        contractual_cents=0,
        adjustments=[AdjustmentOut(group="OA", reason="23", amount_cents=20550, line_number=1)],
        crossover_answer=True,
    )
    env = Envelope.wrap(answer, source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])
    (c,) = (await client.get("/v1/claims", headers=T)).json()
    assert c["state"] == "paid" and c["crossover_state"] == "answered"
    assert (c["paid_cents"], c["patient_responsibility_cents"]) == (20000, 0)
    assert a["id"] not in await listed(31)


async def test_kpis_and_ar_aging_follow_the_claims(client: Any, kafka: KafkaSettings) -> None:
    paid = await create(client)  # clean, accepted, paid: 20000 of 24550 with CO-45 4550
    held = await create(client, **{"diagnoses": ["E11"]})  # the scrubber holds it: not clean
    rejected = await create(client, **{"subscriber.member_id": "W000000001"})
    denied = await create(client, **{"subscriber.member_id": "W000000002"})
    assert held["state"] == "draft"
    for c in (paid, rejected, denied):
        await submit(client, c["id"])
    await client.post("/v1/acknowledgments", content=ack_277ca(rejected["id"], accepted=False), headers=T)
    sent = (await client.get(f"/v1/claims/{paid['id']}", headers=T)).json()["submitted_at"]
    # the 835 pays 14 days after the claim went out (BPR16), whenever it is processed
    paid_on = datetime.fromisoformat(sent).date() + timedelta(days=14)
    events = [
        (
            "remittance.claim.adjudicated",
            Envelope.wrap(
                adjudicated(c, amount, [amount]).model_copy(update={"payment_date": paid_on}),
                source="/r",
                tenant_id="org-1",
            ),
            c,
        )
        for c, amount in ((paid["id"], 20000), (denied["id"], 0))
    ]
    await consume(client, kafka, events)
    kpis = (await client.get("/v1/reports/kpis", headers=T)).json()
    assert (kpis["claims"], kpis["submitted"], kpis["adjudicated"]) == (4, 3, 2)
    assert kpis["clean_claim_rate"] == 0.5  # paid and denied passed the scrubber and were not rejected
    assert kpis["first_pass_yield"] == round(1 / 3, 4)
    assert kpis["denial_rate"] == 0.5
    # paid 20000 of what the payers owed: 2 x 24550 charged - 4550 contractual (the denial's CO-50 is not)
    assert kpis["net_collection_rate"] == round(20000 / (2 * 24550 - 4550), 4)
    assert kpis["average_days_to_payment"] == 14.0
    assert (await client.get(f"/v1/claims/{paid['id']}", headers=T)).json()["paid_on"] == paid_on.isoformat()
    aging = (await client.get("/v1/reports/ar-aging", headers=T)).json()
    assert aging == [
        {
            "payer_id": "MCRB1",
            "claims": 2,
            "total_cents": 2 * 24550,
            "0-30": 2 * 24550,
            "31-60": 0,
            "61-90": 0,
            "91-120": 0,
            "120+": 0,
            "credit_claims": 0,
            "credit_cents": 0,
        }
    ]  # the rejected and the denied claim; the paid one is settled, the held one never reached a payer
    in_half_a_year = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()  # 210 days after service
    later = (await client.get("/v1/reports/ar-aging", params={"as_of": in_half_a_year}, headers=T)).json()
    assert later[0]["120+"] == 2 * 24550
    other = (await client.get("/v1/reports/kpis", headers={"X-Tenant-ID": "org-2"})).json()
    assert other["claims"] == 0 and other["clean_claim_rate"] is None
