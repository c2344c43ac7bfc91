"""The underpayment/overpayment worklist (denials/api/underpayments.py, use_cases/underpayments.py): group totals
to the cent, and the actions appeal (a letter citing the contract line), accept and adjust contract, each in the
item's history and answered as it is when repeated (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

from builders.contracts import billed, billed_claim, contract, paid
from contract_steps import adjudicate, bill, enter, expected_payment, headers, worklist
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1

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


def _patient_share(event: ClaimAdjudicatedV1, *shares: tuple[str, int]) -> ClaimAdjudicatedV1:
    """Line 1's patient share as these PR adjustments (CARC, cents) instead of the builder's one PR 2."""
    kept = [a for a in event.adjustments if a.group != "PR"]
    pr = [AdjustmentOut(group="PR", reason=carc, amount_cents=cents, line_number=1) for carc, cents in shares]
    return event.model_copy(update={"adjustments": [*kept, *pr]})


async def test_an_appeal_leaves_the_copay_and_the_deductible_the_patients(client: Any) -> None:
    """99213 contracted 92.50, allowed 80.00 (12.50 below). C1: copay 20.00, paid 60.00: at 92.50 the copay is
    still 20.00, the payer pays 60.00 + 12.50 x 60/60 = 72.50 and owes all 12.50. C2: deductible 50.00 and 20 %
    coinsurance of the other 30.00 (6.00), paid 24.00: 24.00 + 12.50 x 24/30 = 34.00, owed 10.00."""
    await enter(client, contract(rates=RATES))
    for claim_id in ("C1", "C2"):
        await bill(client, billed_claim(claim_id, [billed(1, "99213", 15000)]))
    await adjudicate(client, _patient_share(paid("C1", [(1, "99213", 15000, 8000, 2000)]), ("3", 2000)))
    c2 = paid("C2", [(1, "99213", 15000, 8000, 5600)], remittance="R2")
    await adjudicate(client, _patient_share(c2, ("1", 5000), ("2", 600)))
    ids = {i["claim_id"]: i["id"] for i in (await worklist(client))["items"]}
    asked = {}
    for claim_id, item_id in ids.items():
        r = await client.post(f"/v1/underpayments/{item_id}:appeal", json={}, headers=headers())
        assert r.status_code == 200, r.text
        asked[claim_id] = r.json()
    one, two = asked["C1"], asked["C2"]
    assert (one["amount_cents"], one["expected_paid_cents"], one["paid_cents"]) == (1250, 7250, 6000)
    assert "Amount due: $12.50 " in one["appeal_letter"] and "the copay $20.00" in one["appeal_letter"]
    assert (two["amount_cents"], two["expected_paid_cents"], two["paid_cents"]) == (1250, 3400, 2400)
    assert "Amount due: $10.00 " in two["appeal_letter"] and "$24.00 of $30.00" in two["appeal_letter"]
    c1 = (await expected_payment(client, "C1"))["lines"][0]["adjudicated"]
    assert (c1["expected_paid_cents"], c1["patient_cents"]) == (7250, 2000)


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
    assert "version 2 from 2026-03-01 to open: 99213 at 71.00 per unit" in item["history"][-1]["note"]
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


async def _adjust(client: Any, item_id: str, effective_from: str) -> Any:
    body = {"effective_from": effective_from}
    return await client.post(f"/v1/underpayments/{item_id}:adjust-contract", json=body, headers=headers())


async def _priced(client: Any, claim_id: str, code: str, day: date) -> tuple[int, int]:
    """(contract version, expected allowed) of a new claim of one line billed on ``day``."""
    await bill(client, billed_claim(claim_id, [billed(1, code, 15000, service_date=day)]))
    (line,) = (await expected_payment(client, claim_id))["lines"]
    return line["contract_version"], line["expected_allowed_cents"]


async def test_an_adjustment_changes_one_rate_of_the_items_version_and_no_other_period(client: Any) -> None:
    """v1 from January (99213 92.50, 36415 3.00); v2 from July (36415 4.00). A March line of 99213 allowed 80.00
    adjusted from March 1: v3 is v1 with 99213 at 80.00, from March 1 to June 30. July's 36415 stays 4.00 (v3
    built on the latest version would carry it back to March), and 99213 from July stays v2's 92.50."""
    await enter(client, contract(rates=RATES))
    await enter(client, contract(rates={("99213", ""): 9250, ("36415", ""): 400}, effective_from=date(2026, 7, 1)))
    await bill(client, billed_claim("P1", [billed(1, "99213", 15000)]))
    await adjudicate(client, paid("P1", [(1, "99213", 15000, 8000, 0)]))
    (item,) = (await worklist(client))["items"]
    r = await _adjust(client, item["id"], "2026-03-01")
    assert r.status_code == 200, r.text
    v3 = (await client.get(f"/v1/contracts/{item['contract_id']}?version=3", headers=headers())).json()
    assert (v3["effective_from"], v3["effective_to"]) == ("2026-03-01", "2026-06-30")
    assert {f["code"]: f["rate_cents"] for f in v3["fee_lines"]} == {"99213": 8000, "36415": 300, "20610": 10000}
    assert await _priced(client, "P2", "36415", date(2026, 4, 1)) == (3, 300)
    assert await _priced(client, "P3", "36415", date(2026, 8, 3)) == (2, 400)
    assert await _priced(client, "P4", "99213", date(2026, 8, 3)) == (2, 9250)
    assert await _priced(client, "P5", "99213", date(2026, 2, 2)) == (1, 9250)


