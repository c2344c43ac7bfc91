"""What the denials work does to a claim: an appeal sent puts it under appeal and the payer's next 835 moves it
on; a denial billed to the patient or written off leaves its insurance balance (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import T
from builders.encounters import encounter
from builders.events import ENCOUNTER_CHARGE, encounter_adjudicated, encounter_reversed
from claims.models import bus
from claims.use_cases.adjudication import on_adjudicated_many, on_reversed
from claims.use_cases.denial_outcomes import on_appeal_sent, on_denial_move_undone, on_denial_resolved
from rcm_shared.payloads.denials import AppealSentV1, DenialMoveUndoneV1, DenialResolvedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1
from rcm_shared.testing import app_client
from rcm_shared.unit import Actor, Units

CHARGE = ENCOUNTER_CHARGE  # the factory's encounter
UNITS = Units(bus, source="/claims")


@pytest.fixture
async def client(db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Any]:
    db = await db_factory("claims")
    monkeypatch.setenv("CLAIMS_DATABASE_URL", db.url)
    monkeypatch.setenv("CLAIMS_DB_SCHEMA", db.schema)
    monkeypatch.setenv("CLAIMS_OUTBOUND_DIR", str(tmp_path / "outbound"))
    monkeypatch.setenv("CLAIMS_DEFAULT_TENANT", "org-1")
    from claims.adapters.scrub_resources import default_resources
    from claims.config import get_settings
    from claims.main import create_app

    async with app_client(create_app, get_settings.cache_clear, default_resources.cache_clear) as c:
        yield c


PATIENTS = itertools.count()


async def submitted(client: Any) -> str:
    # another patient each time: the same visit twice is held as a duplicate
    created = await client.post(
        "/v1/claims",
        json=encounter(**{"subscriber.last_name": "Doe" + "".join(chr(65 + int(d)) for d in str(next(PATIENTS)))}),
        headers=T,
    )
    assert created.status_code == 201, created.text
    claim_id = str(created.json()["id"])
    assert (await client.post(f"/v1/claims/{claim_id}/submit", headers=T)).status_code == 200
    return claim_id


def resolved(claim_id: str, outcome: str, *, transfer: int = 0, written_off: int = 0) -> DenialResolvedV1:
    return DenialResolvedV1(
        denial_id="D-" + claim_id,
        claim_id=claim_id,
        outcome=outcome,
        recovered_cents=0,
        days_to_resolve=2,
        claim_settled=True,
        patient_transfer_cents=transfer,
        written_off_cents=written_off,
    )


async def run(client: Any, handler: Any, event: Any) -> None:
    async with client.app.state.engine.begin() as conn:
        unit = UNITS.on(conn, "org-1", Actor("event:test"))
        if isinstance(event, ClaimAdjudicatedV1):
            await on_adjudicated_many(unit, [(event, Actor("event:test"))])
        else:
            await handler(unit, event)


def appeal_sent(claim_id: str, *, denial_id: str | None = None, answer_days: int = 30) -> AppealSentV1:
    """The denials service's word that an appeal of the claim's denial went out today."""
    today = datetime.now(UTC).date()
    return AppealSentV1(
        denial_id=denial_id or "D-" + claim_id,
        claim_id=claim_id,
        line_number=None,
        payer_id="MCRB1",
        amount_cents=CHARGE,
        sent_on=today,
        answer_by=today + timedelta(days=answer_days),
    )


async def claim(client: Any, claim_id: str) -> dict[str, Any]:
    return dict((await client.get(f"/v1/claims/{claim_id}", headers=T)).json())


async def test_an_appeal_sent_puts_the_claim_under_appeal_and_the_payers_next_835_moves_it_on(client: Any) -> None:
    paid_on_appeal, denied_again = await submitted(client), await submitted(client)
    today = datetime.now(UTC).date()
    for claim_id in (paid_on_appeal, denied_again):
        await run(client, None, encounter_adjudicated(claim_id, 0, denied=CHARGE, remittance="R1"))
        assert (await claim(client, claim_id))["state"] == "denied"
        appeal = appeal_sent(claim_id, answer_days=60)
        await run(client, on_appeal_sent, appeal)
        await run(client, on_appeal_sent, appeal.model_copy(update={"denial_id": "D2"}))  # a second appeal on it
        c = await claim(client, claim_id)
        assert c["state"] == "appealed" and c["insurance_balance_cents"] == CHARGE  # still owed by the payer
        history = (await client.get(f"/v1/claims/{claim_id}/history", headers=T)).json()
        assert [h["to_state"] for h in history][-2:] == ["denied", "appealed"]
        assert f"answers by {(today + timedelta(days=60)).isoformat()}" in history[-1]["reason"]
    aging = (await client.get("/v1/reports/ar-aging", headers=T)).json()
    assert aging[0]["claims"] == 2 and aging[0]["total_cents"] == 2 * CHARGE  # appealed claims are open A/R
    await run(client, None, encounter_adjudicated(paid_on_appeal, 20000, denied=0, remittance="R2"))
    await run(client, None, encounter_adjudicated(denied_again, 0, denied=CHARGE, remittance="R3"))
    won, lost = await claim(client, paid_on_appeal), await claim(client, denied_again)
    assert (won["state"], won["paid_cents"], won["insurance_balance_cents"]) == ("paid", 20000, 0)
    assert (lost["state"], lost["insurance_balance_cents"]) == ("denied", CHARGE)


async def test_a_denial_billed_to_the_patient_or_written_off_leaves_the_claims_insurance_balance(
    client: Any,
) -> None:
    billed, written, partly = await submitted(client), await submitted(client), await submitted(client)
    await run(client, None, encounter_adjudicated(billed, 0, denied=CHARGE, remittance="R1"))
    await run(
        client, None, encounter_adjudicated(written, 15000, denied=4550, remittance="R1")
    )  # 45.50 denied, the rest paid and adjusted
    await run(client, None, encounter_adjudicated(partly, 15000, denied=4550, remittance="R1"))
    assert [(await claim(client, c))["insurance_balance_cents"] for c in (billed, written, partly)] == [
        CHARGE,
        4550,
        4550,
    ]
    await run(client, on_denial_resolved, resolved(billed, "billed_patient", transfer=CHARGE))
    await run(client, on_denial_resolved, resolved(written, "written_off", written_off=4550))
    # one of two denials on the claim written off: the claim stays open with the payer, its balance drops
    await run(
        client,
        on_denial_resolved,
        resolved(partly, "written_off", written_off=1000).model_copy(update={"claim_settled": False}),
    )
    b, w, p = await claim(client, billed), await claim(client, written), await claim(client, partly)
    assert (b["state"], b["patient_transfer_cents"], b["written_off_cents"]) == ("closed", CHARGE, 0)
    assert (w["state"], w["patient_transfer_cents"], w["written_off_cents"]) == ("closed", 0, 4550)
    assert (p["state"], p["written_off_cents"], p["insurance_balance_cents"]) == ("partially_paid", 1000, 3550)
    aging = (await client.get("/v1/reports/ar-aging", headers=T)).json()
    assert [(a["claims"], a["total_cents"]) for a in aging] == [(1, 3550)]


async def test_an_appealed_claim_whose_appeal_is_upheld_by_letter_is_closed(client: Any) -> None:
    claim_id = await submitted(client)
    await run(client, None, encounter_adjudicated(claim_id, 0, denied=CHARGE, remittance="R1"))
    await run(client, on_appeal_sent, appeal_sent(claim_id))
    await run(client, on_denial_resolved, resolved(claim_id, "closed"))
    assert (await claim(client, claim_id))["state"] == "closed"


async def test_the_worker_reads_appeals_sent(client: Any) -> None:
    from claims.consumers import registry
    from rcm_shared.db import session_factory
    from rcm_shared.events import Envelope

    claim_id = await submitted(client)
    await run(client, None, encounter_adjudicated(claim_id, 0, denied=CHARGE, remittance="R1"))
    handler = registry.get("denial.appeal_sent", 1)
    assert handler is not None, "claims does not read appeals sent"
    event = appeal_sent(claim_id, denial_id="D1", answer_days=45)
    async with session_factory(client.app.state.engine)() as session, session.begin():
        await handler(session, Envelope.wrap(event, source="/denials", tenant_id="org-1"))
    assert (await claim(client, claim_id))["state"] == "appealed"


async def appealed(client: Any, claim_id: str) -> None:
    await run(client, on_appeal_sent, appeal_sent(claim_id))
    assert (await claim(client, claim_id))["state"] == "appealed"


async def test_an_appeal_answered_by_a_reversal_and_a_new_payment_is_paid_once(client: Any) -> None:
    """The payer answers an appeal of an underpaid claim by taking back its first payment (22) and paying the
    claim again (1): the claim ends paid what the second payment says, not both."""
    claim_id = await submitted(client)
    await run(client, None, encounter_adjudicated(claim_id, 10000, denied=14550, remittance="R1"))
    await appealed(client, claim_id)
    await run(client, on_reversed, encounter_reversed(claim_id, 10000, "R2"))
    c = await claim(client, claim_id)
    assert (c["state"], c["paid_cents"]) == ("accepted", 0)
    await run(client, None, encounter_adjudicated(claim_id, CHARGE, denied=0, remittance="R2"))
    c = await claim(client, claim_id)
    assert (c["state"], c["paid_cents"], c["insurance_balance_cents"]) == ("paid", CHARGE, 0)


async def test_a_reversal_of_a_payment_claims_never_saw_is_kept_for_it(client: Any) -> None:
    """A reversal may be posted before the payment it takes back (held in an unbalanced 835, released later):
    its amount is applied still, so the payment's release (marked reversed already by remittance) nets to
    nothing, and the claim is owed by the payer, not paid."""
    claim_id = await submitted(client)
    await run(client, on_reversed, encounter_reversed(claim_id, 10000, "R2"))
    assert (await claim(client, claim_id))["paid_cents"] == -10000
    released = encounter_adjudicated(claim_id, 10000, denied=14550, remittance="R1").model_copy(
        update={"reversed_already": True}
    )
    await run(client, None, released)
    c = await claim(client, claim_id)
    assert (c["paid_cents"], c["state"], c["insurance_balance_cents"]) == (0, "accepted", CHARGE), c
    history = (await client.get(f"/v1/claims/{claim_id}/history", headers=T)).json()
    assert [h["to_state"] for h in history][-1] == "accepted"


async def test_a_released_payment_its_reversal_came_before_keeps_the_corrections_patient_share(
    client: Any,
) -> None:
    """R1 (paid 200.00, 45.50 to the patient) is held; R2 reverses it and pays a correction leaving 20.00 to
    the patient; R1 is released last: its payment nets with the reversal, the correction's word stands."""
    claim_id = await submitted(client)
    await run(client, on_reversed, encounter_reversed(claim_id, 20000, "R2"))
    correction = encounter_adjudicated(claim_id, 20000, denied=0, remittance="R2").model_copy(
        update={"patient_responsibility_cents": 2000}
    )
    await run(client, None, correction)
    released = encounter_adjudicated(claim_id, 20000, denied=0, remittance="R1").model_copy(
        update={"patient_responsibility_cents": 4550, "reversed_already": True}
    )
    await run(client, None, released)
    c = await claim(client, claim_id)
    assert (c["state"], c["paid_cents"], c["patient_responsibility_cents"]) == ("paid", 20000, 2000), c


