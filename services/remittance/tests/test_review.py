"""The held-remittance queue: an unbalanced 835 is held, then released or rejected by an operator, or
superseded by the payer's corrected file for the same TRN02 (real database, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from builders.x835 import claim, copay_claim, header, interchange, line, paid_claim, standard_file
from rcm_shared.audit import verify
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.testing import app_client, enum_of
from rcm_shared.x12.sets.x835 import ProviderAdjustment
from remittance.models import (
    audit,
    bus,
    claim_payment,
    deposit,
    held_set,
    ledger_entry,
    patient_ledger,
    remittance,
    review_item,
)
from remittance.use_cases import review, service_units
from remittance.use_cases.billed_claims import on_claim_status_changed
from remittance.use_cases.deposits import record_deposit
from remittance.use_cases.ingestion import ACTOR, ingest_835
from remittance_steps import HOME, rows
from sqlalchemy import func, select

TENANT = "org-1"


async def ingest(engine: Any, data: bytes, tmp_path: Path, name: str, tenant: str = TENANT) -> Any:
    path = tmp_path / name
    path.write_bytes(data)
    (result,) = await ingest_835(service_units(engine), path, tenant=tenant, batch_size=2)
    return result


async def count(engine: Any, table: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def short_paid(isa: int = 1) -> bytes:
    """The standard two claims (80.00 + 55.00) under a BPR02 of 125.00: the payer's check is 10.00 short of
    what its claims add up to, as when a PLB recouping an overpayment is left out of the file."""
    return interchange((header("EFT0100", "125.00"), [paid_claim(), copay_claim()], []), isa=isa)


def corrected(isa: int = 2) -> bytes:
    """The payer's corrected file for the same TRN02: the 10.00 recoupment now stated as a PLB (WO)."""
    plb = ProviderAdjustment("", "1234567893", None, "WO", "ICN0999", D("10.00"))
    return interchange((header("EFT0100", "125.00"), [paid_claim(), copay_claim()], [plb]), isa=isa)


def events(outbox_rows: list[Any]) -> list[tuple[str, str | None, str, dict[str, Any]]]:
    """The outbox rows as (topic, key, type, payload without the remittance id), in order."""
    out = []
    for e in outbox_rows:
        data = json.loads(e.payload)
        data.pop("remittance_id", None)
        out.append((e.topic, e.key, e.event_type, data))
    return out


async def test_a_held_835_lists_why_and_a_release_posts_it_once_with_the_events_of_a_normal_posting(
    engine: Any, tmp_path: Path
) -> None:
    held = await ingest(engine, short_paid(), tmp_path, "held.835")
    assert held.status == "held"
    (row,) = await rows(engine, remittance, remittance.c.id == held.remittance_id)
    assert row.imbalance_cents == -1000 and row.hold_reasons[0].startswith("BPR02 125.00 does not equal")
    assert await count(engine, claim_payment) == 0 and await count(engine, bus.outbox) == 0
    await record_deposit(
        service_units(engine), tenant=TENANT, trace_number="EFT0100", amount_cents=12500, deposit_date=row.payment_date
    )

    decision = review.Decision("biller.ann", "EOB checked: 10.00 recouped for ICN0999, PLB missing from the file")
    released = await review.release(
        service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=decision
    )
    assert (released.status, released.claim_count) == ("posted", 2)
    (row,) = await rows(engine, remittance, remittance.c.id == held.remittance_id)
    assert (row.status, row.review_decision, row.reviewed_by) == ("posted", "released", "biller.ann")
    assert row.review_note == decision.note and row.posted_at is not None and row.claim_count == 2
    assert {c.posted_at for c in await rows(engine, claim_payment)} == {row.posted_at}
    (item,) = await rows(engine, review_item, review_item.c.kind == "unbalanced")
    assert item.status == "resolved" and item.note == f"released: {decision.note}"
    assert sum(e.amount_cents for e in await rows(engine, ledger_entry) if e.entry_type == "payment") == 13500
    (dep,) = await rows(engine, deposit)
    assert dep.remittance_id == held.remittance_id  # the bank deposit of the check now matches it

    # the events are those the same claims posted from a balanced file give, once
    released_events = events(await rows(engine, bus.outbox))
    await ingest(engine, standard_file(trace="EFT0101"), tmp_path, "other.835", tenant="org-2")
    normal = events(await rows(engine, bus.outbox, bus.outbox.c.tenant_id == "org-2"))
    assert len(released_events) == 2 and released_events == normal

    # nothing is posted twice: a second release, the same file again, the same TRN again
    with pytest.raises(review.ReviewError) as again:
        await review.release(service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=decision)
    assert again.value.status == 409 and "released by biller.ann" in again.value.detail
    assert (await ingest(engine, short_paid(), tmp_path, "again.835")).status == "duplicate"
    assert (await ingest(engine, corrected(), tmp_path, "late.835")).status == "duplicate"  # a posted TRN
    assert await count(engine, claim_payment, claim_payment.c.tenant_id == TENANT) == 2
    assert await count(engine, bus.outbox, bus.outbox.c.tenant_id == TENANT) == len(released_events)


