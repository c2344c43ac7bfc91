"""The denials work's money: a denied amount billed to the patient reaches the patient's ledger and statement,
one written off leaves insurance A/R as an adjustment; a resolution delivered again posts nothing more."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from builders.x835 import claim, header, interchange, line
from rcm_shared.db import create_engine
from rcm_shared.payloads.denials import DenialResolvedV1
from rcm_shared.testing import app_client
from remittance.models import bus, denial_posting, patient_ledger
from remittance.use_cases import service_units
from remittance.use_cases.denial_postings import on_denial_resolved
from remittance.use_cases.ingestion import ACTOR
from remittance_steps import billed
from sqlalchemy import func, select

T = {"X-Tenant-ID": "org-1"}
X12 = {"content-type": "application/edi-x12", "X-Tenant-ID": "org-1"}


@pytest.fixture
async def stack(db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[tuple[Any, Any]]:
    db = await db_factory("remittance")
    monkeypatch.setenv("REMITTANCE_DATABASE_URL", db.url)
    monkeypatch.setenv("REMITTANCE_DB_SCHEMA", db.schema)
    monkeypatch.setenv("REMITTANCE_SPOOL_DIR", str(tmp_path / "spool"))
    from remittance.config import get_settings
    from remittance.main import create_app

    engine = create_engine(db.url, schema=db.schema)
    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c, engine
    await engine.dispose()


def resolved(denial_id: str, claim_id: str, outcome: str, **money: int) -> DenialResolvedV1:
    return DenialResolvedV1(
        denial_id=denial_id,
        claim_id=claim_id,
        outcome=outcome,
        recovered_cents=0,
        days_to_resolve=1,
        claim_settled=True,
        **money,
    )


async def deliver(engine: Any, event: DenialResolvedV1) -> None:
    async with engine.begin() as conn:
        await on_denial_resolved(service_units().on(conn, "org-1", ACTOR), event)


async def denied_835(client: Any, engine: Any) -> None:
    """D1 denied whole (coverage ended, CO-27 125.00); W1 paid but for a bundled line (CO-97 45.00)."""
    await billed(engine, "D1", "A9")
    await billed(engine, "W1", "A9")
    d1 = claim(
        "D1",
        "4",
        "125.00",
        "0.00",
        "ICND1",
        lines=[line("99213", "125.00", "0.00", [("CO", "27", "125.00")], lcn="D1-1")],
    )
    w1 = claim(
        "W1",
        "1",
        "170.00",
        "100.00",
        "ICNW1",
        lines=[
            line("99213", "125.00", "100.00", [("CO", "45", "25.00")], lcn="W1-1"),
            line("80048", "45.00", "0.00", [("CO", "97", "45.00")]),
        ],
    )
    r = await client.post("/v1/remittances", content=interchange((header("EFTD", "100.00"), [d1, w1], [])), headers=X12)
    assert r.status_code == 201 and r.json()["remittances"][0]["status"] == "posted", r.text


async def balance(client: Any) -> int:
    r = await client.get("/v1/patient-accounts/A9", headers=T)
    assert r.status_code == 200, r.text
    return int(r.json()["balance_cents"])


async def test_a_denial_billed_to_the_patient_reaches_the_ledger_and_the_statement_once(stack: Any) -> None:
    client, engine = stack
    await denied_835(client, engine)
    assert await balance(client) == 0  # a denial is the payer's business until someone decides
    event = resolved("DEN-1", "D1", "billed_patient", patient_transfer_cents=12500)
    await deliver(engine, event)
    await deliver(engine, event)  # delivered again
    await deliver(engine, event.model_copy())  # and again, as another message
    assert await balance(client) == 12500
    async with engine.connect() as conn:
        rows = list(await conn.execute(select(patient_ledger).where(patient_ledger.c.entry_type == "patient_transfer")))
        changed = list(
            await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == "remittance.patient.balance-changed"))
        )
    assert [(r.account_id, r.claim_id, r.amount_cents) for r in rows] == [("A9", "D1", 12500)]
    assert [json.loads(e.payload)["change_cents"] for e in changed] == [12500]
    assert json.loads(changed[0].payload)["cause"] == "denial"
    postings = (await client.get("/v1/claims/D1/postings", headers=T)).json()
    assert [(p["denial_id"], p["kind"], p["amount_cents"], p["account_id"]) for p in postings["denial_postings"]] == [
        ("DEN-1", "patient_transfer", 12500, "A9")
    ]
    assert postings["patient_responsibility_cents"] == 0  # the 835's own patient share is unchanged
    # the statement: the visit's charge, nothing paid or adjusted, all of it the patient's
    as_of = datetime.now(UTC).date().isoformat()
    run = await client.post("/v1/statements/runs", json={"as_of": as_of}, headers=T)
    assert run.status_code == 201, run.text
    (issued,) = run.json()["statements"]
    assert issued["amount_due_cents"] == 12500
    doc = (await client.get(f"/v1/statements/{issued['id']}", headers=T)).json()
    (visit,) = doc["visits"]
    assert visit["claim_id"] == "D1" and visit["patient_responsibility_cents"]["patient_transfer"] == 12500
    assert (visit["insurance_paid_cents"], visit["contractual_adjustment_cents"], visit["other_adjustment_cents"]) == (
        0,
        0,
        0,
    )
    assert visit["balance_cents"] == 12500 and doc["amount_due_cents"] == 12500


async def test_a_write_off_is_an_adjustment_with_no_patient_balance(stack: Any) -> None:
    client, engine = stack
    await denied_835(client, engine)
    event = resolved("DEN-2", "W1", "written_off", written_off_cents=4500, line_number=2)
    await deliver(engine, event)
    await deliver(engine, event)
    assert await balance(client) == 0
    postings = (await client.get("/v1/claims/W1/postings", headers=T)).json()
    assert [(p["kind"], p["amount_cents"], p["line_number"], p["account_id"]) for p in postings["denial_postings"]] == [
        ("write_off", 4500, 2, None)
    ]
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(denial_posting))).scalar() == 1
    # recovered or closed denials move nothing
    await deliver(engine, resolved("DEN-3", "W1", "recovered"))
    await deliver(engine, resolved("DEN-4", "W1", "closed"))
    assert len((await client.get("/v1/claims/W1/postings", headers=T)).json()["denial_postings"]) == 1


async def test_a_transfer_for_a_claim_with_no_patient_account_waits_for_review(stack: Any) -> None:
    client, engine = stack
    await deliver(engine, resolved("DEN-5", "CUNKNOWN", "billed_patient", patient_transfer_cents=5000))
    items = (await client.get("/v1/review-items", params={"kind": "unposted_patient_transfer"}, headers=T)).json()
    assert [(i["claim_id"], "50.00" in i["detail"]) for i in items] == [("CUNKNOWN", True)]


async def test_the_worker_reads_denial_resolutions_and_posts_each_once(stack: Any) -> None:
    from rcm_shared.db import session_factory
    from rcm_shared.events import Envelope
    from remittance.consumers import registry

    client, engine = stack
    await denied_835(client, engine)
    handler = registry.get("denial.resolved", 1)
    assert handler is not None, "remittance does not read denial resolutions"
    envelope = Envelope.wrap(
        resolved("DEN-6", "D1", "billed_patient", patient_transfer_cents=12500), source="/denials", tenant_id="org-1"
    )
    for _ in range(2):  # delivered twice
        async with session_factory(engine)() as session, session.begin():
            await handler(session, envelope)
    assert await balance(client) == 12500


async def test_a_move_denials_undoes_is_taken_back_once_and_the_payers_answers_alone_undo_nothing(
    stack: Any,
) -> None:
    """Remittance no longer reads its own announcements of the payer's answers: denials decides whether an answer
    takes a move back (a payment on the denied line, a reversal of its source, a void or replacement), and its
    ``denial.move_undone`` is posted once per denial (a reversing ledger entry, a ``*_undone`` posting), under
    any event id; an undo of a denial whose move never posted here posts nothing."""
    from rcm_shared.db import session_factory
    from rcm_shared.events import Envelope
    from rcm_shared.payloads.denials import DenialMoveUndoneV1
    from remittance.consumers import registry

    client, engine = stack
    await denied_835(client, engine)
    for event_type in ("remittance.claim_adjudicated", "remittance.claim_reversed"):
        assert registry.get(event_type, 1) is None, f"remittance decides on {event_type} by itself"
    await deliver(engine, resolved("DEN-1", "D1", "billed_patient", patient_transfer_cents=12500))
    await deliver(engine, resolved("DEN-2", "W1", "written_off", written_off_cents=4500, line_number=2))
    assert await balance(client) == 12500
    handler = registry.get("denial.move_undone", 1)
    assert handler is not None, "remittance does not read the undoing of denials' moves"

    async def announce(event: DenialMoveUndoneV1) -> None:
        envelope = Envelope.wrap(event, source="/denials", tenant_id="org-1")
        async with session_factory(engine)() as session, session.begin():
            await handler(session, envelope)

    transfer = DenialMoveUndoneV1(
        denial_id="DEN-1", claim_id="D1", outcome="recovered", patient_transfer_cents=12500, source_remittance_id="R1"
    )
    write_off = DenialMoveUndoneV1(
        denial_id="DEN-2", claim_id="W1", line_number=2, outcome="superseded", written_off_cents=4500
    )
    for _ in range(2):  # delivered again, as another message each time
        await announce(transfer)
        await announce(write_off)
    await announce(transfer.model_copy(update={"denial_id": "DEN-9"}))  # no move of it here
    assert await balance(client) == 0
    kinds = {}
    for claim_id in ("D1", "W1"):
        postings = (await client.get(f"/v1/claims/{claim_id}/postings", headers=T)).json()["denial_postings"]
        kinds[claim_id] = [(p["denial_id"], p["kind"], p["amount_cents"]) for p in postings]
    assert kinds == {
        "D1": [("DEN-1", "patient_transfer", 12500), ("DEN-1", "transfer_undone", -12500)],
        "W1": [("DEN-2", "write_off", 4500), ("DEN-2", "write_off_undone", -4500)],
    }
    async with engine.connect() as conn:
        changed = list(
            await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == "remittance.patient.balance-changed"))
        )
    assert [json.loads(e.payload)["change_cents"] for e in changed] == [12500, -12500]