async def test_a_closed_claim_the_payer_takes_back_whole_is_owed_again(client: Any) -> None:
    """Paid 150.00, 45.50 denied and written off (the claim closed); the payer then reverses its payment with
    no correction: the claim is reopened, and once denials undoes the write-off of the adjudication the payer
    took back (``denial.move_undone``), the whole charge is insurance A/R again (aging, follow-up)."""
    claim_id = await submitted(client)
    await run(client, None, encounter_adjudicated(claim_id, 15000, denied=4550, remittance="R1"))
    written_off = resolved(claim_id, "written_off", written_off=4550).model_copy(update={"source_remittance_id": "R1"})
    await run(client, on_denial_resolved, written_off)
    assert (await claim(client, claim_id))["state"] == "closed"
    await run(client, on_reversed, encounter_reversed(claim_id, 15000, "R3"))
    c = await claim(client, claim_id)
    assert (c["state"], c["paid_cents"], c["written_off_cents"]) == ("accepted", 0, 4550), c
    undo = DenialMoveUndoneV1(
        denial_id="D-" + claim_id,
        claim_id=claim_id,
        outcome="superseded",
        written_off_cents=4550,
        source_remittance_id="R1",
        answered_by_remittance_id="R3",
    )
    await run(client, on_denial_move_undone, undo)
    c = await claim(client, claim_id)
    assert (c["state"], c["paid_cents"], c["written_off_cents"]) == ("accepted", 0, 0), c
    assert c["insurance_balance_cents"] == CHARGE
    aging = (await client.get("/v1/reports/ar-aging", headers=T)).json()
    assert sum(a["total_cents"] for a in aging) == CHARGE


