"""Fixtures of the issuer's tests: its state in a temporary folder, its app, clients' keys and JWKS servers."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from rcm_cli.issuer import Issuer, create_app
from smart_steps import TOKEN_URL, JwksServer, Key


@pytest.fixture(scope="module")
def rs384() -> Key:
    return Key(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS384", "rsa-1")


@pytest.fixture(scope="module")
def es384() -> Key:
    return Key(ec.generate_private_key(ec.SECP384R1()), "ES384", "ec-1", declare_alg=False)


@pytest.fixture
def issuer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Issuer:
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("AUTH_TOKEN_URL", TOKEN_URL)
    monkeypatch.setenv("AUTH_MODE", "on")
    for name in ("AUTH_JWKS_FILE", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE"):
        monkeypatch.delenv(name, raising=False)
    found = Issuer.embedded()
    found.ensure_key()
    return found


@pytest.fixture
async def http(issuer: Issuer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://issuer.test") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def _serve() -> Iterator[tuple[str, type[JwksServer]]]:
    handler = type("Handler", (JwksServer,), {"mode": "ok", "jwks": {}, "fetches": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True  # a dripping answer does not hold up the shutdown
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, type[JwksServer]]]:
    yield from _serve()


@pytest.fixture
def other_jwks_server() -> Iterator[tuple[str, type[JwksServer]]]:
    """A second client's JWKS server."""
    yield from _serve()
