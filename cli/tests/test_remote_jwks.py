"""Clients' keys at a JWKS URL that misbehaves: a fetch ends by its deadline and size cap, holds only its own
URL's lock, counts any network failure as a failed fetch (refused, throttled like the others), and tells the
unauthenticated caller nothing about the URL; keys not for signing are refused."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rcm_cli import client_assertion
from rcm_cli.issuer import Issuer
from smart_steps import Key, ask, refused


@pytest.fixture
def logged(http: httpx.AsyncClient) -> Iterator[list[str]]:
    """The issuer's log lines from client_assertion, rendered as the issuer renders them (allowed fields only)."""
    lines: list[str] = []
    handler = logging.Handler()
    handler.setFormatter(logging.getLogger().handlers[0].formatter)  # configure_logging's, set by create_app
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    logger = logging.getLogger(client_assertion.__name__)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def _remote(http: httpx.AsyncClient) -> client_assertion.RemoteJwks:
    return http.app.state.issuer.remote_keys  # type: ignore[attr-defined,no-any-return]


async def test_a_dripping_jwks_url_ends_at_the_deadline_and_delays_no_other_client(
    http: httpx.AsyncClient, issuer: Issuer, rs384: Key, es384: Key, jwks_server: Any, other_jwks_server: Any
) -> None:
    slow_url, slow = jwks_server
    slow.mode, slow.jwks = "drip", {"keys": [rs384.jwk]}
    fast_url, fast = other_jwks_server
    fast.jwks = {"keys": [es384.jwk]}
    slow_client, _ = issuer.create_client("org-7", ["system/Claim.read"], jwks_url=slow_url)
    fast_client, _ = issuer.create_client("org-7", ["system/Claim.read"], jwks_url=fast_url)
    _remote(http).timeout_s = 1.0  # the whole fetch, however steadily the bytes come
    started = time.monotonic()
    waiting = asyncio.create_task(ask(http, rs384.sign(slow_client)))
    while not slow.fetches:
        await asyncio.sleep(0.01)
    r = await ask(http, es384.sign(fast_client))  # another client's URL, while the slow fetch runs
    assert r.status_code == 200 and time.monotonic() - started < 0.9, r.text
    refused(await waiting, 401, "invalid_client", "registered JWKS URL cannot be used now")
    assert time.monotonic() - started < 2.5


async def test_a_connection_cut_mid_body_is_a_failed_fetch_refused_throttled_and_logged_without_the_url(
    http: httpx.AsyncClient, issuer: Issuer, rs384: Key, jwks_server: Any, logged: list[str]
) -> None:
    url, served = jwks_server
    served.mode, served.jwks = "cut", {"keys": [rs384.jwk]}
    client_id, _ = issuer.create_client("org-7", ["system/Claim.read"], jwks_url=url)
    start = time.monotonic()
    _remote(http).clock = lambda: start
    for _ in range(3):
        r = await ask(http, rs384.sign(client_id))
        refused(r, 401, "invalid_client", "registered JWKS URL cannot be used now")
        assert url not in r.text and "127.0.0.1" not in r.text
    assert len(served.fetches) == 1  # a failed fetch is retried at most every REMOTE_RETRY_S
    (line,) = [json.loads(text) for text in logged]
    assert line["event"] == "a client's JWKS URL cannot be used" and line["cause"] == "fetch or content"
    assert line["error"].startswith("httpcore.")
    assert url not in json.dumps(line) and "127.0.0.1" not in json.dumps(line)
    served.mode = "ok"  # the client fixes its server: the next interval fetches again
    _remote(http).clock = lambda: start + client_assertion.REMOTE_RETRY_S
    assert (await ask(http, rs384.sign(client_id))).status_code == 200
    assert len(served.fetches) == 2


@pytest.mark.parametrize(
    ("mode", "jwks", "cause"),
    [
        ("huge", "sig", "larger than 65536 bytes"),
        ("ok", "enc", "fetch or content"),  # a key for encryption, not for verifying signatures
        ("deep", "sig", "fetch or content"),
    ],
)
async def test_a_jwks_url_answering_what_cannot_be_used_is_refused(
    http: httpx.AsyncClient,
    issuer: Issuer,
    rs384: Key,
    jwks_server: Any,
    logged: list[str],
    mode: str,
    jwks: str,
    cause: str,
) -> None:
    url, served = jwks_server
    served.mode, served.jwks = mode, {"keys": [{**rs384.jwk, "use": jwks}]}
    client_id, _ = issuer.create_client("org-7", ["system/Claim.read"], jwks_url=url)
    refused(await ask(http, rs384.sign(client_id)), 401, "invalid_client", "JWKS URL cannot be used now")
    assert [json.loads(text)["cause"] for text in logged] == [cause]


def test_a_key_marked_for_signing_is_accepted(rs384: Key) -> None:
    assert client_assertion.client_key({**rs384.jwk, "use": "sig"}).kid == "rsa-1"
    assert client_assertion.client_key({**rs384.jwk, "key_ops": ["verify"]}).kid == "rsa-1"
