"""Denial actions that move money or wait on the payer: a transfer to the patient and a write-off carry their
amounts to the ledgers, a large write-off waits for a second person, an appeal puts the claim under appeal and
the deadline watch on the payer's answer (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from denials.api.schemas import DenialCategory, DenialStatus
from denials.config import DenialsSettings
from denials.domain.classify import CATEGORIES, default_rules
from denials.handlers import OPEN_STATES, RESOLVED_STATES, Unit, due_deadlines, on_adjudicated
from denials.models import bus
from rcm_shared.errors import Conflict
from rcm_shared.events import Envelope
from rcm_shared.testing import app_client, enum_of
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from test_denials import adj

T = {"X-Tenant-ID": "org-1"}


@pytest.fixture
async def client(db_factory: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    db = await db_factory("denials")
    monkeypatch.setenv("DENIALS_DATABASE_URL", db.url)
    monkeypatch.setenv("DENIALS_DB_SCHEMA", db.schema)
    monkeypatch.setenv("DENIALS_WRITE_OFF_APPROVAL_CENTS", "20000")
    from denials.config import get_settings
    from denials.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c


async def feed(client: Any, event: Any, settings: DenialsSettings | None = None) -> list[str]:
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        return await on_adjudicated(Unit(conn, "org-1", settings or DenialsSettings()), event, default_rules(), env)


async def outbox(client: Any, topic: str) -> list[dict[str, Any]]:
    async with client.app.state.engine.connect() as conn:
        rows = await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == topic).order_by(bus.outbox.c.id))
        return [json.loads(r.payload) for r in rows]


async def act(client: Any, denial_id: str, body: dict[str, Any], actor: str = "maria") -> Any:
    return await client.post(f"/v1/denials/{denial_id}/actions", json=body, headers={**T, "X-Actor": actor})


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


DENIAL_STATUSES = {
    "open",
    "in_progress",
    "appealed",
    "resubmitted",
    "write_off_pending",
    "recovered",
    "written_off",
    "billed_patient",
    "closed",
    "superseded",
}


def test_the_filters_name_every_status_and_category_the_domain_has() -> None:
    assert set(get_args(DenialStatus)) == set(OPEN_STATES) | set(RESOLVED_STATES) == DENIAL_STATUSES
    assert get_args(DenialCategory) == CATEGORIES


async def test_the_default_queue_is_what_waits_on_the_office_and_an_unknown_status_is_refused(client: Any) -> None:
    (fresh,) = await feed(client, adj("Q1", 0, [("CO", "197", 10000, None)]))
    (appealed,) = await feed(client, adj("Q2", 0, [("CO", "197", 10000, None)]))
    (pending,) = await feed(client, adj("Q3", 0, [("CO", "29", 20001, None)], charge=20001))
    (done,) = await feed(client, adj("Q4", 0, [("CO", "29", 5000, None)], charge=5000))
    assert (await act(client, appealed, {"action": "appeal"})).json()["status"] == "appealed"
    r = await act(client, pending, {"action": "write_off", "note": "filed too late"})
    assert r.json()["status"] == "write_off_pending"
    assert (await act(client, done, {"action": "write_off", "note": "late"})).json()["status"] == "written_off"

    async def listed(**params: Any) -> set[str]:
        r = await client.get("/v1/denials", params=params, headers=T)
        assert r.status_code == 200, r.text
        return {d["id"] for d in r.json()}

    # by default: what waits on someone in the office, a write-off awaiting its second person included
    assert await listed() == {fresh, pending}
    assert await listed(status=["appealed", "written_off"]) == {appealed, done}
    assert await listed(category="timely_filing") == {pending}
    for bad in ({"status": "bogus"}, {"status": ["open", "bogus"]}, {"category": "nonsense"}):
        r = await client.get("/v1/denials", params=bad, headers=T)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (bad, r.text)
        assert r.json()["errors"][0]["field"].split(".")[:2] == ["query", next(iter(bad))], r.json()
    operation = client.app.openapi()["paths"]["/v1/denials"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert enum_of(params["status"]) == DENIAL_STATUSES
    assert "timely_filing" in enum_of(params["category"]) and "unclassified" in enum_of(params["category"])
    assert "`open`, `in_progress` and `write_off_pending`" in operation["description"]


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


async def test_the_payers_835_denying_an_appealed_claim_again_upholds_the_appeal(client: Any) -> None:
    (first,) = await feed(client, adj("C7", 0, [("CO", "50", 7000, None)], charge=7000))
    await act(client, first, {"action": "appeal", "note": "records"})
    (second,) = await feed(client, adj("C7", 0, [("CO", "50", 7000, None)], charge=7000, remittance="R9"))
    detail = (await client.get(f"/v1/denials/{first}", headers=T)).json()
    assert detail["status"] == "closed" and "appeal upheld" in detail["history"][-1]["note"]
    assert (await client.get(f"/v1/denials/{second}", headers=T)).json()["status"] == "open"
    (resolved,) = await outbox(client, "denials.denial.resolved")
    assert resolved["outcome"] == "closed" and not resolved["claim_settled"]  # the new denial carries the claim


async def test_an_action_raced_by_another_on_the_same_denial_moves_its_money_once(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests (a double click, a retry) both read the denial open before either resolves it: the
    second finds it resolved when it writes and is refused, so one resolution (one transfer) goes out."""
    from denials import handlers

    (denial_id,) = await feed(client, adj("C9", 0, [("CO", "27", 15000, None)], charge=15000))
    async with client.app.state.engine.begin() as conn:
        stale = await Unit(conn, "org-1", DenialsSettings()).get(denial_id)
    assert (await act(client, denial_id, {"action": "bill_patient"})).status_code == 200

    async def read_before_the_other_wrote(self: Any, denial_id: str) -> Any:
        return stale

    monkeypatch.setattr(handlers.Unit, "get", read_before_the_other_wrote)
    with pytest.raises(Conflict, match="already"):
        async with client.app.state.engine.begin() as conn:
            await handlers.act(Unit(conn, "org-1", DenialsSettings()), denial_id, "bill_patient", "joe")
    resolved = await outbox(client, "denials.denial.resolved")
    assert [e["patient_transfer_cents"] for e in resolved] == [15000]


