"""Charge entry (claims.use_cases.charge_entry): the scrub at entry, batches, duplicates and per-day MUE units.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import T
from builders.encounters import DOS, days_ago, encounter
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
)


async def test_charge_entry_scrubs_and_bad_input_is_refused(client: Any) -> None:
    ok = await create(client)
    assert ok["state"] == "ready" and ok["edits"] == [] and ok["charge_cents"] == 24550
    bad = await create(client, **{"billing_provider.npi": "1234567890", "lines.0.service_date": days_ago(300)})
    assert bad["state"] == "draft"
    assert bad["edits"][0]["rule"] == "NPI001"
    r = await client.post("/v1/claims", json={"kind": "professional"}, headers=T)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    # the billing provider and facility code may come from the practice's master data: not required here
    assert {"subscriber", "payer", "diagnoses", "lines"} <= {e["field"] for e in r.json()["errors"]}
    r = await client.post("/v1/claims", json=encounter(billing_provider_npi="123"), headers=T)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "billing_provider_npi"
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


async def status_events(client: Any, claim_id: str) -> list[dict[str, Any]]:
    from claims.models import bus
    from sqlalchemy import select

    async with client.app.state.engine.connect() as conn:
        stmt = select(bus.outbox.c.payload).where(bus.outbox.c.key == claim_id).order_by(bus.outbox.c.id)
        return [json.loads(payload) for (payload,) in await conn.execute(stmt)]


async def test_the_entry_event_carries_the_lines_in_the_practices_words_and_the_providers_name(client: Any) -> None:
    since = days_ago(400)
    r = await client.post(
        "/v1/charge-master",
        json={
            "code": "99214",
            "modifiers": ["25"],
            "description": "Office visit, 25 min",
            "price": "200.00",
            "effective_from": since,
        },
        headers=T,
    )
    assert r.status_code == 201, r.text
    claim = await create(client, **{"lines.1.description": "Blood sugar test (A1c)"})
    lines = claim["document"]["lines"]
    assert [line["description"] for line in lines] == ["Office visit, 25 min", "Blood sugar test (A1c)"]
    (entered,) = await status_events(client, claim["id"])
    assert (entered["old_state"], entered["new_state"]) == (None, "ready")
    assert entered["provider_name"] == "John Smith"  # the rendering provider, a person
    assert [
        (ln["line_control_number"], ln["procedure_code"], ln["charge_cents"], ln["description"])
        for ln in entered["lines"]
    ] == [
        (f"{claim['id']}-1", "99214", 20000, "Office visit, 25 min"),
        (f"{claim['id']}-2", "83036", 4550, "Blood sugar test (A1c)"),
    ]
    # without a rendering provider the billing provider names the visit; a code the charge master does not
    # list has no description
    other = await create(client, **{"rendering_provider": ..., "subscriber.member_id": "W2", "lines.0.modifiers": []})
    (entered,) = await status_events(client, other["id"])
    assert entered["provider_name"] == "Valley Family Clinic"
    assert [ln["description"] for ln in entered["lines"]] == [None, None]
    # an edit is described again: the line now names an item the charge master lists
    doc = other["document"]
    doc["lines"][0]["modifiers"] = ["25"]
    r = await client.put(f"/v1/claims/{other['id']}", json=doc, headers=T)
    assert r.status_code == 200, r.text
    assert r.json()["document"]["lines"][0]["description"] == "Office visit, 25 min"


async def test_each_billed_line_carries_its_place_of_service(client: Any) -> None:
    """Denials prices a percent-of-Medicare contract at facility or office rates by it: a line's own place of
    service, else the professional claim's; none on an institutional claim (its code is a type of bill)."""
    claim = await create(client, **{"facility_code": "22", "lines.1.place_of_service": "11"})
    (entered,) = await status_events(client, claim["id"])
    assert [ln["place_of_service"] for ln in entered["lines"]] == ["22", "11"]
    hospital = await create(
        client,
        kind="institutional",
        facility_code="13",
        statement_from=DOS,
        statement_to=DOS,
        attending_provider=encounter()["rendering_provider"],
        **{"lines.0.revenue_code": "0450", "lines.1.revenue_code": "0300", "subscriber.member_id": "W2"},
    )
    (entered,) = await status_events(client, hospital["id"])
    assert [ln["place_of_service"] for ln in entered["lines"]] == [None, None]


async def test_a_code_or_modifier_no_837_can_hold_is_a_draft_and_lower_case_is_read_as_upper(client: Any) -> None:
    """A code or modifier of the wrong shape is the scrubber's error: the claim is stored as a draft that says
    what to fix (it never reaches a payer), and it reads back, in the list too."""
    for changes, rule in (
        ({"lines.0.procedure_code": "99213XYZW"}, "PROC001"),
        ({"lines.0.modifiers": ["25X"]}, "MOD001"),
        ({"lines.1.modifiers": ["59", "2"]}, "MOD001"),
    ):
        claim = await create(client, **changes)
        assert claim["state"] == "draft" and rule in {e["rule"] for e in claim["edits"]}, (changes, claim["edits"])
        assert (await client.get(f"/v1/claims/{claim['id']}", headers=T)).status_code == 200
    claim = await create(client, **{"lines.0.procedure_code": "g0439", "lines.0.modifiers": [" 25 "]})
    line = claim["document"]["lines"][0]
    assert (line["procedure_code"], line["modifiers"]) == ("G0439", ["25"])
    listed = (await client.get("/v1/claims", headers=T, params={"limit": 10})).json()
    assert claim["id"] in {c["id"] for c in listed} and len(listed) == 4
