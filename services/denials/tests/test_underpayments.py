"""The underpayment/overpayment worklist (denials/api/underpayments.py, use_cases/underpayments.py): group totals
to the cent, and the actions appeal (a letter citing the contract line), accept and adjust contract, each in the
item's history and answered as it is when repeated (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

from builders.contracts import billed, billed_claim, contract, paid
from contract_steps import adjudicate, bill, enter, expected_payment, headers, worklist

RATES = {("99213", ""): 9250, ("36415", ""): 300, ("20610", ""): 10000}


async def _worked_day(client: Any) -> dict[str, str]:
    """Two payers' claims: ACME01 short on 99213 twice (12.50, 2.50) and on 36415 units (6.00), over on 20610
    (5.00); MCRB1 short on 99213 (10.00). Returns the item ids by claim."""
    await enter(client, contract(rates=RATES))
    await enter(client, contract(payer="MCRB1", rates={("99213", ""): 8100}))
    claims = {
        "A1": ("ACME01", [billed(1, "99213", 15000), billed(2, "36415", 1500, units="3")]),
        "A2": ("ACME01", [billed(1, "99213", 15000)]),
        "A3": ("ACME01", [billed(1, "20610", 20000)]),
        "M1": ("MCRB1", [billed(1, "99213", 15000)]),
    }
    for claim_id, (payer, lines) in claims.items():
        await bill(client, billed_claim(claim_id, lines, payer=payer))
    await adjudicate(client, paid("A1", [(1, "99213", 15000, 8000, 0), (2, "36415", 1500, 300, 0)]))
    await adjudicate(client, paid("A2", [(1, "99213", 15000, 9000, 1800)]))
    await adjudicate(client, paid("A3", [(1, "20610", 20000, 10500, 0)]))
    await adjudicate(client, paid("M1", [(1, "99213", 15000, 7100, 0)], payer="MCRB1"))
    return {f"{i['claim_id']}.{i['line_number']}": i["id"] for i in (await worklist(client))["items"]}


async def test_the_worklist_groups_and_totals_the_money_at_stake(client: Any) -> None:
    ids = await _worked_day(client)
    assert sorted(ids) == ["A1.1", "A1.2", "A2.1", "A3.1", "M1.1"]
    found = await worklist(client, group_by="payer")
    assert [i["amount_cents"] for i in found["items"]] == [1250, 1000, 600, 500, 250]  # the most money first
    assert found["totals"] == [
        {"key": "", "kind": "under", "count": 4, "amount_cents": 1250 + 1000 + 600 + 250},
        {"key": "", "kind": "over", "count": 1, "amount_cents": 500},
    ]
    assert found["groups"] == [
        {"key": "ACME01", "kind": "under", "count": 3, "amount_cents": 2100},
        {"key": "MCRB1", "kind": "under", "count": 1, "amount_cents": 1000},
        {"key": "ACME01", "kind": "over", "count": 1, "amount_cents": 500},
    ]
    by_code = (await worklist(client, group_by="code", kind="under"))["groups"]
    assert [(g["key"], g["count"], g["amount_cents"]) for g in by_code] == [("99213", 3, 2500), ("36415", 1, 600)]
    by_cause = (await worklist(client, group_by="cause"))["groups"]
    assert [(g["key"], g["kind"], g["amount_cents"]) for g in by_cause] == [
        ("rate", "under", 2500),
        ("units", "under", 600),
        ("rate", "over", 500),
    ]
    by_contract = (await worklist(client, group_by="contract", payer_id="MCRB1"))["groups"]
    assert len(by_contract) == 1 and by_contract[0]["amount_cents"] == 1000
    assert (await worklist(client, kind="over"))["items"][0]["claim_id"] == "A3"
    r = await client.get("/v1/underpayments?group_by=plan", headers=headers())
    assert r.status_code == 422


async def test_an_appeal_letter_cites_the_contract_line_and_the_pricing_steps(client: Any) -> None:
    ids = await _worked_day(client)
    r = await client.post(f"/v1/underpayments/{ids['A1.1']}:appeal", json={"note": "sent by portal"}, headers=headers())
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["status"] == "appealed"
    letter = item["appeal_letter"]
    assert "Re: underpayment of claim A1, line 1 (remittance R1)" in letter
    assert "Contract line: 99213 at $92.50 per unit." in letter and "version 1 in effect 2026-01-01 to open" in letter
    assert "  1. fee 99213: 92.50 x 1 unit = 92.50" in letter
    assert "Amount due: $12.50" in letter and "allowed in your remittance: $80.00" in letter
    assert [(h["action"], h["actor"], h["note"]) for h in item["history"]][1:] == [
        ("appealed", "maria", "sent by portal")
    ]
    again = await client.post(f"/v1/underpayments/{ids['A1.1']}:appeal", json={}, headers=headers())
    assert again.status_code == 200 and len(again.json()["history"]) == 2  # the same item, nothing new
    pdf = await client.get(f"/v1/underpayments/{ids['A1.1']}/appeal.pdf", headers=headers())
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    over = await client.post(f"/v1/underpayments/{ids['A3.1']}:appeal", json={}, headers=headers())
    assert over.status_code == 409 and "overpayment" in over.json()["detail"]
    assert (await worklist(client, status="appealed"))["totals"][0]["amount_cents"] == 1250


async def test_an_appeal_asks_the_payers_share_of_the_difference(client: Any) -> None:
    """A2: 99213 contracted 92.50, allowed 90.00 with 18.00 coinsurance (20 %), paid 72.00: 2.50 below. At 92.50
    the payer pays its 80 %: 72.00 x 92.50 / 90.00 = 74.00; the letter asks 2.00 (the other 0.50 is the
    patient's), not 2.50."""
    ids = await _worked_day(client)
    r = await client.post(f"/v1/underpayments/{ids['A2.1']}:appeal", json={}, headers=headers())
    item = r.json()
    assert (item["amount_cents"], item["expected_paid_cents"], item["paid_cents"]) == (250, 7400, 7200)
    assert "Amount due: $2.00 " in item["appeal_letter"]
    assert "allowed in your remittance: $90.00 ($2.50 below)" in item["appeal_letter"]


async def test_accepting_needs_a_reason_and_takes_the_item_off_the_worklist(client: Any) -> None:
    ids = await _worked_day(client)
    r = await client.post(f"/v1/underpayments/{ids['A2.1']}:accept", json={"reason": "  "}, headers=headers())
    assert r.status_code == 422, r.text
    r = await client.post(f"/v1/underpayments/{ids['A2.1']}:accept", json={"reason": "below $5"}, headers=headers())
    assert r.json()["status"] == "accepted" and r.json()["history"][-1]["note"] == "below $5"
    again = await client.post(f"/v1/underpayments/{ids['A2.1']}:accept", json={"reason": "x"}, headers=headers())
    assert again.status_code == 200 and len(again.json()["history"]) == 2
    assert ids["A2.1"] not in {i["id"] for i in (await worklist(client))["items"]}
    appeal = await client.post(f"/v1/underpayments/{ids['A2.1']}:appeal", json={}, headers=headers())
    assert appeal.status_code == 409


async def test_adjusting_the_contract_makes_the_payers_rate_a_new_version(client: Any) -> None:
    ids = await _worked_day(client)
    body = {"effective_from": "2026-03-01", "note": "the payer's 2026 schedule"}
    r = await client.post(f"/v1/underpayments/{ids['M1.1']}:adjust-contract", json=body, headers=headers())
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["status"] == "contract_adjusted" and item["adjusted_version_id"]
    assert "version 2 from 2026-03-01: 99213 at 71.00 per unit" in item["history"][-1]["note"]
    contract_id = item["contract_id"]
    now = (await client.get(f"/v1/contracts/{contract_id}", headers=headers())).json()
    assert (now["version"], now["effective_from"], now["source"], now["note"]) == (
        2,
        "2026-03-01",
        "adjustment",
        "the payer's 2026 schedule",
    )
    assert now["fee_lines"] == [{"code": "99213", "modifier": "", "rate_cents": 7100}]
    again = await client.post(f"/v1/underpayments/{ids['M1.1']}:adjust-contract", json=body, headers=headers())
    assert (
        again.status_code == 200
        and len((await client.get(f"/v1/contracts/{contract_id}", headers=headers())).json()["versions"]) == 2
    )
    # the next MCRB1 claim on or after the date is priced at the payer's rate: no item
    await bill(client, billed_claim("M2", [billed(1, "99213", 15000, service_date=date(2026, 3, 5))], payer="MCRB1"))
    await adjudicate(client, paid("M2", [(1, "99213", 15000, 7100, 0)], payer="MCRB1"))
    assert (await expected_payment(client, "M2"))["lines"][0]["contract_version"] == 2
    assert ids["M1.1"] not in {i["id"] for i in (await worklist(client))["items"]}
    assert "M2" not in {i["claim_id"] for i in (await worklist(client))["items"]}


async def test_the_adjusted_rate_undoes_the_contracts_own_rules(client: Any) -> None:
    """Three units of 36415 allowed 7.50 against 3 x 3.00: the payer's rate is 2.50 a unit, not 7.50."""
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("U1", [billed(1, "36415", 1500, units="3")]))
    await adjudicate(client, paid("U1", [(1, "36415", 1500, 750, 0)]))
    (item,) = (await worklist(client))["items"]
    r = await client.post(
        f"/v1/underpayments/{item['id']}:adjust-contract", json={"effective_from": "2026-01-01"}, headers=headers()
    )
    assert r.status_code == 200, r.text
    fees = (await client.get(f"/v1/contracts/{item['contract_id']}", headers=headers())).json()["fee_lines"]
    assert {f["code"]: f["rate_cents"] for f in fees} == {"99213": 9250, "36415": 250, "20610": 10000}


async def test_an_organization_never_sees_or_works_another_ones_items(client: Any) -> None:
    ids = await _worked_day(client)
    other = headers("org-2")
    assert (await worklist(client, tenant="org-2"))["items"] == []
    assert (await client.get(f"/v1/underpayments/{ids['A1.1']}", headers=other)).status_code == 404
    for action, body in (
        ("appeal", {}),
        ("accept", {"reason": "x"}),
        ("adjust-contract", {"effective_from": "2026-03-01"}),
    ):
        r = await client.post(f"/v1/underpayments/{ids['A1.1']}:{action}", json=body, headers=other)
        assert r.status_code == 404, (action, r.text)
    assert (await client.get(f"/v1/underpayments/{ids['A1.1']}", headers=headers())).json()["status"] == "open"
