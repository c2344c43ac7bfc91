"""Insurance follow-up (claims.use_cases.follow_up): the work list, 276 inquiries and their 277 answers.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import T
from builders.acks import ack_999, controls
from builders.encounters import days_ago, encounter
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
    submit,
)
from rcm_shared.x12.writer import writer_for


async def test_follow_up_lists_what_is_late_sends_276s_and_reads_the_277_answers(client: Any) -> None:
    """Medicare (MCRB1): 999 expected within 2 days, 277CA within 7, payment within 14 (payer_rules.toml)."""

    from builders.encounters import TODAY
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
    from claims.adapters.scrub_resources import default_resources
    from claims.config import get_settings
    from claims.use_cases.follow_up import send_due_inquiries

    b = await create(client, **{"subscriber.member_id": "W7"})
    await submit(client, b["id"])
    gs, st = controls((await client.get(f"/v1/claims/{b['id']}/x12", headers=T)).text)
    await client.post("/v1/acknowledgments", content=ack_999(gs, st, accepted=True), headers=T)
    units = client.app.state.units  # the app's own (same database)
    swept = await send_due_inquiries(
        units, get_settings(), default_resources().payer_rules, as_of=TODAY + timedelta(days=30)
    )
    assert [p.claim_ids for p in swept] == [[b["id"]]]  # a's answer says resubmit: no second inquiry
    assert (await listed(30))[b["id"]]["last_inquiry_at"]

    # timely filing: flagged warn_days_before_limit (30) before the limit (365 days from the date of service)
    old = await create(client, **{"lines.0.service_date": days_ago(340), "lines.1.service_date": days_ago(340)})
    flagged = (await listed(0))[old["id"]]
    assert flagged["reason"] == "timely_filing" and flagged["next_action"] == "file_now"
    assert flagged["timely_filing_warning"] and flagged["days_to_timely_filing_limit"] == 25
    assert next(iter(await listed(0))) == old["id"]  # the nearest limit comes first


async def test_the_sweep_passes_over_an_organization_that_lost_its_connection(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Its claims went out under a connection its latest profile no longer names: the sweep sends none of its
    276s (under the deployment's ids the answers would go to the default tenant) and says so; the other
    organizations' inquiries go."""
    from builders.encounters import TODAY
    from claims.adapters.scrub_resources import default_resources
    from claims.config import get_settings
    from claims.use_cases.follow_up import send_due_inquiries
    from practice_steps import connection, enter_practice, profile

    await enter_practice(client, "org-2", practice=profile("Beta", connections=[connection("BETA02")]))
    sent = {}
    for headers in (T, {"X-Tenant-ID": "org-2"}):
        claim = (await client.post("/v1/claims", json=encounter(), headers=headers)).json()
        assert (await client.post(f"/v1/claims/{claim['id']}/submit", headers=headers)).status_code == 200
        gs, st = controls((await client.get(f"/v1/claims/{claim['id']}/x12", headers=headers)).text)
        await client.post("/v1/acknowledgments", content=ack_999(gs, st, accepted=True), headers=headers)
        sent[headers["X-Tenant-ID"]] = claim["id"]
    await enter_practice(client, "org-2", practice=profile("Beta", since=TODAY))  # drops the connection today
    with caplog.at_level(logging.WARNING, logger="claims.use_cases.follow_up"):
        swept = await send_due_inquiries(
            client.app.state.units, get_settings(), default_resources().payer_rules, as_of=TODAY + timedelta(days=30)
        )
    assert [p.claim_ids for p in swept] == [[sent["org-1"]]]
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.__dict__["tenant_id"] == "org-2" and "no clearinghouse connection" in warning.getMessage()
    asked = await client.post(
        "/v1/follow-up/inquiries",
        json={"as_of": (TODAY + timedelta(days=30)).isoformat()},
        headers={"X-Tenant-ID": "org-2"},
    )
    assert asked.status_code == 409 and "PUT /v1/practice" in asked.json()["detail"]