async def test_an_adjustment_is_refused_where_the_items_version_is_not_the_contract(client: Any) -> None:
    """The item was priced by v1 (March); on August 1 v2 is in effect (409), and before January v1 is not (422):
    nothing is written."""
    await enter(client, contract(rates=RATES))
    await enter(client, contract(rates={("99213", ""): 9500}, effective_from=date(2026, 7, 1)))
    await bill(client, billed_claim("P1", [billed(1, "99213", 15000)]))
    await adjudicate(client, paid("P1", [(1, "99213", 15000, 8000, 0)]))
    (item,) = (await worklist(client))["items"]
    later = await _adjust(client, item["id"], "2026-08-01")
    assert later.status_code == 409 and "version 2" in later.json()["detail"], later.text
    before = await _adjust(client, item["id"], "2025-12-01")
    assert before.status_code == 422 and "outside version 1" in before.json()["detail"], before.text
    versions = (await client.get(f"/v1/contracts/{item['contract_id']}", headers=headers())).json()["versions"]
    assert len(versions) == 2
    assert (await client.get(f"/v1/underpayments/{item['id']}", headers=headers())).json()["status"] == "open"


async def test_adjusting_the_contract_evaluates_the_other_items_of_that_fee_line_again(client: Any) -> None:
    """99213 at 92.50; S1 and S2 (appealed) allowed 80.00, S3 allowed 90.00, all in March; S4 allowed 80.00 in
    February. Adjusting S1 from March 1 makes 99213 80.00: S2 is settled by it (contract_adjusted too); S3 is now
    over by 10.00 against 80.00 (the payer pays its full 90.00: expected paid 80.00); S4, before the window, is
    left as it was."""
    await enter(client, contract(rates=RATES))
    march, february = date(2026, 3, 2), date(2026, 2, 2)
    for claim_id, day, allowed in (
        ("S1", march, 8000),
        ("S2", march, 8000),
        ("S3", march, 9000),
        ("S4", february, 8000),
    ):
        await bill(client, billed_claim(claim_id, [billed(1, "99213", 15000, service_date=day)]))
        await adjudicate(client, paid(claim_id, [(1, "99213", 15000, allowed, 0)], remittance=f"R-{claim_id}"))
    ids = {i["claim_id"]: i["id"] for i in (await worklist(client))["items"]}
    assert (await client.post(f"/v1/underpayments/{ids['S2']}:appeal", json={}, headers=headers())).status_code == 200
    assert (await _adjust(client, ids["S1"], "2026-03-01")).status_code == 200

    async def item(claim_id: str) -> dict[str, Any]:
        return dict((await client.get(f"/v1/underpayments/{ids[claim_id]}", headers=headers())).json())

    s2, s3, s4 = await item("S2"), await item("S3"), await item("S4")
    assert (s2["status"], s2["history"][-1]["action"]) == ("contract_adjusted", "contract_adjusted")
    assert s2["adjusted_version_id"] == (await item("S1"))["adjusted_version_id"]
    assert (s3["status"], s3["kind"], s3["amount_cents"], s3["expected_allowed_cents"]) == ("open", "over", 1000, 8000)
    assert (s3["contract_version"], s3["expected_paid_cents"], s3["history"][-1]["action"]) == (2, 8000, "reevaluated")
    assert (s4["status"], s4["kind"], s4["amount_cents"], s4["contract_version"]) == ("open", "under", 1250, 1)
