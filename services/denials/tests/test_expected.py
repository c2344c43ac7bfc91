"""Expected payment (denials/use_cases/expected.py, GET /v1/claims/{id}/expected-payment): billed lines priced
under the payer's contract, priced again and held against the 835's allowed amounts, the variances that open
worklist items to the cent, and reversals that cancel them (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from builders.contracts import billed, billed_claim, contract, paid
from contract_steps import adjudicate, bill, enter, expected_payment, reverse, worklist
from denial_steps import unit_of
from denials.config import DenialsSettings
from denials.domain.medicare import load
from denials.models import line_adjudication
from denials.use_cases import expected
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import BilledLine
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1
from sqlalchemy import func, select, text

DATA = Path(__file__).parent / "data"
RATES = {("99213", ""): 9250, ("36415", ""): 300, ("20610", ""): 10000}
ARKANSAS_120 = {"default_rule": "percent_of_medicare", "default_percent": "120", "medicare_locality": "0710213"}


def controlled(claim_id: str, lines: list[BilledLine]) -> list[BilledLine]:
    """The lines with the control numbers claims gives them (the 837's REF*6R)."""
    return [ln.model_copy(update={"line_control_number": f"{claim_id}-{ln.line_number}"}) for ln in lines]


def echoed(answer: ClaimAdjudicatedV1, controls: list[str | None]) -> ClaimAdjudicatedV1:
    """The 835's lines with the control numbers the payer echoes (REF*6R), in its order."""
    lines = [ln.model_copy(update={"line_control_number": c}) for ln, c in zip(answer.lines, controls, strict=True)]
    return answer.model_copy(update={"lines": lines})


async def test_billed_lines_are_priced_under_the_contract_in_effect_on_their_date(client: Any) -> None:
    made = await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000), billed(2, "36415", 1500, units="3")]))
    found = await expected_payment(client, "C1")
    assert (found["payer_id"], found["expected_allowed_cents"], found["items"]) == ("ACME01", 9250 + 900, [])
    one, two = found["lines"]
    assert (one["contract_id"], one["contract_version"], one["rule"]) == (made["id"], 1, "fee_schedule")
    assert one["fee_line"] == {"code": "99213", "modifier": "", "rate_cents": 9250}
    assert one["steps"] == ["fee 99213: 92.50 x 1 unit = 92.50", "lesser of charge 150.00: 92.50"]
    assert (two["units"], two["expected_allowed_cents"], two["adjudicated"]) == ("3", 900, None)


async def test_the_same_lines_billed_again_keep_their_pricing_and_changed_ones_are_priced_anew(client: Any) -> None:
    """A claim submitted as it was entered sends its lines twice: the second time costs a read, not a new
    pricing (the payer's answer prices them again in any case); lines that changed are priced again."""
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000)]))
    await enter(client, contract(rates={**RATES, ("99213", ""): 9500}))  # version 2, from the same day
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000)]))
    (line,) = (await expected_payment(client, "C1"))["lines"]
    assert (line["contract_version"], line["expected_allowed_cents"]) == (1, 9250)
    await bill(client, billed_claim("C1", [billed(1, "99213", 16000)]))
    (line,) = (await expected_payment(client, "C1"))["lines"]
    assert (line["contract_version"], line["expected_allowed_cents"]) == (2, 9500)


