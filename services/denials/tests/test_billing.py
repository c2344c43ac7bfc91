"""Only money that is the patient's is billed to the patient (denials/domain/billing.py), through the bill_patient
action (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from builders import T
from builders.events import adj
from denial_steps import RESOLVED, act, feed, outbox


@pytest.mark.write_off_approval_cents(20000)
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


@pytest.mark.write_off_approval_cents(20000)
async def test_an_amount_the_payer_already_put_on_the_patient_is_not_billed_again(client: Any) -> None:
    """PR-204 (not covered under the patient's plan): the 835 assigns it to the patient and remittance bills it
    on the statement; a transfer would bill the same money a second time."""
    (denial_id,) = await feed(client, adj("C13", 0, [("PR", "204", 15000, None)], charge=15000))
    r = await act(client, denial_id, {"action": "bill_patient"})
    assert r.status_code == 409, r.text
    assert "PR-204" in r.json()["detail"] and "twice" in r.json()["detail"]
    assert await outbox(client, "denials.denial.resolved") == []


async def test_only_money_that_is_the_patients_is_billed_to_the_patient(client: Any) -> None:
    """F8: a denial no rule classifies is refused with the reason; a non-covered service the classification
    marks billable to the patient (OA-204) is billed."""
    (unknown,) = await feed(client, adj("P9", 0, [("OA", "999", 15000, None)], charge=15000))
    (noncovered,) = await feed(client, adj("P10", 0, [("OA", "204", 15000, None)], charge=15000))
    r = await act(client, unknown, {"action": "bill_patient"})
    assert r.status_code == 409 and "not one the classification marks billable" in r.json()["detail"], r.text
    assert (await act(client, noncovered, {"action": "bill_patient"})).json()["status"] == "billed_patient"
    assert [e["claim_id"] for e in await outbox(client, RESOLVED)] == ["P10"]
