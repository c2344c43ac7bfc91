"""A write-off over the approval threshold takes a second person (denials/use_cases/approvals.py) (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from builders import T
from builders.events import adj
from denial_steps import act, feed, outbox


@pytest.mark.write_off_approval_cents(20000)
async def test_a_write_off_over_the_threshold_waits_for_a_second_person(client: Any) -> None:
    (small,) = await feed(client, adj("C3", 0, [("CO", "29", 20000, None)], charge=20000))
    (big,) = await feed(client, adj("C4", 0, [("CO", "29", 20001, None)], charge=20001))
    assert (await act(client, small, {"action": "write_off", "note": "late"})).json()["status"] == "written_off"

    r = await act(client, big, {"action": "write_off", "note": "filed too late"})
    assert r.status_code == 200 and r.json()["status"] == "write_off_pending"
    assert [e["claim_id"] for e in await outbox(client, "denials.denial.resolved")] == ["C3"]  # nothing moved yet
    pending = (await client.get("/v1/denials", params={"status": "write_off_pending"}, headers=T)).json()
    assert [d["id"] for d in pending] == [big]
    # the person who asked cannot approve it, and nothing else moves the denial meanwhile
    same = await act(client, big, {"action": "approve_write_off"})
    assert same.status_code == 403 and same.headers["content-type"] == "application/problem+json"
    assert "another person must approve" in same.json()["detail"]
    for body in ({"action": "bill_patient"}, {"action": "write_off", "note": "again"}, {"action": "appeal"}):
        refused = await act(client, big, body, actor="lee")
        assert refused.status_code == 409 and "awaiting approval" in refused.json()["detail"]
    assert (await client.get(f"/v1/denials/{big}", headers=T)).json()["status"] == "write_off_pending"

    r = await act(client, big, {"action": "approve_write_off", "note": "checked the filing dates"}, actor="lee")
    assert r.status_code == 200 and r.json()["status"] == "written_off"
    history = [(h["action"], h["actor"]) for h in r.json()["history"]]
    assert history == [
        ("opened", "event:remittance.claim_adjudicated"),
        ("write_off_requested", "maria"),
        ("written_off", "lee"),
    ]
    assert "requested by maria" in r.json()["history"][-1]["note"]
    resolved = {e["claim_id"]: e for e in await outbox(client, "denials.denial.resolved")}
    assert resolved["C4"]["written_off_cents"] == 20001 and resolved["C4"]["outcome"] == "written_off"
    again = await act(client, big, {"action": "approve_write_off"}, actor="kim")
    assert again.status_code == 409


@pytest.mark.write_off_approval_cents(20000)
async def test_a_rejected_write_off_returns_the_denial_to_the_queue(client: Any) -> None:
    (big,) = await feed(client, adj("C5", 0, [("CO", "50", 30000, None)], charge=30000))
    await act(client, big, {"action": "write_off", "note": "not worth it"})
    no_reason = await act(client, big, {"action": "reject_write_off"}, actor="lee")
    assert no_reason.status_code == 422
    r = await act(client, big, {"action": "reject_write_off", "note": "appeal it: records support it"}, actor="lee")
    assert r.status_code == 200 and r.json()["status"] == "open"
    assert await outbox(client, "denials.denial.resolved") == []
    assert (await act(client, big, {"action": "approve_write_off"}, actor="kim")).status_code == 409
    assert (await act(client, big, {"action": "appeal", "note": "records attached"})).json()["status"] == "appealed"