async def test_a_closed_claim_paid_later_is_paid_and_one_the_payer_denies_again_stays_closed(client: Any) -> None:
    """A denied claim billed to the patient (closed) that the payer pays later (on appeal) is paid; a closed
    claim the payer answers with no money again keeps its state (nothing of the payer's changed)."""
    paid_later, denied_again = await submitted(client), await submitted(client)
    for claim_id in (paid_later, denied_again):
        await run(client, None, encounter_adjudicated(claim_id, 0, denied=CHARGE, remittance="R1"))
        move = resolved(claim_id, "billed_patient", transfer=CHARGE).model_copy(update={"source_remittance_id": "R1"})
        await run(client, on_denial_resolved, move)
        assert (await claim(client, claim_id))["state"] == "closed"
    await run(client, None, encounter_adjudicated(paid_later, CHARGE, denied=0, remittance="R2"))
    await run(client, None, encounter_adjudicated(denied_again, 0, denied=CHARGE, remittance="R2"))
    won, lost = await claim(client, paid_later), await claim(client, denied_again)
    assert (won["state"], won["paid_cents"]) == ("paid", CHARGE), won
    assert (lost["state"], lost["insurance_balance_cents"]) == ("closed", 0), lost


async def test_an_835_for_a_rejected_draft_or_ready_claim_is_applied_in_one_batch(client: Any) -> None:
    """The payer adjudicates a claim its 277CA rejected: its 835 is the truth, the claim moves on. An 835 for a
    claim that is draft or ready again (rejected, then edited) applies its money and is recorded on the claim,
    its state kept. None of them sends the batch to the dead-letter queue."""
    from claims.use_cases.acknowledgments import apply_claim_status

    rejected, edited, other = await submitted(client), await submitted(client), await submitted(client)
    for claim_id in (rejected, edited):
        async with client.app.state.engine.begin() as conn:
            detail = {"source": "277CA", "summary": "rejected: A7:21", "codes": ["A7:21"]}
            await apply_claim_status(UNITS.on(conn, "org-1", Actor("t")), claim_id, accepted=False, detail=detail)
    document = (await client.get(f"/v1/claims/{edited}", headers=T)).json()["document"]
    put = await client.put(f"/v1/claims/{edited}", json=document, headers=T)
    assert put.status_code == 200 and put.json()["state"] == "ready", put.text
    async with client.app.state.engine.begin() as conn:
        events = [encounter_adjudicated(c, 20000, denied=0, remittance="R1") for c in (rejected, edited, other)]
        await on_adjudicated_many(UNITS.on(conn, "org-1", Actor("t")), [(e, Actor("event:test")) for e in events])
    r, e, o = await claim(client, rejected), await claim(client, edited), await claim(client, other)
    assert (r["state"], r["paid_cents"]) == ("paid", 20000), r
    assert (e["state"], e["paid_cents"]) == ("ready", 20000), e
    assert (o["state"], o["paid_cents"]) == ("paid", 20000), o
    records = (await client.get(f"/v1/claims/{edited}/status-records", headers=T)).json()
    assert records[-1]["source"] == "835" and "while it is ready" in records[-1]["summary"], records


