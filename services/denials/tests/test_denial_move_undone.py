"""The payer's later word on a denial whose money was moved: denials alone decides when the move is taken back
(a payment on the denied line, a reversal of the adjudication it came from, the claim voided or replaced;
never a crossover payer's answer) and says it once, in ``denial.move_undone`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from denials.config import DenialsSettings
from denials.domain.classify import default_rules
from denials.handlers import Unit, on_claim_status, on_reversed
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import ClaimReversedV1
from rcm_shared.testing import app_client

sys.path.insert(0, str(Path(__file__).parent))
from test_denial_actions_money import T, act, feed, outbox
from test_denials import adj


@pytest.fixture
async def client(db_factory: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    db = await db_factory("denials")
    monkeypatch.setenv("DENIALS_DATABASE_URL", db.url)
    monkeypatch.setenv("DENIALS_DB_SCHEMA", db.schema)
    from denials.config import get_settings
    from denials.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c


RESOLVED = "denials.denial.resolved"


async def undone(client: Any) -> list[dict[str, Any]]:
    """The undo events denials emitted, in order (they share the resolutions' topic)."""
    return [e for e in await outbox(client, RESOLVED) if "outcome" in e and "days_to_resolve" not in e]


async def status(client: Any, denial_id: str) -> str:
    return str((await client.get(f"/v1/denials/{denial_id}", headers=T)).json()["status"])


async def reverse(client: Any, claim_id: str, original: str, remittance: str = "R2") -> int:
    event = ClaimReversedV1(
        remittance_id=remittance,
        claim_id=claim_id,
        payer_id="ACME01",
        payer_claim_control_number="PCCN-" + claim_id,
        reversed_paid_cents=0,
        reversed_charge_cents=-15000,
        original_remittance_id=original,
    )
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        return await on_reversed(Unit(conn, "org-1", DenialsSettings()), event, env)


async def claim_becomes(client: Any, claim_id: str, state: str) -> None:
    event = ClaimStatusChangedV1(
        claim_id=claim_id, old_state="paid", new_state=state, changed_at="2026-01-05T10:00:00Z"
    )
    env = Envelope.wrap(event, source="/claims", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        await on_claim_status(Unit(conn, "org-1", DenialsSettings()), event, env, default_rules())


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


async def test_only_money_that_is_the_patients_is_billed_to_the_patient(client: Any) -> None:
    """F8: an underpayment (the payer's shortfall) and a denial no rule classifies are refused with the reason;
    a non-covered service the classification marks billable to the patient (OA-204) is billed."""
    from denials.domain.triage import FeeSchedule

    fees = FeeSchedule({("ACME01", "99213"): 12000})
    settings = DenialsSettings()
    env_event = adj("P8", 8000, [("CO", "45", 2000, None)], charge=10000, lines=[(10000, 8000)])
    from denials.handlers import on_adjudicated

    async with client.app.state.engine.begin() as conn:
        env = Envelope.wrap(env_event, source="/remittance", tenant_id="org-1")
        (under,) = await on_adjudicated(Unit(conn, "org-1", settings), env_event, default_rules(), env, fees)
    (unknown,) = await feed(client, adj("P9", 0, [("OA", "999", 15000, None)], charge=15000))
    (noncovered,) = await feed(client, adj("P10", 0, [("OA", "204", 15000, None)], charge=15000))
    r = await act(client, under, {"action": "bill_patient"})
    assert r.status_code == 409 and "underpayment" in r.json()["detail"], r.text
    r = await act(client, unknown, {"action": "bill_patient"})
    assert r.status_code == 409 and "not one the classification marks billable" in r.json()["detail"], r.text
    assert (await act(client, noncovered, {"action": "bill_patient"})).json()["status"] == "billed_patient"
    assert [e["claim_id"] for e in await outbox(client, RESOLVED)] == ["P10"]


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