async def test_a_line_no_payer_would_price_is_set_apart_with_the_reason(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    lines = [billed(1, "99213", 15000), billed(2, "20610", 20000, units="2", modifiers=("50",))]
    await bill(client, billed_claim("C1", lines))
    one, two = (await expected_payment(client, "C1"))["lines"]
    assert (one["rule"], one["expected_allowed_cents"]) == ("fee_schedule", 9250)
    assert (two["rule"], two["expected_allowed_cents"]) == ("error", None) and "modifier 50" in two["steps"][0]


async def test_a_short_paid_line_opens_an_underpayment_and_an_over_paid_one_an_overpayment(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000), billed(2, "36415", 1000)]))
    await bill(client, billed_claim("C2", [billed(1, "99213", 15000)]))
    # C1 line 1: allowed 80.00 (paid 64.00 + coinsurance 16.00) against 92.50; line 2 at the contract's 3.00
    await adjudicate(client, paid("C1", [(1, "99213", 15000, 8000, 1600), (2, "36415", 1000, 300, 0)]))
    # C2: allowed 98.00 against 92.50, all paid
    await adjudicate(client, paid("C2", [(1, "99213", 15000, 9800, 0)], remittance="R2"))
    items = {i["claim_id"]: i for i in (await worklist(client))["items"]}
    under, over = items["C1"], items["C2"]
    assert (under["kind"], under["line_number"], under["amount_cents"], under["cause"]) == ("under", 1, 1250, "rate")
    assert (under["expected_allowed_cents"], under["allowed_cents"]) == (9250, 8000)
    # at 92.50 the payer pays its 80 %: 64.00 + 12.50 x 0.8 = 74.00
    assert (under["expected_paid_cents"], under["paid_cents"]) == (7400, 6400)
    assert (over["kind"], over["amount_cents"], over["remittance_id"], over["status"]) == ("over", 550, "R2", "open")
    line1, line2 = (await expected_payment(client, "C1"))["lines"]
    assert line1["adjudicated"] == {
        "remittance_id": "R1",
        "line_number": 1,
        "matched_by": "position",
        "allowed_cents": 8000,
        "paid_cents": 6400,
        "patient_cents": 1600,
        "expected_paid_cents": 7400,
        "variance_cents": -1250,
    }
    assert line2["adjudicated"]["variance_cents"] == 0


async def test_the_same_posting_again_opens_nothing_new(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000)]))
    answer = paid("C1", [(1, "99213", 15000, 8000, 0)])
    await adjudicate(client, answer)
    await adjudicate(client, answer)  # a reposted file
    assert [i["amount_cents"] for i in (await worklist(client))["items"]] == [1250]


async def test_a_claim_the_payer_split_in_two_claim_payments_is_compared_in_both(client: Any) -> None:
    """One 835 (R1) pays C1 in two CLPs (a split claim, each with its own CLP07), each numbering its one line 1:
    99213 allowed 80.00 (12.50 under 92.50) in the first, 20610 allowed 90.00 (10.00 under 100.00) in the
    second. Both lines are kept and compared; the same two again (a redelivery) add nothing."""
    await enter(client, contract(rates=RATES))
    lines = [billed(1, "99213", 15000), billed(2, "20610", 20000)]
    await bill(client, billed_claim("C1", controlled("C1", lines)))
    first = echoed(paid("C1", [(1, "99213", 15000, 8000, 0)]), ["C1-1"])
    second = echoed(paid("C1", [(1, "20610", 20000, 9000, 0)]), ["C1-2"])
    second = second.model_copy(update={"payer_claim_control_number": "PCCN-C1-SPLIT"})
    for answer in (first, second, first, second):
        await adjudicate(client, answer)
    items = sorted((i["line_number"], i["amount_cents"]) for i in (await worklist(client))["items"])
    assert items == [(1, 1250), (2, 1000)]
    one, two = (await expected_payment(client, "C1"))["lines"]
    assert (one["adjudicated"]["allowed_cents"], two["adjudicated"]["allowed_cents"]) == (8000, 9000)
    async with client.app.state.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(line_adjudication))).scalar() == 2


async def test_an_allowed_amount_the_835_does_not_state_is_paid_plus_the_patient_share(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000)]))
    await adjudicate(client, paid("C1", [(1, "99213", 15000, 9000, 2000)], allowed_stated=False))
    (item,) = (await worklist(client))["items"]
    assert (item["allowed_cents"], item["amount_cents"], item["paid_cents"]) == (9000, 250, 7000)