async def test_an_appealed_claim_can_be_voided_or_replaced(client: Any) -> None:
    voided, replaced = await submitted(client), await submitted(client)
    for claim_id in (voided, replaced):
        await run(client, None, encounter_adjudicated(claim_id, 0, denied=CHARGE, remittance="R1"))
        await appealed(client, claim_id)
    void = await client.post(f"/v1/claims/{voided}/void", headers=T)
    assert void.status_code == 200, void.text
    assert void.json()["frequency"] == "8"
    assert (await client.post(f"/v1/claims/{void.json()['id']}/submit", headers=T)).status_code == 200
    correct = await client.post(f"/v1/claims/{replaced}/correct", json={"correction": {}}, headers=T)
    assert correct.status_code == 201, correct.text
    # the payer's reversal answers the void; the original, under appeal still, becomes void
    await run(client, on_reversed, encounter_reversed(voided, 0, "R2"))
    assert (await claim(client, voided))["state"] == "void"


async def test_a_denials_money_is_moved_once_and_undone_once_when_denials_says_so(client: Any) -> None:
    """A resolution delivered twice (two event ids) moves its money once. The payer's answers alone (a payment
    on appeal, a reversal, a crossover payer's answer) undo nothing here: denials decides whether they answer
    the denied line, and its ``denial.move_undone`` takes the move off the claim, once."""
    billed, written = await submitted(client), await submitted(client)
    await run(client, None, encounter_adjudicated(billed, 0, denied=CHARGE, remittance="R1"))
    await run(client, None, encounter_adjudicated(written, 15000, denied=4550, remittance="R1"))
    transfer = resolved(billed, "billed_patient", transfer=CHARGE).model_copy(update={"source_remittance_id": "R1"})
    write_off = resolved(written, "written_off", written_off=4550).model_copy(update={"source_remittance_id": "R1"})
    for _ in range(2):
        await run(client, on_denial_resolved, transfer)
        await run(client, on_denial_resolved, write_off)
    b, w = await claim(client, billed), await claim(client, written)
    assert (b["state"], b["patient_transfer_cents"]) == ("closed", CHARGE)
    assert (w["state"], w["written_off_cents"]) == ("closed", 4550)
    await run(client, None, encounter_adjudicated(billed, 20000, denied=0, remittance="R2"))  # paid on appeal
    medigap = encounter_adjudicated(written, 1000, denied=0, remittance="R3").model_copy(
        update={"crossover_answer": True, "adjustments": []}
    )
    await run(client, None, medigap)  # a crossover answer paying the coinsurance, not the written-off line
    b, w = await claim(client, billed), await claim(client, written)
    assert (b["paid_cents"], b["patient_transfer_cents"]) == (20000, CHARGE)
    assert (w["paid_cents"], w["written_off_cents"]) == (16000, 4550)
    # denials read the payment on appeal: the transfer is undone, once whatever event id it comes under
    undo = DenialMoveUndoneV1(
        denial_id="D-" + billed,
        claim_id=billed,
        outcome="recovered",
        patient_transfer_cents=CHARGE,
        source_remittance_id="R1",
        answered_by_remittance_id="R2",
    )
    for _ in range(2):
        await run(client, on_denial_move_undone, undo)
    b, w = await claim(client, billed), await claim(client, written)
    assert (b["paid_cents"], b["patient_transfer_cents"], b["written_off_cents"]) == (20000, 0, 0)
    assert (w["patient_transfer_cents"], w["written_off_cents"]) == (0, 4550)
    # an undo of a move that never reached the claim takes nothing off
    stray = undo.model_copy(update={"denial_id": "D-other", "claim_id": written, "written_off_cents": 4550})
    await run(client, on_denial_move_undone, stray)
    assert (await claim(client, written))["written_off_cents"] == 4550


