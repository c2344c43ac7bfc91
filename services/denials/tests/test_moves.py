"""Money moves and their undo (denials/use_cases/moves.py): a denial's money moves once, only while the adjudication it
came from stands; the payer's later word on a moved denial (a payment on the denied line, a reversal of the
adjudication it came from, the claim voided or replaced; never a crossover payer's answer) takes the move back
once, in ``denial.move_undone`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from builders import T
from builders.events import adj
from denial_steps import RESOLVED, act, claim_becomes, feed, outbox, reverse, status, undone, unit_of
from denials.config import DenialsSettings
from denials.use_cases.intake import on_reversed
from rcm_shared.errors import Conflict
from rcm_shared.events import Envelope
from rcm_shared.payloads.remittance import ClaimReversedV1


@pytest.mark.write_off_approval_cents(20000)
async def test_an_action_raced_by_another_on_the_same_denial_moves_its_money_once(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests (a double click, a retry) both read the denial open before either resolves it: the
    second finds it resolved when it writes and is refused, so one resolution (one transfer) goes out."""
    from denials.repository import DenialRepository
    from denials.use_cases import actions

    (denial_id,) = await feed(client, adj("C9", 0, [("CO", "27", 15000, None)], charge=15000))
    async with client.app.state.engine.begin() as conn:
        stale = await DenialRepository(unit_of(conn)).get(denial_id)
    assert (await act(client, denial_id, {"action": "bill_patient"})).status_code == 200

    async def read_before_the_other_wrote(self: Any, denial_id: str) -> Any:
        return stale

    monkeypatch.setattr(DenialRepository, "get", read_before_the_other_wrote)
    with pytest.raises(Conflict, match="already"):
        async with client.app.state.engine.begin() as conn:
            await actions.act(unit_of(conn, actor="joe"), DenialsSettings(), denial_id, "bill_patient")
    resolved = await outbox(client, "denials.denial.resolved")
    assert [e["patient_transfer_cents"] for e in resolved] == [15000]


@pytest.mark.write_off_approval_cents(20000)
async def test_a_denial_whose_adjudication_the_payer_reversed_moves_no_money(client: Any) -> None:
    """The payer took back the adjudication the denial came from: the money is no longer denied (its corrected
    adjudication decides, with a denial of its own if it denies again), so billing the patient or writing it
    off would move money out of A/R that is not there to move."""

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
        assert await on_reversed(unit_of(conn), reversal, env) == 1
    for body in ({"action": "bill_patient"}, {"action": "write_off", "note": "small"}):
        r = await act(client, denial_id, body)
        assert r.status_code == 409 and "reversed" in r.json()["detail"], r.text
    assert await outbox(client, "denials.denial.resolved") == []


async def test_a_payment_read_before_the_action_leaves_nothing_to_bill_or_write_off(client: Any) -> None:
    """The payer paid the denied claim on appeal before anyone acted: the denial is recovered, and billing the
    patient or writing it off is refused, so no money moves in either ledger."""
    (denial_id,) = await feed(client, adj("P1", 0, [("CO", "27", 15000, None)], charge=15000))
    await feed(client, adj("P1", 15000, [], charge=15000, remittance="R2"))
    for body in ({"action": "bill_patient"}, {"action": "write_off", "note": "small"}):
        r = await act(client, denial_id, body)
        assert r.status_code == 409 and "recovered" in r.json()["detail"], r.text
    assert [e["outcome"] for e in await outbox(client, RESOLVED)] == ["recovered"]
    assert all(not e["patient_transfer_cents"] and not e["written_off_cents"] for e in await outbox(client, RESOLVED))


async def test_a_payment_on_the_denied_line_after_a_move_undoes_it_once(client: Any) -> None:
    """Line 2 denied (45.00) and billed to the patient; the payer pays line 2 on appeal: the denial is
    recovered and one undo event carries the transfer back; the same answer again undoes nothing more."""
    (denial_id,) = await feed(
        client, adj("P2", 10000, [("OA", "204", 4500, 2)], charge=14500, lines=[(10000, 10000), (4500, 0)])
    )
    assert (await act(client, denial_id, {"action": "bill_patient"})).json()["status"] == "billed_patient"
    paid = adj("P2", 4500, [], charge=14500, lines=[(10000, 0), (4500, 4500)], remittance="R2")
    await feed(client, paid)
    await feed(client, paid)  # redelivered under another event id
    assert await status(client, denial_id) == "recovered"
    (event,) = await undone(client)
    assert (event["denial_id"], event["line_number"], event["outcome"]) == (denial_id, 2, "recovered")
    assert (event["patient_transfer_cents"], event["written_off_cents"]) == (4500, 0)
    assert (event["source_remittance_id"], event["answered_by_remittance_id"]) == ("R1", "R2")
    detail = (await client.get(f"/v1/denials/{denial_id}", headers=T)).json()
    assert [h["action"] for h in detail["history"]] == ["opened", "billed_patient", "move_undone"]
    assert detail["recovered_cents"] == 4500