async def test_one_unit_paid_of_three_is_named_as_the_cause(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "36415", 1500, units="3")]))
    await adjudicate(client, paid("C1", [(1, "36415", 1500, 300, 0)]))
    (item,) = (await worklist(client))["items"]
    assert (item["cause"], item["amount_cents"], item["expected_allowed_cents"]) == ("units", 600, 900)


async def test_an_835_before_the_lines_is_compared_when_they_come(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await adjudicate(client, paid("C3", [(1, "99213", 15000, 9000, 0)]))
    assert (await worklist(client))["items"] == []
    await bill(client, billed_claim("C3", [billed(1, "99213", 15000)]))
    (item,) = (await worklist(client))["items"]
    assert (item["claim_id"], item["amount_cents"]) == ("C3", 250)


async def test_the_contract_in_effect_at_adjudication_decides(client: Any) -> None:
    """Billed under version 1 (92.50); version 2, entered before the 835, pays 80.00 from the same day."""
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C5", [billed(1, "99213", 15000)]))
    assert (await expected_payment(client, "C5"))["lines"][0]["expected_allowed_cents"] == 9250
    await enter(client, contract(rates={("99213", ""): 8000}))
    await adjudicate(client, paid("C5", [(1, "99213", 15000, 8000, 0)]))
    assert (await worklist(client))["items"] == []
    (line,) = (await expected_payment(client, "C5"))["lines"]
    assert (line["contract_version"], line["expected_allowed_cents"]) == (2, 8000)
    assert line["adjudicated"]["variance_cents"] == 0


async def test_a_variance_within_the_tolerance_is_no_item(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000), billed(2, "20610", 20000)]))
    tolerant = DenialsSettings(underpayment_tolerance_cents=600)
    # line 1 short by 5.50 (within), line 2 short by 6.01 (beyond)
    answer = paid("C1", [(1, "99213", 15000, 8700, 0), (2, "20610", 20000, 9399, 0)])
    await adjudicate(client, answer, settings=tolerant)
    assert [(i["line_number"], i["amount_cents"]) for i in (await worklist(client))["items"]] == [(2, 601)]


async def test_lines_without_a_contract_or_a_rate_open_nothing(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C6", [billed(1, "99213", 15000)], payer="OTHER1"))
    await bill(client, billed_claim("C7", [billed(1, "99999", 15000)]))
    await bill(client, billed_claim("C8", [billed(1, "99213", 15000, service_date=date(2025, 12, 31))]))
    await adjudicate(client, paid("C6", [(1, "99213", 15000, 5000, 0)], payer="OTHER1"))
    await adjudicate(client, paid("C7", [(1, "99999", 15000, 5000, 0)]))
    await adjudicate(client, paid("C8", [(1, "99213", 15000, 5000, 0)]))
    assert (await worklist(client))["items"] == []
    assert (await expected_payment(client, "C6"))["lines"][0]["rule"] == "no_contract"
    assert (await expected_payment(client, "C8"))["lines"][0]["rule"] == "no_contract"  # before the contract
    no_rate = await expected_payment(client, "C7")
    assert (no_rate["lines"][0]["rule"], no_rate["expected_allowed_cents"]) == ("no_rate", None)


async def test_a_secondary_payers_answer_is_not_held_against_the_primarys_contract(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000)]))
    await adjudicate(client, paid("C1", [(1, "99213", 15000, 2000, 0)], status="2"))
    assert (await worklist(client))["items"] == []