async def test_a_denials_move_stands_on_the_adjudication_it_came_from(client: Any) -> None:
    """The resolution may reach claims before the 835 that opened the denial does (another topic): that
    adjudication, paying the claim's other line, does not undo the move."""
    claim_id = await submitted(client)
    event = resolved(claim_id, "written_off", written_off=4550).model_copy(
        update={"source_remittance_id": "R1", "claim_settled": False}
    )
    await run(client, on_denial_resolved, event)
    await run(client, None, encounter_adjudicated(claim_id, 15000, denied=4550, remittance="R1"))
    assert (await claim(client, claim_id))["written_off_cents"] == 4550


async def test_more_taken_off_a_claim_than_it_charged_shows_as_a_credit_not_as_zero(client: Any) -> None:
    claim_id = await submitted(client)
    await run(client, None, encounter_adjudicated(claim_id, 15000, denied=4550, remittance="R1"))
    over = resolved(claim_id, "written_off", written_off=6000).model_copy(update={"claim_settled": False})
    await run(client, on_denial_resolved, over)
    c = await claim(client, claim_id)
    assert (c["state"], c["insurance_balance_cents"]) == ("partially_paid", -1450)
    (row,) = (await client.get("/v1/reports/ar-aging", headers=T)).json()
    assert (row["claims"], row["total_cents"], row["credit_claims"], row["credit_cents"]) == (0, 0, 1, -1450)