async def test_a_rejected_835_stays_unposted_with_the_note_and_cannot_be_released(engine: Any, tmp_path: Path) -> None:
    held = await ingest(engine, short_paid(), tmp_path, "held.835")
    decision = review.Decision("biller.bob", "payer called: corrected 835 on its way, do not post this one")
    await review.reject(service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=decision)
    (row,) = await rows(engine, remittance, remittance.c.id == held.remittance_id)
    assert (row.status, row.review_decision, row.reviewed_by, row.review_note) == (
        "rejected",
        "rejected",
        "biller.bob",
        decision.note,
    )
    assert row.posted_at is None and row.hold_reasons  # visible, with why it was held
    assert await count(engine, claim_payment) == 0 and await count(engine, ledger_entry) == 0
    assert await count(engine, bus.outbox) == 0
    (item,) = await rows(engine, review_item)
    assert item.status == "resolved" and item.note == f"rejected: {decision.note}"
    for decide in (review.release, review.reject):
        with pytest.raises(review.ReviewError) as refused:
            await decide(service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=decision)
        assert refused.value.status == 409
    with pytest.raises(review.ReviewError) as missing:
        await review.release(service_units(engine), tenant="org-2", remittance_id=held.remittance_id, decision=decision)
    assert missing.value.status == 404  # another organization's remittance is not there


@pytest.mark.parametrize("rejected_first", [False, True])
async def test_the_payers_corrected_835_for_the_same_trace_supersedes_the_held_one_and_posts(
    engine: Any, tmp_path: Path, rejected_first: bool
) -> None:
    held = await ingest(engine, short_paid(), tmp_path, "held.835")
    if rejected_first:
        await review.reject(
            service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=review.Decision("a", "b")
        )
    fixed = await ingest(engine, corrected(), tmp_path, "corrected.835")
    assert (fixed.status, fixed.supersedes) == ("posted", held.remittance_id)
    (old,) = await rows(engine, remittance, remittance.c.id == held.remittance_id)
    assert (old.status, old.superseded_by, old.posted_at) == ("superseded", fixed.remittance_id, None)
    (new,) = await rows(engine, remittance, remittance.c.id == fixed.remittance_id)
    assert (new.status, new.plb_total_cents) == ("posted", 1000)
    (item,) = await rows(engine, review_item, review_item.c.kind == "unbalanced")
    assert item.status == "resolved"
    assert await count(engine, claim_payment) == 2
    assert {e.topic for e in await rows(engine, bus.outbox)} == {
        "remittance.claim.adjudicated",
        "remittance.provider.adjusted",
    }
    outbox = await count(engine, bus.outbox)

    # the held file again is the same file (a duplicate); the superseded one cannot be released
    assert (await ingest(engine, short_paid(), tmp_path, "held-again.835")).status == "duplicate"
    assert (await ingest(engine, corrected(isa=3), tmp_path, "corrected-again.835")).status == "duplicate"
    with pytest.raises(review.ReviewError) as refused:
        await review.release(
            service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=review.Decision("a", "b")
        )
    assert refused.value.status == 409 and "superseded" in refused.value.detail
    assert await count(engine, claim_payment) == 2 and await count(engine, bus.outbox) == outbox


