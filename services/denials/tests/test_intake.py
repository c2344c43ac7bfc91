"""Denials from the payer's answers (denials/use_cases/intake.py): opened once, recovered by a payment, noted on a
reversal, opened by a rejection, linked to a replacement, closed when an appeal is upheld (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from builders import T
from builders.events import adj, reversal
from denial_steps import act, feed, outbox, unit_of
from denials.config import DenialsSettings
from denials.domain.classify import default_rules
from denials.models import adjudication_seen, bus
from denials.use_cases.intake import on_adjudicated_many, on_claim_status, on_reversed
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from sqlalchemy import select


async def test_redelivered_event_opens_one_denial_and_payment_on_appeal_recovers_it(client: Any) -> None:
    event = adj("C10", 0, [("CO", "197", 10000, None)])
    first = await feed(client, event)
    again = await feed(client, event)  # the same remittance again
    assert len(first) == 1 and again == []
    queue = (await client.get("/v1/denials", headers=T)).json()
    assert [d["id"] for d in queue] == first and queue[0]["recovery_probability"] == 0.5
    r = await client.post(
        f"/v1/denials/{first[0]}/actions", json={"action": "appeal", "note": "auth was on file"}, headers=T
    )
    assert r.status_code == 200 and r.json()["status"] == "appealed"
    assert "Re: appeal of claim C10" in r.json()["appeal_letter"]
    pdf = await client.get(f"/v1/denials/{first[0]}/appeal.pdf", headers=T)
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert pdf.headers["content-type"] == "application/pdf" and "Amount in dispute: $100.00" in text
    await feed(client, adj("C10", 9000, [("CO", "45", 1000, None)], remittance="R2"))  # paid on appeal
    detail = (await client.get(f"/v1/denials/{first[0]}", headers=T)).json()
    assert detail["status"] == "recovered" and detail["recovered_cents"] == 9000
    assert [h["action"] for h in detail["history"]] == ["opened", "appealed", "recovered"]
    # a closed denial still takes a note (the member id was fixed and the claim sent again as the payer paid
    # it), and nothing that would reopen or move it
    noted = await client.post(
        f"/v1/denials/{first[0]}/actions", json={"action": "comment", "note": "patient called"}, headers=T
    )
    assert noted.status_code == 200 and noted.json()["status"] == "recovered"
    assert [h["action"] for h in noted.json()["history"]] == ["opened", "appealed", "recovered", "comment"]
    for action in ({"action": "write_off", "note": "x"}, {"action": "assign", "assignee": "maria"}):
        again = await client.post(f"/v1/denials/{first[0]}/actions", json=action, headers=T)
        assert again.status_code == 409 and "already recovered" in again.json()["detail"]
    async with client.app.state.engine.connect() as conn:
        topics = [r.topic for r in await conn.execute(select(bus.outbox).order_by(bus.outbox.c.id))]
    assert topics == ["denials.denial.opened", "denials.appeal.sent", "denials.denial.resolved"]


async def test_adjudications_handled_together_open_and_recover_as_one_at_a_time(client: Any) -> None:
    # in one call: C20 denied, C21 paid (nothing to recover), C20 paid by a later remittance (recovers the
    # denial opened earlier in the same call), C22 denied
    events = [
        adj("C20", 0, [("CO", "197", 10000, None)]),
        adj("C21", 9000, [("CO", "45", 1000, None)]),
        adj("C20", 9000, [("CO", "45", 1000, None)], remittance="R2"),
        adj("C22", 0, [("CO", "50", 10000, None)]),
    ]
    async with client.app.state.engine.begin() as conn:
        items = [(e, Envelope.wrap(e, source="/remittance", tenant_id="org-1")) for e in events]
        opened = await on_adjudicated_many(unit_of(conn), items, default_rules(), settings=DenialsSettings())
    assert len(opened) == 2
    got = {d["claim_id"]: d for d in [(await client.get(f"/v1/denials/{i}", headers=T)).json() for i in opened]}
    assert (got["C20"]["status"], got["C20"]["recovered_cents"]) == ("recovered", 9000)
    assert got["C22"]["status"] == "open"
    async with client.app.state.engine.connect() as conn:
        seen = list(await conn.execute(select(adjudication_seen.c.claim_id).order_by(adjudication_seen.c.id)))
    assert [r.claim_id for r in seen] == ["C20", "C21", "C20", "C22"]


async def test_a_payer_reversal_is_noted_on_the_denial_it_takes_back_and_the_corrected_payment_recovers_it(
    client: Any,
) -> None:
    opened = await feed(client, adj("C15", 0, [("CO", "197", 10000, None)]))
    other = await feed(client, adj("C16", 0, [("CO", "197", 10000, None)]))

    async def reverse(claim_id: str, original: str | None) -> int:
        event = reversal(claim_id, original)
        env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
        async with client.app.state.engine.begin() as conn:
            return await on_reversed(unit_of(conn), event, env)

    assert await reverse("C15", "R1") == 1
    assert await reverse("C15", "R9") == 0  # another remittance's adjudication: not this denial's
    assert await reverse("C15", None) == 0
    detail = (await client.get(f"/v1/denials/{opened[0]}", headers=T)).json()
    assert detail["status"] == "open" and [h["action"] for h in detail["history"]] == ["opened", "payer_reversed"]
    assert "reversed the adjudication" in detail["history"][1]["note"]
    await feed(client, adj("C15", 9000, [("CO", "45", 1000, None)], remittance="R2"))  # the corrected payment
    assert (await client.get(f"/v1/denials/{opened[0]}", headers=T)).json()["status"] == "recovered"
    untouched = (await client.get(f"/v1/denials/{other[0]}", headers=T)).json()
    assert [h["action"] for h in untouched["history"]] == ["opened"]


async def test_rejection_opens_a_denial_and_replacement_is_linked(client: Any) -> None:
    now = datetime.now(UTC)
    rejected = ClaimStatusChangedV1(
        claim_id="C30",
        old_state="submitted",
        new_state="rejected",
        changed_at=now,
        reason_codes=["A7:562:85"],
        payer_id="ACME01",
        charge_cents=12000,
    )
    env = Envelope.wrap(rejected, source="/claims", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        unit = unit_of(conn)
        await on_claim_status(unit, rejected, env, default_rules())
        await on_claim_status(unit, rejected, env, default_rules())  # redelivered
        replacement = ClaimStatusChangedV1(
            claim_id="C31", old_state=None, new_state="draft", changed_at=now, original_claim_id="C30", frequency="7"
        )
        await on_claim_status(
            unit, replacement, Envelope.wrap(replacement, source="/claims", tenant_id="org-1"), default_rules()
        )
    (d,) = (await client.get("/v1/denials", headers=T)).json()
    assert d["category"] == "missing_information" and d["replacement_claim_id"] == "C31" and d["rarcs"] == ["A7:562:85"]
    await feed(client, adj("C31", 12000, [], charge=12000))  # the replacement is paid: the denial is recovered
    assert (await client.get(f"/v1/denials/{d['id']}", headers=T)).json()["status"] == "recovered"


async def test_a_replacement_paid_before_its_link_arrives_still_recovers_the_denial(client: Any) -> None:
    # The claims topic (the replacement's creation) and the remittance topic (its payment) are not ordered
    # against each other: after a broker restart or a slow consumer the payment can come first.
    opened = await feed(client, adj("C50", 0, [("CO", "197", 10000, None)]))
    await feed(client, adj("C51", 9500, [("CO", "45", 500, None)], remittance="R7"))  # the replacement, paid
    assert (await client.get(f"/v1/denials/{opened[0]}", headers=T)).json()["status"] == "open"
    replacement = ClaimStatusChangedV1(
        claim_id="C51",
        old_state=None,
        new_state="draft",
        changed_at=datetime.now(UTC),
        original_claim_id="C50",
        frequency="7",
    )
    env = Envelope.wrap(replacement, source="/claims", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        await on_claim_status(unit_of(conn), replacement, env, default_rules())
    detail = (await client.get(f"/v1/denials/{opened[0]}", headers=T)).json()
    assert detail["status"] == "recovered" and detail["recovered_cents"] == 9500
    assert detail["replacement_claim_id"] == "C51" and "in remittance R7" in detail["history"][-1]["note"]
    async with client.app.state.engine.begin() as conn:  # redelivered: nothing more happens
        await on_claim_status(unit_of(conn), replacement, env, default_rules())
    async with client.app.state.engine.connect() as conn:
        resolved = list(await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == "denials.denial.resolved")))
    assert len(resolved) == 1


@pytest.mark.write_off_approval_cents(20000)
async def test_the_payers_835_denying_an_appealed_claim_again_upholds_the_appeal(client: Any) -> None:
    (first,) = await feed(client, adj("C7", 0, [("CO", "50", 7000, None)], charge=7000))
    await act(client, first, {"action": "appeal", "note": "records"})
    (second,) = await feed(client, adj("C7", 0, [("CO", "50", 7000, None)], charge=7000, remittance="R9"))
    detail = (await client.get(f"/v1/denials/{first}", headers=T)).json()
    assert detail["status"] == "closed" and "appeal upheld" in detail["history"][-1]["note"]
    assert (await client.get(f"/v1/denials/{second}", headers=T)).json()["status"] == "open"
    (resolved,) = await outbox(client, "denials.denial.resolved")
    assert resolved["outcome"] == "closed" and not resolved["claim_settled"]  # the new denial carries the claim