async def test_an_amount_the_contract_puts_on_the_provider_is_not_billed_to_the_patient(client: Any) -> None:
    """CO-50 (not medically necessary, provider liable): billing the patient is balance billing, refused with
    the reason; a member whose coverage had ended (CO-27) is no member under the contract, and is billed."""
    (provider,) = await feed(client, adj("C10", 0, [("CO", "50", 15000, None)], charge=15000))
    (ended,) = await feed(client, adj("C11", 0, [("CO", "27", 15000, None)], charge=15000))
    r = await act(client, provider, {"action": "bill_patient"})
    assert r.status_code == 409, r.text
    assert "CO-50" in r.json()["detail"] and "provider" in r.json()["detail"]
    assert (await client.get(f"/v1/denials/{provider}", headers=T)).json()["status"] == "open"
    assert (await act(client, ended, {"action": "bill_patient"})).json()["status"] == "billed_patient"


async def test_an_amount_the_payer_already_put_on_the_patient_is_not_billed_again(client: Any) -> None:
    """PR-204 (not covered under the patient's plan): the 835 assigns it to the patient and remittance bills it
    on the statement; a transfer would bill the same money a second time."""
    (denial_id,) = await feed(client, adj("C13", 0, [("PR", "204", 15000, None)], charge=15000))
    r = await act(client, denial_id, {"action": "bill_patient"})
    assert r.status_code == 409, r.text
    assert "PR-204" in r.json()["detail"] and "twice" in r.json()["detail"]
    assert await outbox(client, "denials.denial.resolved") == []


async def test_a_denial_whose_adjudication_the_payer_reversed_moves_no_money(client: Any) -> None:
    """The payer took back the adjudication the denial came from: the money is no longer denied (its corrected
    adjudication decides, with a denial of its own if it denies again), so billing the patient or writing it
    off would move money out of A/R that is not there to move."""
    from denials.handlers import on_reversed
    from rcm_shared.payloads.remittance import ClaimReversedV1

    (denial_id,) = await feed(client, adj("C12", 0, [("CO", "27", 15000, None)], charge=15000))
    reversal = ClaimReversedV1(
        remittance_id="R2",
        claim_id="C12",
        payer_id="ACME01",
        payer_claim_control_number="PCCN-C12",
        reversed_paid_cents=0,
        reversed_charge_cents=-15000,
        original_remittance_id="R1",
    )
    async with client.app.state.engine.begin() as conn:
        env = Envelope.wrap(reversal, source="/remittance", tenant_id="org-1")
        assert await on_reversed(Unit(conn, "org-1", DenialsSettings()), reversal, env) == 1
    for body in ({"action": "bill_patient"}, {"action": "write_off", "note": "small"}):
        r = await act(client, denial_id, body)
        assert r.status_code == 409 and "reversed" in r.json()["detail"], r.text
    assert await outbox(client, "denials.denial.resolved") == []
