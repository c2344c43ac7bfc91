"""Patient payments and refunds: once per idempotency key, allocated to claims, a credit refunded."""

from __future__ import annotations

from typing import Any

from builders import T
from builders.x835 import standard_file
from remittance.models import bus, patient_ledger
from remittance_steps import X12, account, billed
from sqlalchemy import func, select


async def test_payments_once_per_key_allocation_credit_and_refund(stack: tuple[Any, Any]) -> None:
    client, engine = stack
    await billed(engine, "PCN0001", "A2")
    await billed(engine, "PCN0002", "A2", code="99212", charge_cents=9000)
    assert (await client.post("/v1/remittances", content=standard_file(), headers=X12)).status_code == 201

    def pay(amount: int, key: str | None, path: str = "/v1/patient-payments", **kw: Any) -> Any:
        headers = {**T, **({"Idempotency-Key": key} if key else {})}
        body = {"account_id": "A2", "amount_cents": amount, "method": "card", "reference": "AUTH77", **kw}
        return client.post(path, json=body, headers=headers)

    assert (await pay(2000, None)).status_code == 400  # no idempotency key, nothing posted
    first = await pay(2000, "k1", claim_ids=["PCN0002"])
    assert first.status_code == 201 and first.json()["balance_cents"] == 1500 and not first.json()["replayed"]
    again = await pay(2000, "k1", claim_ids=["PCN0002"])
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["balance_cents"] == 1500
    assert again.json()["payment_id"] == first.json()["payment_id"]
    assert (await pay(2500, "k1")).status_code == 409  # the same key for another request
    a2 = await account(client, "A2")
    assert {c["claim_id"]: c["balance_cents"] for c in a2["claims"]} == {"PCN0001": 1500, "PCN0002": 0}

    over = await pay(2500, "k2")  # 15.00 settles PCN0001, 10.00 stays as a credit
    assert over.json()["balance_cents"] == -1000
    assert (await account(client, "A2"))["on_account_cents"] == -1000
    too_much = await pay(1200, "r1", path="/v1/patient-refunds")
    assert too_much.status_code == 422 and "credit" in too_much.json()["detail"]
    refund = await pay(1000, "r2", path="/v1/patient-refunds")
    assert refund.status_code == 201 and refund.json()["balance_cents"] == 0
    assert (await pay(1000, "r2", path="/v1/patient-refunds")).json()["replayed"]
    assert (await pay(100, "k3", account_id="NOPE")).status_code == 422

    async with engine.connect() as conn:
        p = patient_ledger.c
        totals = dict(
            (t, int(v))
            for t, v in await conn.execute(select(p.entry_type, func.sum(p.amount_cents)).group_by(p.entry_type))
        )
        events = (
            await conn.execute(
                select(func.count()).where(bus.outbox.c.event_type == "remittance.patient_balance_changed")
            )
        ).scalar()
    # charges 35.00 = payments 45.00 - refund 10.00: the ledger balances to zero
    assert totals == {"deductible": 1000, "coinsurance": 1000, "copay": 1500, "payment": -4500, "refund": 1000}
    assert sum(totals.values()) == 0
    assert events == 4  # the 835's charges, two payments, the refund (replays emit nothing)
