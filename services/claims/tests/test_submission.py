"""Submission (claims.use_cases.submission): 837s that pass pyx12, claims held when they cannot be built, 276 inquiries.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from builders import T
from builders.encounters import encounter
from claims.models import bus
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
    pyx12,
    submit,
)
from practice_steps import connection, enter_practice, profile
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.sets.x276 import read_276


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

    submitted = json.loads(rows[-1].payload)
    assert submitted["new_state"] == "submitted" and submitted["lines"][0]["line_control_number"] == f"{a['id']}-1"
    assert "DOE" not in rows[-1].payload and "W123456789" not in rows[-1].payload  # no PHI in events


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


async def test_status_inquiry_sends_a_276(client: Any) -> None:
    a = await create(client)
    early = await client.post(f"/v1/claims/{a['id']}/status-inquiry", headers=T)
    assert early.status_code == 409  # nothing to ask about before the claim is sent
    await submit(client, a["id"])
    r = await client.post(f"/v1/claims/{a['id']}/status-inquiry", headers=T)
    assert r.status_code == 200 and r.json()["delivered"]
    text = Path(r.json()["destination"]).read_text()
    (inquiry,) = read_276(text.encode())
    assert inquiry.claim_id == a["id"] and inquiry.total_charge == 245.5 and inquiry.member_id == "W123456789"
    (record,) = (await client.get(f"/v1/claims/{a['id']}/status-records", headers=T)).json()
    assert record["source"] == "276" and inquiry.trace_number in record["summary"]


async def test_each_tenant_sends_under_its_own_clearinghouse_connection(client: Any, tmp_path: Path) -> None:
    """Two practices with their own connection, and one without a profile (the settings' ids): each 837 and
    276 carries its sender's ids in ISA06/ISA08, GS02/GS03 and the 837's 1000A/1000B, and holds its own
    claims only."""
    await enter_practice(client, "org-a", practice=profile("Alpha Clinic", connections=[connection("ALPHA01")]))
    await enter_practice(
        client, "org-b", practice=profile("Beta Clinic", connections=[connection("BETA02", "OTHERCH")])
    )
    sent = {}
    for tenant in ("org-a", "org-b", "org-1"):
        headers = {"X-Tenant-ID": tenant}
        claim = (await client.post("/v1/claims", json=encounter(), headers=headers)).json()
        r = await client.post("/v1/submissions", json={}, headers=headers)
        (sub,) = r.json()
        assert sub["claim_ids"] == [claim["id"]]  # a tenant's batch holds its claims only
        x12 = (await client.get(f"/v1/claims/{claim['id']}/x12", headers=headers)).text
        assert pyx12(x12, tmp_path).endswith(": OK")
        header = next(h for h, _s in X12Reader(x12.encode()))
        seg = [s.strip() for s in x12.split("~")]
        ids = (header.interchange.sender_id, header.interchange.receiver_id, header.group.sender, header.group.receiver)
        submitter = next(s for s in seg if s.startswith("NM1*41*"))
        receiver = next(s for s in seg if s.startswith("NM1*40*"))
        inquiry = await client.post(f"/v1/claims/{claim['id']}/status-inquiry", headers=headers)
        text = Path(inquiry.json()["destination"]).read_text()
        inquiry_header = next(h for h, _s in X12Reader(text.encode()))
        (asked,) = read_276(text.encode())
        sent[tenant] = (ids, submitter, receiver, inquiry_header.interchange.sender_id, asked.submitter_id)
    assert sent["org-a"] == (
        ("ALPHA01", "CLEARINGHOUSE", "ALPHA01", "CLEARINGHOUSE"),
        "NM1*41*2*ALPHA01 BILLING*****46*ALPHA01",
        "NM1*40*2*sandbox*****46*CLEARINGHOUSE",
        "ALPHA01",
        "ALPHA01",
    )
    assert sent["org-b"] == (
        ("BETA02", "OTHERCH", "BETA02", "OTHERCH"),
        "NM1*41*2*BETA02 BILLING*****46*BETA02",
        "NM1*40*2*sandbox*****46*OTHERCH",
        "BETA02",
        "BETA02",
    )
    # no profile: the deployment's settings, as for a single practice
    assert sent["org-1"] == (
        ("RCMCLINIC", "CLEARINGHOUSE", "RCMCLINIC", "CLEARINGHOUSE"),
        "NM1*41*2*RCM PLATFORM CLINIC*****46*RCMCLINIC",
        "NM1*40*2*SANDBOX CLEARINGHOUSE*****46*CLEARINGHOUSE",
        "RCMCLINIC",
        "RCMCLINIC",
    )


async def test_an_organization_without_a_connection_cannot_submit(client: Any, tmp_path: Path) -> None:
    """Under the deployment's ids its answers would come back to the default tenant: an organization other than
    the default sends nothing until its profile names its clearinghouse connection (the reason names the
    route), and its claims stay ready. The default tenant (org-1 here) keeps the deployment's ids, with or
    without a profile."""
    await enter_practice(client, "org-3", practice=profile("Gamma Clinic"))  # a profile, no connection
    for tenant, having in (("org-2", "no practice profile"), ("org-3", "without a clearinghouse connection")):
        headers = {"X-Tenant-ID": tenant}
        claim = (await client.post("/v1/claims", json=encounter(), headers=headers)).json()
        assert claim["state"] == "ready", claim["edits"]
        for r in (
            await client.post("/v1/submissions", json={}, headers=headers),
            await client.post(f"/v1/claims/{claim['id']}/submit", headers=headers),
        ):
            assert r.status_code == 409 and r.json()["title"] == "No clearinghouse connection", r.text
            assert having in r.json()["detail"] and "PUT /v1/practice" in r.json()["detail"]
        assert (await client.get(f"/v1/claims/{claim['id']}", headers=headers)).json()["state"] == "ready"
        history = (await client.get(f"/v1/claims/{claim['id']}/history", headers=headers)).json()
        assert [h["to_state"] for h in history] == ["ready"]
    outbound = tmp_path / "outbound"
    assert not outbound.exists() or not any(outbound.rglob("*")), "nothing was sent"
    async with client.app.state.engine.connect() as conn:
        from claims.models import submission
        from sqlalchemy import func, select

        assert (await conn.execute(select(func.count()).select_from(submission))).scalar() == 0
    # with a connection it sends, under its own ids
    await enter_practice(client, "org-2", practice=profile("Beta Clinic", connections=[connection("BETA02")]))
    (sub,) = (await client.post("/v1/submissions", json={}, headers={"X-Tenant-ID": "org-2"})).json()
    assert sender(Path(sub["destination"]).read_text()) == "BETA02"
    await enter_practice(client, practice=profile("Default Clinic"))  # org-1, the default: no connection named
    claim = await create(client)
    await submit(client, claim["id"])
    assert sender((await client.get(f"/v1/claims/{claim['id']}/x12", headers=T)).text) == "RCMCLINIC"


def sender(x12: str) -> str:
    """ISA06 of an interchange."""
    return str(next(h for h, _s in X12Reader(x12.encode())).interchange.sender_id)
