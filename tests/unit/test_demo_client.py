"""The demo's API client: a long day outlives its token; a restarting service is waited for; a write that may
have been applied is never sent twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from rcm_cli import demo as demo_module
from rcm_cli.demo import Demo

URLS = {"claims": "http://claims", "issuer": "http://issuer"}


def _demo(handler: Any) -> Demo:
    return Demo(httpx.AsyncClient(transport=httpx.MockTransport(handler)), URLS, "org-1", lambda *a, **k: None)


async def test_an_expired_token_is_renewed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_module, "demo_credentials", lambda: ("demo", "secret"))
    tokens = iter(["t1", "t2"])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "issuer":
            return httpx.Response(200, json={"access_token": next(tokens)})
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer t1":
            return httpx.Response(401, json={"detail": "the token has expired"})
        return httpx.Response(200, json={"ok": True})

    demo = _demo(handler)
    await demo.login()
    assert await demo.call("GET", "claims", "/v1/claims") == {"ok": True}
    assert seen == ["Bearer t1", "Bearer t2"]


async def test_a_refused_token_is_not_renewed_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_module, "demo_credentials", lambda: ("demo", "secret"))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "issuer":
            return httpx.Response(200, json={"access_token": "t"})
        return httpx.Response(401, json={"detail": "insufficient scope"})

    demo = _demo(handler)
    await demo.login()
    with pytest.raises(RuntimeError, match="401"):
        await demo.call("GET", "claims", "/v1/claims")


async def test_reads_wait_for_a_restarting_service_and_cut_off_writes_are_not_resent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo_module, "RETRY_SECONDS", 5.0)
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "POST":
            raise httpx.ReadError("connection reset mid-response", request=request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(calls) == 2:
            return httpx.Response(503, json={})
        return httpx.Response(200, json=[])

    demo = _demo(handler)
    assert await demo.call("GET", "claims", "/v1/claims") == []
    assert calls == ["GET", "GET", "GET"]
    with pytest.raises(httpx.ReadError):
        await demo.call("POST", "claims", "/v1/submissions", json={})
    assert calls.count("POST") == 1


async def test_a_rate_limited_call_is_sent_again_after_its_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 429 did nothing, so reads and writes alike are sent again, after the wait the API asked for; a limit
    that outlasts RETRY_SECONDS is reported."""
    monkeypatch.setattr(demo_module, "RETRY_SECONDS", 0.3)
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}, json={})] * 2 + [httpx.Response(201, json={})])
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return next(answers)

    assert await _demo(handler).call("POST", "claims", "/v1/submissions", json={}) == {}
    assert calls == ["POST", "POST", "POST"]
    limited = _demo(lambda request: httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "limit"}))
    with pytest.raises(RuntimeError, match="429"):
        await limited.call("GET", "claims", "/v1/claims")


@pytest.mark.parametrize(
    ("header", "wait"), [("2", 2.0), ("0", 0.0), ("600", 10.0), ("Wed, 21 Oct 2026 07:28:00 GMT", 1.0), (None, 1.0)]
)
def test_the_wait_after_a_429_is_its_retry_after_within_ten_seconds(header: str | None, wait: float) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    assert demo_module.retry_after(httpx.Response(429, headers=headers)) == wait