async def test_two_releases_at_once_post_once(engine: Any, tmp_path: Path) -> None:
    held = await ingest(engine, short_paid(), tmp_path, "held.835")
    outcomes = await asyncio.gather(
        *(
            review.release(
                service_units(engine),
                tenant=TENANT,
                remittance_id=held.remittance_id,
                decision=review.Decision(who, "x"),
            )
            for who in ("ann", "bob")
        ),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["IngestResult", "ReviewError"]
    assert await count(engine, claim_payment) == 2 and await count(engine, bus.outbox) == 2


async def test_a_corrected_file_dropped_in_the_inbound_folder_supersedes_the_held_one(
    engine: Any, tmp_path: Path
) -> None:
    from remittance.adapters.inbound import Seen
    from remittance.background import scan_once

    folder = tmp_path / "inbound"
    folder.mkdir()
    (folder / "a.835").write_bytes(short_paid())
    seen = Seen()
    for _look in range(2):  # the first look notes the file, the second takes it
        await scan_once(service_units(engine), folder, TENANT, 500, seen, HOME)
    (folder / "b.835").write_bytes(corrected())
    for _look in range(2):
        await scan_once(service_units(engine), folder, TENANT, 500, seen, HOME)
    assert sorted(p.name for p in (folder / "processed").iterdir()) == ["a.835", "b.835"]
    assert sorted(r.status for r in await rows(engine, remittance)) == ["posted", "superseded"]
    assert await count(engine, claim_payment) == 2


async def test_a_correction_that_does_not_balance_either_is_held_in_place_of_the_first(
    engine: Any, tmp_path: Path
) -> None:
    first = await ingest(engine, short_paid(isa=1), tmp_path, "held.835")
    second = await ingest(engine, short_paid(isa=5), tmp_path, "held-2.835")  # a new interchange, same TRN
    assert (second.status, second.supersedes) == ("held", first.remittance_id)
    statuses = {r.id: r.status for r in await rows(engine, remittance)}
    assert statuses == {first.remittance_id: "superseded", second.remittance_id: "held"}
    assert await count(engine, held_set) == 2
    released = await review.release(
        service_units(engine),
        tenant=TENANT,
        remittance_id=second.remittance_id,
        decision=review.Decision("a", "checked"),
    )
    assert released.status == "posted" and await count(engine, claim_payment) == 2


async def test_a_held_set_shows_the_claim_that_does_not_foot_and_its_plbs(engine: Any, tmp_path: Path) -> None:
    bad = claim(
        "PCN0009", "1", "100.00", "70.00", "ICN9", lines=[line("99213", "100.00", "70.00", [("CO", "45", "20.00")])]
    )
    plb = ProviderAdjustment("", "1234567893", None, "WO", "ICN0999", D("5.00"))
    held = await ingest(
        engine, interchange((header("EFT0300", "145.00"), [paid_claim(), bad], [plb])), tmp_path, "x.835"
    )
    assert held.status == "held"
    async with engine.connect() as conn:
        contents = await review.held_contents(service_units().on(conn, TENANT, ACTOR), held.remittance_id)
        assert await review.held_contents(service_units().on(conn, "org-2", ACTOR), held.remittance_id) is None
    assert contents is not None
    assert [(c.claim_id, c.off_by_cents) for c in contents.claims] == [("PCN0001", 0), ("PCN0009", 1000)]
    assert [(p.reason, p.reference, p.amount_cents) for p in contents.provider_adjustments] == [("WO", "ICN0999", 500)]
    (row,) = await rows(engine, remittance)
    assert row.imbalance_cents == 14500 - (15000 - 500)


async def test_an_amount_finer_than_a_cent_is_held_and_cannot_be_released(engine: Any, tmp_path: Path) -> None:
    odd = claim("PCN0010", "1", "100.00", "80.00", "ICN10", adjustments=[("CO", "45", "20.00")])
    data = interchange((header("EFT0400", "80.01"), [odd], []))  # the writer rounds: the payer's amounts by hand
    data = data.replace(b"*100*80*", b"*100*80.005*").replace(b"CAS*CO*45*20~", b"CAS*CO*45*19.995~")
    held = await ingest(engine, data, tmp_path, "odd.835")
    assert held.status == "held"
    (row,) = await rows(engine, remittance)
    assert row.imbalance_cents == 0  # 80.01 - 80.005, to the cent
    with pytest.raises(review.ReviewError) as refused:
        await review.release(
            service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=review.Decision("a", "b")
        )
    assert refused.value.status == 409 and "more than two decimals" in refused.value.detail
    (row,) = await rows(engine, remittance)
    assert row.status == "held" and await count(engine, claim_payment) == 0  # nothing of the attempt stays


async def test_a_held_set_of_a_file_with_other_sets_keeps_only_its_own_x12(engine: Any, tmp_path: Path) -> None:
    balanced = (header("EFT0200", "135.00"), [paid_claim("PCN0201", "ICN0201"), copay_claim()], [])
    unbalanced = (header("EFT0201", "1.00"), [paid_claim("PCN0301", "ICN0301")], [])
    path = tmp_path / "two.835"
    path.write_bytes(interchange(balanced, unbalanced))
    posted, held = await ingest_835(service_units(engine), path, tenant=TENANT)
    assert (posted.status, held.status) == ("posted", "held")
    await review.release(
        service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=review.Decision("a", "b")
    )
    claims = sorted((c.remittance_id == held.remittance_id, c.claim_id) for c in await rows(engine, claim_payment))
    assert claims == [(False, "PCN0002"), (False, "PCN0201"), (True, "PCN0301")]


# -- over HTTP: problem details, the operator and the audit trail ----------------------------------------
@pytest.fixture
async def client(db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Any]:
    db = await db_factory("remittance")
    monkeypatch.setenv("REMITTANCE_DATABASE_URL", db.url)
    monkeypatch.setenv("REMITTANCE_DB_SCHEMA", db.schema)
    monkeypatch.setenv("REMITTANCE_SPOOL_DIR", str(tmp_path / "spool"))
    from remittance.config import get_settings
    from remittance.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c


X12 = {"content-type": "application/edi-x12", "X-Tenant-ID": TENANT}


async def test_the_held_queue_over_http_records_who_decided_and_audits_each_decision(client: Any) -> None:
    r = await client.post("/v1/remittances", content=short_paid(), headers=X12)
    assert r.status_code == 201 and r.json()["remittances"][0]["status"] == "held"
    (queued,) = (await client.get("/v1/remittances", params={"status": "held"}, headers=X12)).json()
    assert queued["imbalance_cents"] == -1000 and queued["hold_reasons"]
    rid = queued["id"]
    carried = (await client.get(f"/v1/remittances/{rid}/held-set", headers=X12)).json()
    assert carried["imbalance_cents"] == -1000 and carried["provider_adjustments"] == []
    assert [(c["claim_id"], c["paid_cents"], c["off_by_cents"]) for c in carried["claims"]] == [
        ("PCN0001", 8000, 0),
        ("PCN0002", 5500, 0),
    ]
    assert (await client.get("/v1/remittances/nope/held-set", headers=X12)).status_code == 404
    who = {"X-Tenant-ID": TENANT, "X-Actor": "biller.ann"}
    assert (await client.post(f"/v1/remittances/{rid}/release", json={"note": ""}, headers=who)).status_code == 422
    done = await client.post(f"/v1/remittances/{rid}/release", json={"note": "EOB checked"}, headers=who)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["review_decision"], body["reviewed_by"], body["review_note"]) == (
        "posted",
        "released",
        "biller.ann",
        "EOB checked",
    )
    twice = await client.post(f"/v1/remittances/{rid}/release", json={"note": "again"}, headers=who)
    assert twice.status_code == 409 and twice.headers["content-type"].startswith("application/problem+json")
    assert "released by biller.ann" in twice.json()["detail"]
    rejected = await client.post(f"/v1/remittances/{rid}/reject", json={"note": "too late"}, headers=who)
    assert rejected.status_code == 409
    missing = await client.post("/v1/remittances/nope/reject", json={"note": "x"}, headers=who)
    assert missing.status_code == 404
    claims = (await client.get(f"/v1/remittances/{rid}/claims", headers=X12)).json()
    assert [c["claim_id"] for c in claims] == ["PCN0001", "PCN0002"]

    engine = client.app.state.engine
    trail = await rows(
        engine, audit, audit.c.method == "POST", audit.c.resource.like("/v1/remittances/{remittance_id}/%")
    )
    assert sorted((a.resource.rsplit("/", 1)[1], a.status, a.resource_id) for a in trail) == [
        ("reject", 404, "nope"),
        ("reject", 409, rid),
        ("release", 200, rid),
        ("release", 409, rid),
        ("release", 422, rid),
    ]
    assert all(a.actor == "anonymous" for a in trail)  # the token's client (no authentication in this test)
    assert (await verify(engine, audit)).ok  # the decisions' rows, committed with them, keep the chain