async def test_a_reversal_cancels_the_items_of_the_posting_it_takes_back(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000), billed(2, "20610", 20000)]))
    await adjudicate(client, paid("C1", [(1, "99213", 15000, 8000, 0), (2, "20610", 20000, 9000, 0)]))
    assert len((await worklist(client))["items"]) == 2
    assert await reverse(client, "C1", "R1") == 2
    assert (await worklist(client))["items"] == []
    cancelled = (await worklist(client, status="cancelled"))["items"]
    assert {i["status"] for i in cancelled} == {"cancelled"} and len(cancelled) == 2
    detail = (await client.get(f"/v1/underpayments/{cancelled[0]['id']}", headers={"X-Tenant-ID": "org-1"})).json()
    assert [h["action"] for h in detail["history"]] == ["opened", "cancelled"]
    assert all(line["adjudicated"] is None for line in (await expected_payment(client, "C1"))["lines"])
    # the corrected payment, at the contract's rates, opens nothing
    await adjudicate(client, paid("C1", [(1, "99213", 15000, 9250, 0), (2, "20610", 20000, 10000, 0)], remittance="R3"))
    assert (await worklist(client))["items"] == []
    assert await reverse(client, "C1", "R1") == 0  # again: nothing left to cancel


async def test_percent_of_medicare_prices_at_the_contracts_locality(client: Any) -> None:
    """120 % of Medicare for 20610 in Arkansas, office: 56.66 x 1.2 = 67.992 -> 67.99 (CMS's PFAR25A amount)."""
    medicare = load(DATA / "PPRRVU25_JAN_excerpt.csv", DATA / "GPCI2025_excerpt.csv", Decimal("32.3465"))
    client.app.state.medicare = medicare
    terms = {"default_rule": "percent_of_medicare", "default_percent": "120", "medicare_locality": "0710213"}
    await enter(client, contract(rates={}, **terms))
    await bill(client, billed_claim("C9", [billed(1, "20610", 20000)]), medicare=medicare)
    (line,) = (await expected_payment(client, "C9"))["lines"]
    assert (line["rule"], line["expected_allowed_cents"]) == ("percent_of_medicare", 6799)
    await adjudicate(client, paid("C9", [(1, "20610", 20000, 5666, 0)]), medicare=medicare)
    (item,) = (await worklist(client))["items"]
    assert (item["cause"], item["amount_cents"]) == ("percent_of_medicare", 1133)


async def test_an_organization_never_sees_another_ones_expected_payment(client: Any) -> None:
    await enter(client, contract(rates=RATES))
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000)]))
    await adjudicate(client, paid("C1", [(1, "99213", 15000, 8000, 0)]))
    r = await client.get("/v1/claims/C1/expected-payment", headers={"X-Tenant-ID": "org-2"})
    assert r.status_code == 404
    assert (await worklist(client, tenant="org-2"))["items"] == []
    # org-2's own claim C1 of the same payer has no contract there: priced by nothing, compared with nothing
    await bill(client, billed_claim("C1", [billed(1, "99213", 15000)]), tenant="org-2")
    await adjudicate(client, paid("C1", [(1, "99213", 15000, 8000, 0)]), tenant="org-2")
    assert (await worklist(client, tenant="org-2"))["items"] == []
    assert (await expected_payment(client, "C1", tenant="org-2"))["lines"][0]["rule"] == "no_contract"
    assert len((await worklist(client))["items"]) == 1


async def test_the_workers_handlers_price_the_lines_compare_the_835_and_cancel_on_reversal(client: Any) -> None:
    """Through the worker's event table: the submitted claim (its lines), a claim accepted (passed over), the
    835 and its reversal."""
    from builders.events import reversal, status_changed
    from denials.consumers import registry
    from rcm_shared.db import session_factory
    from rcm_shared.events import Envelope

    await enter(client, contract(rates=RATES))

    def wrap(event: Any) -> Envelope:
        return Envelope.wrap(event, source="/test", tenant_id="org-1")

    claims = [wrap(billed_claim("W1", [billed(1, "99213", 15000)])), wrap(status_changed("W1", "accepted"))]
    assert [registry.wanted(e) for e in claims] == [True, False]
    steps = [
        ("claim.status_changed", [claims[0]]),
        ("remittance.claim_adjudicated", [wrap(paid("W1", [(1, "99213", 15000, 8000, 0)]))]),
    ]
    for event_type, envelopes in steps:
        handler = registry.batch(event_type, 1)
        assert handler is not None
        async with session_factory(client.app.state.engine)() as session, session.begin():
            await handler(session, envelopes)
    (item,) = (await worklist(client))["items"]
    assert (item["claim_id"], item["amount_cents"]) == ("W1", 1250)
    reversed_ = registry.get("remittance.claim_reversed", 1)
    assert reversed_ is not None
    async with session_factory(client.app.state.engine)() as session, session.begin():
        await reversed_(session, wrap(reversal("W1", "R1")))
    assert (await worklist(client))["items"] == []


