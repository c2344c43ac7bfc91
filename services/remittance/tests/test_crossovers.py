"""Crossovers (CLP02 19): the patient share waits for the crossover payer's 835, is billed when that is
late, and is taken back when the answer comes, also while a statement run releases it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import T
from builders.x835 import header, interchange
from builders.x835 import medicare_crossover as _forwarded
from builders.x835 import medigap_answer as _crossover_answer
from remittance_steps import X12, account, billed, postings


async def test_a_crossover_patient_share_waits_for_the_crossover_payers_835(stack: tuple[Any, Any]) -> None:
    """CLP02 19: no secondary claim is billed by us (no next_payer_id, no linked claim), yet the patient owes
    nothing until the crossover payer's own 835 says what is left; the claim's totals count each dollar once."""
    client, engine = stack
    await billed(engine, "XO1", "A9", payer_id="MCRB1")
    medicare = interchange((header("EFTM1", "80.00", payer_id="MCRB1"), [_forwarded("XO1")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    await billed(engine, "XO1", "A9", state="paid", payer_id="MCRB1")
    waiting = await account(client, "A9")
    assert waiting["balance_cents"] == 0 and waiting["pending_with_insurance"] == ["XO1"]
    (forwarded,) = (await postings(client, "XO1"))["payments"]
    assert forwarded["crossover_payer_id"] == "MGAP1" and forwarded["crossover_state"] == "pending"

    medigap = interchange(
        (header("EFTG1", "15.00", payer_id="MGAP1"), [_crossover_answer("XO1", "15.00", "5.00")], []), isa=2
    )
    assert (await client.post("/v1/remittances", content=medigap, headers=X12)).status_code == 201
    after = await account(client, "A9")
    assert after["balance_cents"] == 500 and after["claims"] == [{"claim_id": "XO1", "balance_cents": 500}]
    assert after["pending_with_insurance"] == []
    posted = await postings(client, "XO1")
    first, answer = posted["payments"]
    assert first["crossover_state"] == "answered" and answer["crossover_of"] == first["id"]
    totals = posted["totals_cents"]
    # billed 125.00 = paid 80 + 15, contractual 25, patient 5: Medicare's 20.00 and the CARC 23 taken back
    assert totals["payment"] == 9500 and totals["contractual"] == 2500 and posted["patient_responsibility_cents"] == 500
    assert totals.get("other_adjustment", 0) == 0
    assert sum(totals.values()) == 12500


async def test_a_late_crossover_makes_the_share_due_and_its_answer_takes_it_back(stack: tuple[Any, Any]) -> None:
    client, engine = stack
    await billed(engine, "XO2", "A8", payer_id="MCRB1")
    today = datetime.now(UTC).date()
    paid_on = today - timedelta(days=40)  # Medicare's BPR16
    medicare = interchange((header("EFTM2", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO2")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    # a statement run within the wait: nothing is due yet
    within = (paid_on + timedelta(days=15)).isoformat()
    r = await client.post("/v1/statements/runs", json={"as_of": within}, headers=T)
    assert r.status_code in (200, 201), r.text
    assert (await account(client, "A8"))["balance_cents"] == 0
    # 30 days and more after Medicare paid, the Medigap plan has not answered: the coinsurance is due
    r = await client.post("/v1/statements/runs", json={"as_of": today.isoformat()}, headers=T)
    assert r.status_code in (200, 201), r.text
    assert (await account(client, "A8"))["balance_cents"] == 2000
    assert [s["account_id"] for s in r.json()["statements"]] == ["A8"]
    # then its 835 comes, paying all of it: the patient owes nothing
    medigap = interchange((header("EFTG2", "20.00", payer_id="MGAP1"), [_crossover_answer("XO2")], []), isa=2)
    assert (await client.post("/v1/remittances", content=medigap, headers=X12)).status_code == 201
    assert (await account(client, "A8"))["balance_cents"] == 0
    posted = await postings(client, "XO2")
    assert posted["patient_responsibility_cents"] == 0 and sum(posted["totals_cents"].values()) == 12500


async def test_a_run_dated_ahead_bills_no_crossover_share_the_payer_still_has_time_to_pay(
    stack: tuple[Any, Any],
) -> None:
    """Lateness counts to the run's date but never past today: a run dated 60 days ahead does not bill the
    coinsurance of a crossover Medicare paid 5 days ago."""
    client, engine = stack
    await billed(engine, "XO3", "A7", payer_id="MCRB1")
    today = datetime.now(UTC).date()
    paid_on = today - timedelta(days=5)
    medicare = interchange((header("EFTM3", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO3")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    ahead = (today + timedelta(days=60)).isoformat()
    r = await client.post("/v1/statements/runs", json={"as_of": ahead}, headers=T)
    assert r.status_code == 201, r.text
    assert r.json()["statements"] == []
    assert (await account(client, "A7"))["balance_cents"] == 0
    (forwarded,) = (await postings(client, "XO3"))["payments"]
    assert forwarded["crossover_state"] == "pending"


# SQLite lets one writer in at a time, so two runs cannot overlap there: PostgreSQL only.
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_two_statement_runs_at_once_post_a_late_crossover_share_once(stack: tuple[Any, Any]) -> None:
    """Two runs (two operators, a retry) find the same late crossover: the second finds it held by the first
    (row lock) and leaves it to it, posting nothing."""
    client, engine = stack
    from remittance.use_cases import crossovers, service_units
    from remittance.use_cases.ingestion import ACTOR

    await billed(engine, "XO4", "A6", payer_id="MCRB1")
    now = datetime.now(UTC)
    paid_on = now.date() - timedelta(days=40)
    medicare = interchange((header("EFTM4", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO4")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        assert await crossovers.release_late(service_units().on(first, "org-1", ACTOR), now.date(), 30, now) == ["XO4"]
        racing = asyncio.create_task(
            crossovers.release_late(service_units().on(second, "org-1", ACTOR), now.date(), 30, now)
        )
        await asyncio.sleep(0.5)  # the second run meets the payment's row lock
        await first.commit()
        assert await racing == []
        await second.commit()
    assert (await account(client, "A6"))["balance_cents"] == 2000


# Two transactions overlap only on PostgreSQL (SQLite lets one writer in at a time).
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_crossover_answer_posted_while_a_run_releases_the_share_takes_it_back(stack: tuple[Any, Any]) -> None:
    """A statement run releases a late crossover share (20.00) and the Medigap plan's 835 paying it is posted
    before the run commits: the posting waits for the run, sees the share released and takes it back, so the
    patient is not billed the coinsurance the Medigap plan paid."""
    client, engine = stack
    from remittance.use_cases import crossovers, service_units
    from remittance.use_cases.ingestion import ACTOR

    await billed(engine, "XO8", "A9", payer_id="MCRB1")
    now = datetime.now(UTC)
    paid_on = now.date() - timedelta(days=40)
    medicare = interchange((header("EFTM8", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO8")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    medigap = interchange((header("EFTG8", "20.00", payer_id="MGAP1"), [_crossover_answer("XO8")], []), isa=2)
    async with engine.connect() as run:
        await run.begin()
        assert await crossovers.release_late(service_units().on(run, "org-1", ACTOR), now.date(), 30, now) == ["XO8"]
        posting = asyncio.create_task(client.post("/v1/remittances", content=medigap, headers=X12))
        await asyncio.sleep(0.5)  # the posting meets the payment's row lock
        await run.commit()
        assert (await posting).status_code == 201
    assert (await account(client, "A9"))["balance_cents"] == 0
    forwarded = next(p for p in (await postings(client, "XO8"))["payments"] if p["status_code"] == "19")
    assert forwarded["crossover_state"] == "answered"


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_run_leaves_a_crossover_share_to_the_answer_being_posted(stack: tuple[Any, Any]) -> None:
    """The Medigap plan's 835 is being posted (it has read the forwarded payment) when a statement run looks
    for late crossovers: the run leaves that payment to the posting, without waiting for it."""
    client, engine = stack
    from remittance.use_cases import crossovers, service_units
    from remittance.use_cases.ingestion import ACTOR

    await billed(engine, "XO9", "A8", payer_id="MCRB1")
    now = datetime.now(UTC)
    paid_on = now.date() - timedelta(days=40)
    medicare = interchange((header("EFTM9", "80.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO9")], []))
    assert (await client.post("/v1/remittances", content=medicare, headers=X12)).status_code == 201
    async with engine.connect() as posting, engine.connect() as run:
        await posting.begin()
        assert list(await crossovers.waiting(service_units().on(posting, "org-1", ACTOR), ["XO9"], "MGAP1")) == ["XO9"]
        await run.begin()
        released = crossovers.release_late(service_units().on(run, "org-1", ACTOR), now.date(), 30, now)
        assert await asyncio.wait_for(released, 10) == []
        await run.commit()
        await posting.rollback()
    (forwarded,) = (await postings(client, "XO9"))["payments"]
    assert forwarded["crossover_state"] == "pending"


async def test_a_crossover_answered_while_the_forwarding_835_was_held_is_not_billed_late(
    stack: tuple[Any, Any],
) -> None:
    """Medicare's CLP02 19 835 is held (its BPR02 does not add up) when the Medigap plan's answer comes: the
    answer posts as an ordinary payment. Releasing Medicare's 835 finds that answer: the forwarded payment
    is answered at once, so no late run bills the patient the coinsurance the Medigap plan paid, and the
    claim's totals count each dollar once."""
    from remittance.use_cases import review, service_units

    client, engine = stack
    await billed(engine, "XO7", "A2", payer_id="MCRB1")
    paid_on = datetime.now(UTC).date() - timedelta(days=40)
    short = interchange((header("EFTM7", "70.00", payer_id="MCRB1", paid_on=paid_on), [_forwarded("XO7")], []))
    r = await client.post("/v1/remittances", content=short, headers=X12)
    (held,) = r.json()["remittances"]
    assert held["status"] == "held", r.text
    medigap = interchange((header("EFTG7", "20.00", payer_id="MGAP1"), [_crossover_answer("XO7")], []), isa=2)
    assert (await client.post("/v1/remittances", content=medigap, headers=X12)).status_code == 201
    decision = review.Decision("biller.ann", "EOB checked: 10.00 withheld")
    await review.release(service_units(engine), tenant="org-1", remittance_id=held["remittance_id"], decision=decision)

    posted = await postings(client, "XO7")
    by_status = {p["status_code"]: p for p in posted["payments"]}
    forwarded, answer = by_status["19"], by_status["2"]
    assert (forwarded["crossover_state"], answer["crossover_of"]) == ("answered", forwarded["id"]), posted
    totals = posted["totals_cents"]
    assert totals["payment"] == 10000 and posted["patient_responsibility_cents"] == 0, totals
    assert sum(totals.values()) == 12500, totals
    r = await client.post("/v1/statements/runs", json={}, headers=T)
    assert r.status_code == 201 and r.json()["statements"] == [], r.text
    assert (await account(client, "A2"))["balance_cents"] == 0
