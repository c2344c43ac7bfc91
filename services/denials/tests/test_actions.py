"""The billing office's actions on a denial (denials/use_cases/actions.py): assign, resubmit, write off, bill the
patient, appeal; what each refuses and what it announces (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import T
from builders.events import adj
from denial_steps import act, feed, outbox
from denials.config import DenialsSettings
from denials.models import bus
from denials.use_cases.deadlines import due_deadlines
from sqlalchemy import select


async def test_actions_and_queue_order(client: Any) -> None:
    small = (await feed(client, adj("C20", 0, [("CO", "29", 5000, None)], charge=5000)))[0]
    big = (await feed(client, adj("C21", 0, [("CO", "16", 50000, None)], charge=50000)))[0]
    queue = [d["id"] for d in (await client.get("/v1/denials", headers=T)).json()]
    assert queue == [big, small]  # larger and more recoverable first
    r = await client.post(f"/v1/denials/{big}/actions", json={"action": "assign", "assignee": "maria"}, headers=T)
    assert r.json()["status"] == "in_progress" and r.json()["assignee"] == "maria"
    r = await client.post(
        f"/v1/denials/{big}/actions",
        json={"action": "resubmit", "note": "NPI fixed, per Jane Roe", "correction": {"prior_authorization": "A1"}},
        headers=T,
    )
    assert r.json()["status"] == "resubmitted"
    for incomplete, needs in (
        ({"action": "write_off"}, "write_off needs a note"),
        ({"action": "write_off", "note": "  "}, "write_off needs a note"),
        ({"action": "comment"}, "comment needs a note"),
        ({"action": "assign"}, "assign needs an assignee"),
    ):
        refused = await client.post(f"/v1/denials/{small}/actions", json=incomplete, headers=T)
        assert refused.status_code == 422 and needs in str(refused.json()), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/v1/denials/{small}", headers=T)).json()["status"] == "open"  # nothing done
    r = await client.post(
        f"/v1/denials/{small}/actions", json={"action": "write_off", "note": "filed too late"}, headers=T
    )
    assert r.json()["status"] == "written_off"
    bad = await client.post(f"/v1/denials/{small}/actions", json={"action": "explode"}, headers=T)
    assert bad.status_code == 422
    assert (await client.get(f"/v1/denials/{big}", headers={"X-Tenant-ID": "org-2"})).status_code == 404
    async with client.app.state.engine.connect() as conn:
        rows = list(
            await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == "denials.resubmission.requested"))
        )
    assert len(rows) == 1 and '"prior_authorization":"A1"' in rows[0].payload
    # the note is free text (people type names there): kept in the denial's history, not sent in the event
    assert (
        "Jane Roe" not in rows[0].payload
        and json.loads(rows[0].payload)["reason"] == "claim lacks information or has submission errors"
    )
    history = (await client.get(f"/v1/denials/{big}", headers=T)).json()["history"]
    assert any("Jane Roe" in (h["note"] or "") for h in history)
    stats = (await client.get("/v1/denials/analytics", headers=T)).json()
    assert stats["adjudicated_claims"] == 2 and stats["denied_claims"] == 2 and stats["denial_rate"] == 1.0
    assert {b["key"] for b in stats["by_category"]} == {"timely_filing", "missing_information"}
    assert stats["avoidable_share"] == 1.0 and stats["recovered_cents"] == 0


@pytest.mark.write_off_approval_cents(20000)
async def test_billing_the_patient_and_writing_off_carry_the_denied_amounts_to_the_ledgers(client: Any) -> None:
    (billed,) = await feed(client, adj("C1", 0, [("CO", "27", 15000, None)], charge=15000))
    # a paid claim with one bundled line denied (45.00)
    (line,) = await feed(
        client,
        adj("C2", 10000, [("CO", "97", 4500, 2)], charge=14500, lines=[(10000, 10000), (4500, 0)], remittance="R2"),
    )
    r = await act(client, billed, {"action": "bill_patient", "note": "coverage ended; self-pay"})
    assert r.status_code == 200 and r.json()["status"] == "billed_patient"
    r = await act(client, line, {"action": "write_off", "note": "bundled: not billable"})
    assert r.status_code == 200 and r.json()["status"] == "written_off"
    resolved = {e["claim_id"]: e for e in await outbox(client, "denials.denial.resolved")}
    assert (resolved["C1"]["patient_transfer_cents"], resolved["C1"]["written_off_cents"]) == (15000, 0)
    assert (resolved["C2"]["patient_transfer_cents"], resolved["C2"]["written_off_cents"]) == (0, 4500)
    assert resolved["C2"]["line_number"] == 2 and resolved["C1"]["line_number"] is None
    assert resolved["C1"]["claim_settled"] and resolved["C2"]["claim_settled"]


@pytest.mark.write_off_approval_cents(20000)
async def test_an_appeal_puts_the_claim_under_appeal_and_the_watch_on_the_payers_answer(client: Any) -> None:
    (denial_id,) = await feed(client, adj("C6", 0, [("CO", "50", 7000, None)], charge=7000))
    r = await act(client, denial_id, {"action": "appeal", "note": "medical records attached"})
    assert r.status_code == 200 and r.json()["status"] == "appealed"
    today = datetime.now(UTC).date()
    (sent,) = await outbox(client, "denials.appeal.sent")
    assert sent["claim_id"] == "C6" and sent["amount_cents"] == 7000 and sent["sent_on"] == today.isoformat()
    answer_by = today + timedelta(days=DenialsSettings().appeal_answer_days)
    assert sent["answer_by"] == answer_by.isoformat() and r.json()["deadline"] == answer_by.isoformat()
    # the watch: nothing while the answer is far off; a warning once it is near
    async with client.app.state.engine.begin() as conn:
        assert await due_deadlines(conn, DenialsSettings(deadline_warning_days=14)) == 0
        near = DenialsSettings(deadline_warning_days=DenialsSettings().appeal_answer_days)
        assert await due_deadlines(conn, near) == 1
        assert await due_deadlines(conn, near) == 0
    (warning,) = await outbox(client, "denials.denial.deadline-approaching")
    assert (warning["claim_id"], warning["kind"], warning["deadline"]) == ("C6", "appeal_answer", answer_by.isoformat())
    history = (await client.get(f"/v1/denials/{denial_id}", headers=T)).json()["history"]
    assert "answer to the appeal is due" in history[-1]["note"]
