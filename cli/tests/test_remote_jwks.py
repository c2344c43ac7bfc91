"""Clients' keys at a JWKS URL that misbehaves: a fetch ends by its deadline (resolving the name and each of its
addresses included) and size cap, holds only its own URL's lock (waited for no longer than a fetch takes), counts
any network failure or unreadable JWKS as a failed fetch (refused, throttled like the others, the keys fetched
before kept until their TTL), and tells the unauthenticated caller nothing about the URL; keys not for signing
are refused."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rcm_cli import client_assertion
from rcm_cli.issuer import Issuer
from rcm_cli.jwks_fetch import FetchFailed, fetch_jwks
from smart_steps import JwksServer, Key, ask, refused

# These tests are about time as it passes (deadlines of a fraction of a second), not about the calendar. Under
# libfaketime (CI's clock-ahead pass, LD_PRELOAD) a timed wait on a lock, an event or a thread does not end at
# its timeout (the library rewrites the waits' clocks), so the deadlines cannot be measured there; the pass at
# the real time runs them.
pytestmark = pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""), reason="libfaketime breaks timed waits; run at the real time"
)


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


def test_a_resolver_that_answers_late_ends_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def slow(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(2.0)
        return real("127.0.0.1", 9, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="too slow"):
        fetch_jwks("https://jwks.example.test/jwks.json", timeout_s=0.3)
    assert time.monotonic() - started < 1.0


def test_the_addresses_of_a_name_share_one_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # a listener whose backlog is full: a further connect hangs (its SYN dropped) until it times out
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(8)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        time.sleep(0.1)
        record = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
        monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [record] * 4)  # a name with 4 A records
        started = time.monotonic()
        try:
            with pytest.raises((FetchFailed, httpcore.ConnectError, httpcore.ConnectTimeout)):
                fetch_jwks("https://jwks.example.test/jwks.json", timeout_s=0.5)
        finally:
            for filler in fillers:
                filler.close()
    assert time.monotonic() - started < 1.0  # not 4 x 0.5 s


async def test_a_jwks_the_key_parser_cannot_read_is_a_failed_fetch_refused_and_throttled(
    http: httpx.AsyncClient, issuer: Issuer, rs384: Key, jwks_server: Any, logged: list[str]
) -> None:
    url, served = jwks_server
    served.jwks = {"keys": [{"kid": "rsa-1", "kty": "oct"}]}  # PyJWK raises KeyError('k') for it
    client_id, _ = issuer.create_client("org-7", ["system/Claim.read"], jwks_url=url)
    _remote(http).clock = lambda: 1000.0
    for _ in range(3):
        refused(await ask(http, rs384.sign(client_id)), 401, "invalid_client", "JWKS URL cannot be used now")
    assert len(served.fetches) == 1
    assert [json.loads(text)["cause"] for text in logged] == ["fetch or content"]


def test_a_request_waits_for_another_requests_fetch_no_longer_than_a_fetch_takes(jwks_server: Any) -> None:
    url, _served = jwks_server
    remote = client_assertion.RemoteJwks(timeout_s=0.3)
    fetching = remote._url_lock(url)
    fetching.acquire()  # another request's fetch of the same URL, stuck
    started = time.monotonic()
    try:
        with pytest.raises(client_assertion.InvalidClient, match="cannot be used now"):
            remote.key(url, "rsa-1")
    finally:
        fetching.release()
    assert time.monotonic() - started < 1.0


def test_a_failed_refetch_keeps_the_keys_fetched_before_until_their_ttl(
    rs384: Key, es384: Key, jwks_server: Any
) -> None:
    url, served = jwks_server
    served.jwks = {"keys": [rs384.jwk]}
    now = [1000.0]
    remote = client_assertion.RemoteJwks(clock=lambda: now[0])
    assert remote.key(url, "rsa-1").kid == "rsa-1"
    served.mode = "cut"  # the URL breaks; then a made-up kid (or a real new one) asks for a refetch
    now[0] += client_assertion.REMOTE_RETRY_S
    with pytest.raises(client_assertion.InvalidClient, match="cannot be used now"):
        remote.key(url, "made-up")
    assert len(served.fetches) == 2
    assert remote.key(url, "rsa-1").kid == "rsa-1"  # the keys fetched before, still within their TTL
    now[0] = 1000.0 + client_assertion.REMOTE_TTL_S  # their TTL is over: fetched again, and that fails too
    with pytest.raises(client_assertion.InvalidClient, match="cannot be used now"):
        remote.key(url, "rsa-1")
    assert len(served.fetches) == 3
    served.mode, served.jwks = "ok", {"keys": [rs384.jwk, es384.jwk]}
    now[0] += client_assertion.REMOTE_RETRY_S
    assert remote.key(url, "ec-1").kid == "ec-1"


@pytest.fixture
def tls_jwks_server(tmp_path: Path, rs384: Key) -> Iterator[tuple[str, ssl.SSLContext]]:
    """An HTTPS JWKS server for 127.0.0.1 with a self-signed certificate, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwks.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    trusting = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    handler = type("Handler", (JwksServer,), {"mode": "ok", "jwks": {"keys": [rs384.jwk]}, "fetches": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = serving.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/jwks.json", trusting
    finally:
        server.shutdown()
        server.server_close()


def test_a_jwks_is_fetched_over_tls_from_a_server_whose_certificate_verifies(
    tls_jwks_server: tuple[str, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, trusting = tls_jwks_server
    with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch_jwks(url, timeout_s=2.0)  # a certificate no authority vouches for
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: trusting)
    assert json.loads(fetch_jwks(url, timeout_s=2.0))["keys"][0]["kid"] == "rsa-1"
