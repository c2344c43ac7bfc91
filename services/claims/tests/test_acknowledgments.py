"""Acknowledgments (claims.use_cases.acknowledgments): 999 and 277CA findings applied to the claims.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from builders import T
from builders.acks import ack_277ca, ack_999, controls
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
    submit,
)


async def test_999_rejection_and_277ca_acceptance(client: Any) -> None:
    a = await create(client)
    b = await create(client, **{"subscriber.member_id": "W2"})
    await submit(client, a["id"])
    await submit(client, b["id"])
    gs_a, st_a = controls((await client.get(f"/v1/claims/{a['id']}/x12", headers=T)).text)
    r = await client.post("/v1/acknowledgments", content=ack_999(gs_a, st_a, accepted=False), headers=T)
    assert r.status_code == 200 and r.json()["claims_updated"] == [a["id"]]
    rejected = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert rejected["state"] == "rejected"
    finding = rejected["status_detail"]["findings"][0]
    assert finding["segment"] == "NM1" and finding["elements"][0]["problem"] == "invalid code value"
    r = await client.post("/v1/acknowledgments", content=ack_277ca(b["id"], accepted=True), headers=T)
    assert r.json() == {"kind": "277CA", "claims_updated": [b["id"]], "unknown": []}
    accepted = (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()
    assert accepted["state"] == "accepted" and accepted["payer_claim_control_number"] == "PAYERICN1"
    bad = await client.post("/v1/acknowledgments", content=b"ISA*00*garbage", headers=T)
    assert bad.status_code == 422


async def test_one_277ca_for_many_claims_applies_its_findings_in_order(client: Any) -> None:
    a, b = await create(client), await create(client, **{"subscriber.member_id": "W2"})
    for claim in (a, b):
        await submit(client, claim["id"])
    # a accepted, b rejected, a claim we never billed, then a again, rejected: too late, recorded only
    ack = ack_277ca(a["id"], True, also=((b["id"], False), ("CNOTOURS", True), (a["id"], False)))
    r = await client.post("/v1/acknowledgments", content=ack, headers=T)
    assert r.json() == {"kind": "277CA", "claims_updated": [a["id"], b["id"], a["id"]], "unknown": ["CNOTOURS"]}
    got_a = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    got_b = (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()
    assert (got_a["state"], got_a["payer_claim_control_number"]) == ("accepted", "PAYERICN1")
    assert got_a["status_detail"]["codes"] == ["A7:562:85"]  # the last finding is the one shown
    assert datetime.fromisoformat(got_a["updated_at"]).utcoffset() == timedelta(0)  # with its offset, on SQLite too
    assert (got_b["state"], got_b["payer_claim_control_number"]) == ("rejected", None)
    history = (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()
    assert [h["to_state"] for h in history].count("accepted") == 1 and "rejected" not in [
        h["to_state"] for h in history
    ]
    records = (await client.get(f"/v1/claims/{a['id']}/status-records", headers=T)).json()
    assert [r["codes"] for r in records if r["source"] == "277CA"] == [["A2:20:PR"], ["A7:562:85"]]