@pytest.fixture
def mue_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The MUE fixture (83036: MUE 1 per date of service); requested before ``client``."""
    monkeypatch.setenv("CLAIMS_MUE_FILES", json.dumps([str(Path(__file__).parent / "fixtures" / "mue_sample.csv")]))


async def test_a_replacement_and_its_original_are_one_claim_for_the_mue(mue_client: None, client: Any) -> None:
    """A claim and its open replacement bill the same units once: neither the replacement (edited) nor a third
    claim of the same day counts them twice."""
    patient = {"subscriber.last_name": "Mueller"}
    created = await client.post("/v1/claims", json=encounter(**patient), headers=T)
    original = str(created.json()["id"])
    assert (await client.post(f"/v1/claims/{original}/submit", headers=T)).status_code == 200
    await run(client, None, encounter_adjudicated(original, 20000, denied=0, remittance="R1"))
    replacement = await client.post(f"/v1/claims/{original}/correct", json={"correction": {}}, headers=T)
    assert replacement.status_code == 201 and replacement.json()["state"] == "ready", replacement.text
    edited = await client.put(f"/v1/claims/{replacement.json()['id']}", json=encounter(**patient), headers=T)
    assert edited.status_code == 200, edited.text
    assert [e["message"] for e in edited.json()["edits"] if e["rule"] == "MUE001"] == []
    a1c = encounter()["lines"][1]  # 83036 x 1 on the same date
    third = await client.post("/v1/claims", json=encounter(lines=[a1c], **patient), headers=T)
    assert [e["message"] for e in third.json()["edits"] if e["rule"] == "MUE001"] == [
        f"2 units of 83036 on {a1c['service_date']} exceed the MUE of 1 per date of service (MAI 3; 1 of them on "
        "other claims from this provider)"
    ]


async def test_a_reversal_naming_the_void_claim_takes_the_payment_back_from_its_original(client: Any) -> None:
    """A payer may echo the void's own claim id (CLM01 of the frequency-8 claim) on its reversal: the payment
    it takes back is the original's, which is void with it; the void claim never carries money."""
    original = await submitted(client)
    await run(client, None, encounter_adjudicated(original, 20000, denied=0, remittance="R1"))
    void = await client.post(f"/v1/claims/{original}/void", headers=T)
    void_id = void.json()["id"]
    assert (await client.post(f"/v1/claims/{void_id}/submit", headers=T)).status_code == 200
    await run(client, on_reversed, encounter_reversed(void_id, 20000, "R2"))
    o, v = await claim(client, original), await claim(client, void_id)
    assert (o["state"], o["paid_cents"]) == ("void", 0)
    assert (v["state"], v["paid_cents"]) == ("void", 0)
