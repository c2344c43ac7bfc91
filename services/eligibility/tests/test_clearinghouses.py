"""The clearinghouse connections (eligibility/adapters/clearinghouses.py): the circuit breaker opens, half-opens and
lets one trial through."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from builders.x271 import answer, x271
from eligibility.adapters.clearinghouses import CircuitBreaker, HttpAdapter


def test_circuit_breaker_opens_and_half_opens() -> None:
    b = CircuitBreaker(threshold=2, reset_after=0.0)
    b.failure()
    assert b.allow()
    b.failure()
    assert b.opened_at is not None and b.allow()  # reset_after 0: half-open immediately
    b.success()
    assert b.failures == 0 and b.opened_at is None
    closed = CircuitBreaker(threshold=1, reset_after=60)
    closed.failure()
    assert not closed.allow()


async def test_a_half_open_circuit_lets_one_trial_through_until_its_outcome() -> None:
    import asyncio

    from eligibility.adapters.clearinghouses import AdapterError

    arrived, release, failing = asyncio.Event(), asyncio.Event(), [True]
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        arrived.set()
        await release.wait()  # the trial is held until the test lets it answer
        if failing[0]:
            return web.Response(status=503, text="unavailable")
        return web.Response(text=x271(answer("W1")))

    app = web.Application()
    app.router.add_post("/270", handler)
    async with TestServer(app) as server:
        breaker = CircuitBreaker(threshold=1, reset_after=0.05)
        adapter = HttpAdapter("ch", str(server.make_url("/270")), retries=0, breaker=breaker)
        try:
            breaker.failure()  # open
            with pytest.raises(AdapterError, match="circuit open"):
                await adapter.exchange("270")
            await asyncio.sleep(0.06)  # half-open now
            for outcome in ("failure", "success"):
                arrived.clear()
                release.clear()
                failing[0] = outcome == "failure"
                before = calls
                tasks = [asyncio.create_task(adapter.exchange("270")) for _ in range(8)]
                await asyncio.wait_for(arrived.wait(), 5)
                await asyncio.sleep(0.01)  # the others have had their turn meanwhile
                refused = [t for t in tasks if t.done()]
                assert len(refused) == 7 and calls == before + 1  # exactly one reached the clearinghouse
                assert all("circuit open" in str(t.exception()) for t in refused)
                release.set()
                results = await asyncio.gather(*tasks, return_exceptions=True)
                if outcome == "failure":  # the trial failed: open again, nothing goes until reset_after
                    assert isinstance(results[0], AdapterError) and breaker.opened_at is not None
                    with pytest.raises(AdapterError, match="circuit open"):
                        await adapter.exchange("270")
                    assert calls == before + 1
                    await asyncio.sleep(0.06)
                else:  # the trial answered: closed, every call goes
                    assert isinstance(results[0], str) and breaker.opened_at is None
                    assert len(await asyncio.gather(adapter.exchange("270"), adapter.exchange("270"))) == 2
                    assert calls == before + 3
        finally:
            await adapter.aclose()


def test_a_cancelled_trial_lets_the_next_call_try() -> None:
    b = CircuitBreaker(threshold=1, reset_after=0.0)
    b.failure()
    assert b.allow() and not b.allow()  # the trial, and no second one while it runs
    b.end_trial()  # abandoned without an outcome (cancelled)
    assert b.allow()