async def test_an_835_line_is_held_against_the_billed_line_its_control_number_names(client: Any) -> None:
    """C1 bills 99213 (150.00) and 85025 (30.00, contracted 10.00); the 835 answers only 85025, as its first
    line, REF*6R C1-2, allowed 9.00: 1.00 under on line 2, not 83.50 under on 99213's 92.50."""
    await enter(client, contract(rates={**RATES, ("85025", ""): 1000}))
    await bill(client, billed_claim("C1", controlled("C1", [billed(1, "99213", 15000), billed(2, "85025", 3000)])))
    await adjudicate(client, echoed(paid("C1", [(1, "85025", 3000, 900, 0)]), ["C1-2"]))
    (item,) = (await worklist(client))["items"]
    assert (item["line_number"], item["code"], item["amount_cents"], item["expected_allowed_cents"]) == (
        2,
        "85025",
        100,
        1000,
    )
    one, two = (await expected_payment(client, "C1"))["lines"]
    assert one["adjudicated"] is None
    assert (two["adjudicated"]["line_number"], two["adjudicated"]["matched_by"]) == (1, "line_control_number")


async def test_an_835_line_at_the_place_of_another_code_is_not_compared(client: Any) -> None:
    """No control number, and the 835's first line is 85025 where the claim's first is 99213: held against
    nothing (a false 83.50 under otherwise), listed with the reason."""
    await enter(client, contract(rates={**RATES, ("85025", ""): 1000}))
    await bill(client, billed_claim("C2", [billed(1, "99213", 15000), billed(2, "85025", 3000)]))
    await adjudicate(client, paid("C2", [(1, "85025", 3000, 900, 0)]))
    assert (await worklist(client))["items"] == []
    found = await expected_payment(client, "C2")
    assert [line["adjudicated"] for line in found["lines"]] == [None, None]
    (odd,) = found["not_compared"]
    assert (odd["remittance_id"], odd["line_number"], odd["procedure_code"], odd["allowed_cents"]) == (
        "R1",
        1,
        "85025",
        900,
    )
    assert "no control number" in odd["reason"] and "billed line 1 is 99213" in odd["reason"]


async def _waiting_or_done(task: asyncio.Task[None], engine: Any) -> None:
    """Until ``task`` has finished, or (PostgreSQL) waits for a lock: the other transaction is then inside."""
    postgres = engine.dialect.name == "postgresql"
    for _ in range(60 if postgres else 6):
        if task.done():
            return
        if postgres:
            async with engine.connect() as conn:
                waiting = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE '%expected_claim%'"
                    )
                )
            if waiting:
                return
        await asyncio.sleep(0.05)


