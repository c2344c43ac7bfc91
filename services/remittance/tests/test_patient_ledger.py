"""The patient ledger: a patient owes their share only once every payer of the claim is done."""

from __future__ import annotations

from typing import Any

from builders import T
from builders.x835 import claim, header, interchange, line, paid_claim
from remittance_steps import X12, account, billed


async def test_no_patient_balance_until_the_secondary_payer_has_paid(stack: tuple[Any, Any]) -> None:
    client, engine = stack
    await billed(engine, "X1", "A1", next_payer_id="MCRB1")
    first = interchange((header("EFTP1", "80.00"), [paid_claim("X1", "ICNP1")], []))
    assert (await client.post("/v1/remittances", content=first, headers=X12)).status_code == 201
    r = await client.get("/v1/patient-accounts/A1", headers=T)
    assert r.status_code == 200 and r.json()["balance_cents"] == 0 and r.json()["claims"] == []
    assert r.json()["pending_with_insurance"] == ["X1"]  # the 20.00 PR of the primary is not due

    # claims bills the secondary (linked to the primary); the primary is paid
    await billed(engine, "X1", "A1", state="paid", next_payer_id="MCRB1")
    await billed(engine, "Y1", "A1", payer_id="MCRB1", original_claim_id="X1")
    assert (await account(client, "A1"))["pending_with_insurance"] == ["X1", "Y1"]
    secondary = claim(
        "Y1",
        "2",
        "125.00",
        "12.00",
        "ICNS1",
        patient_resp="8.00",
        lines=[line("99213", "125.00", "12.00", [("OA", "23", "105.00"), ("PR", "2", "8.00")], lcn="Y1-1")],
    )
    second = interchange((header("EFTS1", "12.00", payer_id="MCRB1"), [secondary], []), isa=2)
    assert (await client.post("/v1/remittances", content=second, headers=X12)).status_code == 201
    await billed(engine, "Y1", "A1", state="paid", payer_id="MCRB1", original_claim_id="X1")
    after = await account(client, "A1")
    assert after["balance_cents"] == 800 and after["claims"] == [{"claim_id": "Y1", "balance_cents": 800}]
    assert after["pending_with_insurance"] == []