async def test_a_payment_on_another_line_or_a_crossover_answer_leaves_the_move(client: Any) -> None:
    """A later payment of line 1 only, and a crossover payer's answer paying the whole claim, are no answer to
    the denied line 2: the write-off stands."""
    (denial_id,) = await feed(
        client, adj("P3", 10000, [("CO", "97", 4500, 2)], charge=14500, lines=[(10000, 10000), (4500, 0)])
    )
    assert (await act(client, denial_id, {"action": "write_off", "note": "bundled"})).json()["status"] == "written_off"
    await feed(client, adj("P3", 500, [], charge=14500, lines=[(10000, 500), (4500, 0)], remittance="R2"))
    crossover = adj("P3", 4500, [], charge=14500, lines=[(10000, 0), (4500, 4500)], remittance="R3", payer="MGAP1")
    await feed(client, crossover.model_copy(update={"crossover_answer": True}))
    assert await status(client, denial_id) == "written_off"
    assert await undone(client) == []


async def test_a_reversal_of_the_source_or_a_void_of_the_claim_undoes_the_move(client: Any) -> None:
    """The payer reverses the adjudication a write-off stood on; another claim whose patient was billed is
    voided: both moves are taken back (superseded), once; a reversal of another remittance leaves a move."""
    (written,) = await feed(client, adj("P4", 0, [("CO", "29", 15000, None)], charge=15000))
    (billed,) = await feed(client, adj("P5", 0, [("CO", "27", 15000, None)], charge=15000))
    (kept,) = await feed(client, adj("P6", 0, [("CO", "29", 15000, None)], charge=15000))
    for denial_id in (written, kept):
        assert (await act(client, denial_id, {"action": "write_off", "note": "late"})).status_code == 200
    assert (await act(client, billed, {"action": "bill_patient"})).status_code == 200
    assert await reverse(client, "P4", "R1") == 1
    assert await reverse(client, "P4", "R1") == 0  # delivered again
    assert await reverse(client, "P6", "R0") == 0
    await claim_becomes(client, "P5", "void")
    await claim_becomes(client, "P5", "void")
    assert [await status(client, d) for d in (written, billed, kept)] == ["superseded", "superseded", "written_off"]
    moves = [(e["claim_id"], e["patient_transfer_cents"], e["written_off_cents"]) for e in await undone(client)]
    assert moves == [("P4", 0, 15000), ("P5", 15000, 0)]
    # a superseded denial takes no further action
    r = await act(client, written, {"action": "bill_patient"})
    assert r.status_code == 409 and "superseded" in r.json()["detail"]


async def test_a_payer_reversed_denial_the_corrected_835_denies_again_is_superseded(client: Any) -> None:
    """F9: R1 denies, the payer reverses R1 and its corrected R2 denies again: R2's denial carries the money and
    R1's is closed as superseded, so the queue counts the money once."""
    (first,) = await feed(client, adj("P7", 0, [("CO", "197", 15000, None)], charge=15000))
    assert await reverse(client, "P7", "R1") == 1
    (second,) = await feed(client, adj("P7", 0, [("CO", "197", 15000, None)], charge=15000, remittance="R2"))
    assert (await status(client, first), await status(client, second)) == ("superseded", "open")
    queue = (await client.get("/v1/denials", headers=T)).json()
    assert [d["id"] for d in queue] == [second]
    assert [e["outcome"] for e in await outbox(client, RESOLVED)] == ["superseded"]


async def test_a_payment_released_after_its_reversal_undoes_no_move(client: Any) -> None:
    """R1 (held for review) paid 150.00; the payer's R2 reverses R1 and its correction denies; the office writes
    the denial off. Releasing R1 (``reversed_already``) is no answer of the payer's: the write-off stands."""
    assert await reverse(client, "Q1", "R1", remittance="R2") == 0
    (denial_id,) = await feed(client, adj("Q1", 0, [("CO", "29", 15000, None)], charge=15000, remittance="R2"))
    assert (await act(client, denial_id, {"action": "write_off", "note": "late"})).json()["status"] == "written_off"
    released = adj("Q1", 15000, [], charge=15000, remittance="R1").model_copy(update={"reversed_already": True})
    await feed(client, released)
    assert await status(client, denial_id) == "written_off"
    assert await undone(client) == []


async def test_a_payment_released_after_its_reversal_opens_no_denial(client: Any) -> None:
    """R1 (held) paid line 1 and denied line 2 (CO-97, 45.00); the payer's R2 reverses R1 and pays both lines.
    Releasing R1 opens no denial for money the payer has paid since."""
    assert await reverse(client, "Q2", "R1", remittance="R2") == 0
    assert (
        await feed(client, adj("Q2", 14500, [], charge=14500, lines=[(10000, 10000), (4500, 4500)], remittance="R2"))
        == []
    )
    released = adj(
        "Q2", 10000, [("CO", "97", 4500, 2)], charge=14500, lines=[(10000, 10000), (4500, 0)], remittance="R1"
    )
    opened = await feed(client, released.model_copy(update={"reversed_already": True}))
    assert opened == [], opened