async def test_the_lines_and_the_835_handled_at_once_by_two_workers_are_still_compared(client: Any) -> None:
    """The claim's lines in one transaction, its 835 in another at the same time: each writes its rows, then
    reads the other's; without a lock, each reads before the other commits and the 835 stays uncompared for
    ever. The second to lock the claim's row waits for the first's commit (SQLite: one writer at a time)."""
    await enter(client, contract(rates=RATES))
    engine = client.app.state.engine
    settings = DenialsSettings()
    lines = billed_claim("C1", [billed(1, "99213", 15000)])
    answer = paid("C1", [(1, "99213", 15000, 8000, 0)])

    async def the_835() -> None:
        async with engine.begin() as conn:
            env = Envelope.wrap(answer, source="/remittance", tenant_id="org-1")
            await expected.on_adjudications(unit_of(conn), [(answer, env)], None, settings)

    async with engine.begin() as first:
        env = Envelope.wrap(lines, source="/claims", tenant_id="org-1")
        await expected.on_claim_lines(unit_of(first), [(lines, env)], None, settings)
        task = asyncio.create_task(the_835())
        await _waiting_or_done(task, engine)
    await asyncio.wait_for(task, 30)
    (item,) = (await worklist(client))["items"]
    assert (item["claim_id"], item["amount_cents"]) == ("C1", 1250)


async def test_percent_of_medicare_prices_a_line_at_a_hospital_at_the_facility_rate(client: Any) -> None:
    """120 % of Medicare for 20610 in Arkansas at an outpatient hospital (POS 22, facility PE RVU): 39.97 x 1.2 =
    47.964 -> 47.96, not the office's 67.99; priced so again from the stored line when the 835 comes."""
    medicare = load(DATA / "PPRRVU25_JAN_excerpt.csv", DATA / "GPCI2025_excerpt.csv", Decimal("32.3465"))
    client.app.state.medicare = medicare
    await enter(client, contract(rates={}, **ARKANSAS_120))
    hospital = billed(1, "20610", 20000).model_copy(update={"place_of_service": "22"})
    await bill(client, billed_claim("H1", [hospital]), medicare=medicare)
    (line,) = (await expected_payment(client, "H1"))["lines"]
    assert (line["rule"], line["expected_allowed_cents"]) == ("percent_of_medicare", 4796)
    assert line["steps"][0] == "Medicare 20610 (ARKANSAS, facility): 39.97" and line["place_of_service"] == "22"
    await adjudicate(client, paid("H1", [(1, "20610", 20000, 4796, 0)]), medicare=medicare)
    assert (await worklist(client))["items"] == []
    assert (await expected_payment(client, "H1"))["lines"][0]["expected_allowed_cents"] == 4796


async def test_a_line_with_an_odd_code_or_modifier_is_kept_unpriced_with_the_reason(client: Any) -> None:
    """A draft claim's lines as entered: a code too long for any code set, a modifier of 3 characters among 5
    modifiers, units that are no number. Each is stored as an error line naming the problem (never a failed
    insert, which would stall the topic's partition); the claim's good line is priced as usual."""
    await enter(client, contract(rates=RATES))
    lines = [
        billed(1, "99213", 15000),
        billed(2, "99213XYZW", 15000),
        billed(3, "36415", 1500, modifiers=("25X", "59", "76", "77", "91")),
        billed(4, "36415", 1500, units="1.5.2"),
    ]
    await bill(client, billed_claim("D1", lines))
    one, two, three, four = (await expected_payment(client, "D1"))["lines"]
    assert (one["rule"], one["expected_allowed_cents"]) == ("fee_schedule", 9250)
    assert (two["rule"], two["expected_allowed_cents"], two["code"]) == ("error", None, "99213XYZ")
    assert "procedure code '99213XYZW' is no CPT/HCPCS or revenue code" in two["steps"][0]
    assert three["rule"] == "error" and "modifier '25X'" in three["steps"][0] and "5 modifiers" in three["steps"][0]
    assert four["rule"] == "error" and "units '1.5.2' are no number" in four["steps"][0]
    # the 835 answers every line: the odd ones are priced by nothing and open nothing
    answer = paid("D1", [(1, "99213", 15000, 9250, 0), (2, "99213", 15000, 100, 0), (3, "36415", 1500, 100, 0)])
    await adjudicate(client, answer)
    assert (await worklist(client))["items"] == []
    assert (await expected_payment(client, "D1"))["lines"][2]["rule"] == "error"