async def test_list_filters_name_their_values_and_refuse_unknown_ones(client: Any) -> None:
    held = (await client.post("/v1/remittances", content=short_paid(), headers=X12)).json()["remittances"][0]
    posted = (await client.post("/v1/remittances", content=standard_file(isa=2), headers=X12)).json()["remittances"]
    assert (held["status"], posted[0]["status"]) == ("held", "posted")

    async def listed(path: str, **params: Any) -> list[Any]:
        r = await client.get(path, params=params, headers=X12)
        assert r.status_code == 200, r.text
        return list(r.json())

    assert [r["id"] for r in await listed("/v1/remittances", status="held")] == [held["remittance_id"]]
    both = await listed("/v1/remittances", status=["held", "posted"])
    assert {r["id"] for r in both} == {held["remittance_id"], posted[0]["remittance_id"]}
    # review items: the open ones by default; status repeats, so both lists everything
    (unbalanced,) = await listed("/v1/review-items", kind="unbalanced")
    assert unbalanced["status"] == "open" and unbalanced["remittance_id"] == held["remittance_id"]
    unmatched = await listed("/v1/review-items", kind="unmatched_claim")
    assert unmatched and {i["id"] for i in await listed("/v1/review-items")} == {unbalanced["id"]} | {
        i["id"] for i in unmatched
    }
    resolve = f"/v1/review-items/{unmatched[0]['id']}/resolve"
    assert (
        await client.post(resolve, json={"note": "entered late"}, headers={"X-Tenant-ID": TENANT})
    ).status_code == 200
    assert [i["id"] for i in await listed("/v1/review-items", status="resolved")] == [unmatched[0]["id"]]
    assert len(await listed("/v1/review-items", status=["open", "resolved"])) == 1 + len(unmatched)
    for path, params in [
        ("/v1/remittances", {"status": "bogus"}),
        ("/v1/remittances", {"status": ["held", "Held"]}),
        ("/v1/review-items", {"status": "closed"}),
        ("/v1/review-items", {"kind": "bogus"}),
    ]:
        r = await client.get(path, params=params, headers=X12)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (path, r.text)
        assert r.json()["errors"][0]["field"].split(".")[:2] == ["query", next(iter(params))], r.json()
    spec = client.app.openapi()["paths"]
    of = {
        (path, p["name"]): enum_of(p)
        for path in ("/v1/remittances", "/v1/review-items")
        for p in spec[path]["get"]["parameters"]
    }
    assert of["/v1/remittances", "status"] == {"posted", "held", "rejected", "superseded"}
    assert of["/v1/review-items", "status"] == {"open", "resolved"}
    assert of["/v1/review-items", "kind"] == {
        "unbalanced",
        "unmatched_claim",
        "unmatched_line",
        "unpaired_reversal",
        "unposted_patient_transfer",
        "quarantined_file",
    }


async def test_a_released_835_pairs_its_payment_with_the_reversal_that_came_first(engine: Any, tmp_path: Path) -> None:
    """The payer reverses a payment (CLP02 22) while the 835 that paid it is held: the reversal finds no
    original. Releasing the held 835 pairs them as a normal posting would (reversed_by, reversal_of, the
    review item resolved), bills the patient nothing for the reversed payment, and emits no reversal again
    (claims applied the reversal's money when it came; the released payment nets with it)."""
    event = ClaimStatusChangedV1(
        claim_id="PCN0001",
        old_state=None,
        new_state="submitted",
        changed_at=datetime.now(UTC),
        payer_id="ACME01",
        charge_cents=12500,
        patient_account="A1",
        lines=[],
    )
    async with engine.begin() as conn:
        await on_claim_status_changed(conn, TENANT, event)
    held = await ingest(engine, short_paid(), tmp_path, "held.835")
    assert held.status == "held"
    reversal = claim(
        "PCN0001",
        "22",
        "-125.00",
        "-80.00",
        "ICN1001",
        patient_resp="-20.00",
        lines=[
            line("99213", "-125.00", "-80.00", [("CO", "45", "-25.00"), ("PR", "1", "-10.00"), ("PR", "2", "-10.00")])
        ],
    )
    taken = await ingest(engine, interchange((header("EFT0200", "-80.00"), [reversal], []), isa=5), tmp_path, "rev.835")
    assert taken.status == "posted"
    (item,) = await rows(engine, review_item, review_item.c.kind == "unpaired_reversal")
    assert item.status == "open"

    decision = review.Decision("biller.ann", "EOB checked: 10.00 recouped for ICN0999")
    await review.release(service_units(engine), tenant=TENANT, remittance_id=held.remittance_id, decision=decision)
    payments = await rows(engine, claim_payment, claim_payment.c.claim_id == "PCN0001")
    original = next(p for p in payments if p.status_code == "1")
    rev = next(p for p in payments if p.status_code == "22")
    assert (original.reversed_by, rev.reversal_of) == (rev.id, original.id)
    (item,) = await rows(engine, review_item, review_item.c.kind == "unpaired_reversal")
    assert item.status == "resolved" and held.remittance_id in item.note
    assert await rows(engine, patient_ledger, patient_ledger.c.claim_id == "PCN0001") == []
    reversed_events = await rows(engine, bus.outbox, bus.outbox.c.event_type == "remittance.claim_reversed")
    assert len(reversed_events) == 1  # the reversal's own, when it came
    # the released payment's adjudication says so: claims nets its money and leaves the reversal's state
    adjudicated = {
        (key, data["status_code"]): data
        for _topic, key, kind, data in events(await rows(engine, bus.outbox))
        if kind == "remittance.claim_adjudicated"
    }
    assert adjudicated[("PCN0001", "1")]["reversed_already"] is True
    assert adjudicated[("PCN0001", "22")]["reversed_already"] is False
    assert adjudicated[("PCN0002", "1")]["reversed_already"] is False
    # the claim's ledger nets to nothing paid
    paid = [
        e.amount_cents
        for e in await rows(engine, ledger_entry, ledger_entry.c.claim_id == "PCN0001")
        if e.entry_type == "payment"
    ]
    assert sum(paid) == 0 and len(paid) == 2
