"""Authentication and authorization on every route of every service, generated from each OpenAPI.

For every operation that requires a scope: no token, a bad signature, an expired token, the wrong
audience and the wrong issuer are 401 (with a WWW-Authenticate challenge); a valid token without the
route's scope is 403; a valid token with only that scope gets past both (whatever the route then says
about the dummy request, never 401, 403 or 500). Only health, readiness and the docs stay open.
"""

from __future__ import annotations

import importlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rcm_cli.issuer import SCOPES, Issuer
from rcm_shared.auth import SCOPE_KEY, AuthSettings, expand_smart_scopes
from rcm_shared.fhir import FHIR_JSON, is_fhir_path
from rcm_shared.testing import app_client, migrate

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("eligibility", "claims", "remittance", "denials")
OPEN = {"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"}
# a FHIR base's CapabilityStatement and SMART discovery: clients read them before they hold a token
OPEN |= {"/fhir/R4/metadata", "/fhir/R4/.well-known/smart-configuration"}


class Tokens:
    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer
        self.kid = issuer.jwks()["keys"][0]["kid"]

    def make(self, scopes: list[str], *, org: str = "org-1", key: Any = None, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer.settings.issuer,
            "aud": self.issuer.settings.audience,
            "sub": "test-client",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "org": org,
            "scope": " ".join(scopes),
            **overrides,
        }
        return jwt.encode(claims, key or self.issuer._private(), algorithm="EdDSA", headers={"kid": self.kid})


@pytest.fixture
def issuer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Issuer:
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(tmp_path / "auth" / "jwks.json"))
    found = Issuer(tmp_path / "auth", AuthSettings())
    found.ensure_key()
    return found


@pytest.fixture(params=SERVICES)
async def service(
    request: pytest.FixtureRequest, issuer: Issuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    name = str(request.param)
    url = f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"
    await migrate(ROOT / "services" / name, url, name)
    monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
    config = importlib.import_module(f"{name}.config")
    main = importlib.import_module(f"{name}.main")
    async with app_client(main.create_app, config.get_settings.cache_clear) as client:
        yield client


def operations(app: Any) -> list[tuple[str, str, str]]:
    out = []
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            if SCOPE_KEY in op:
                out.append((method.upper(), path.replace("{", "").replace("}", ""), op[SCOPE_KEY]))
            else:
                assert path in OPEN, f"{method.upper()} {path} requires no scope"
    return out


async def call(client: Any, method: str, path: str, token: str | None, **headers: str) -> Any:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return await client.request(method, path, headers=headers, **body)


async def test_every_route_requires_a_valid_token_with_its_scope(service: Any, issuer: Issuer) -> None:
    tokens = Tokens(issuer)
    ops = operations(service.app)
    assert len(ops) >= 5
    stranger = Ed25519PrivateKey.generate()
    refused = {
        "no token": None,
        "bad signature": tokens.make(list(SCOPES), key=stranger),
        "expired": tokens.make(list(SCOPES), iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
        "wrong audience": tokens.make(list(SCOPES), aud="another-api"),
        "wrong issuer": tokens.make(list(SCOPES), iss="https://evil.example"),
        "not a jwt": "abc.def",
    }
    for method, path, scope in ops:
        assert scope in SCOPES, (method, path, scope)
        for why, token in refused.items():
            r = await call(service, method, path, token)
            assert r.status_code == 401, (why, method, path, r.text)
            assert r.headers["content-type"] == (FHIR_JSON if is_fhir_path(path) else "application/problem+json")
            assert r.headers["www-authenticate"].startswith("Bearer")
        others = [s for s in SCOPES if scope not in expand_smart_scopes([s])]  # claims:write implies claims:submit
        r = await call(service, method, path, tokens.make(others))
        assert r.status_code == 403, (method, path, r.text)
        if is_fhir_path(path):  # an OperationOutcome: the scope is named in its diagnostics
            assert repr(scope) in r.json()["issue"][0]["diagnostics"], (method, path, r.text)
        else:
            assert r.json()["required_scope"] == scope, (method, path, r.text)
        r = await call(service, method, path, tokens.make([scope]))
        assert r.status_code not in (401, 403, 500), (method, path, r.status_code, r.text)


async def test_open_routes_and_the_token_decides_the_tenant(service: Any, issuer: Issuer) -> None:
    assert (await service.get("/healthz")).status_code == 200
    assert (await service.get("/readyz")).status_code in (200, 503)  # no worker here: not ready, but open
    tokens = Tokens(issuer)
    listing = []
    for method, path, scope in operations(service.app):
        if method == "GET":
            path = path + "?member=W1" if path.endswith("/eligibility/checks") else path  # its required filter
            r = await call(service, method, path, tokens.make([scope], org="org-1"))
            if r.status_code == 200:
                listing.append((method, path, scope))
    method, path, scope = listing[0]  # a route that answers this tenant
    token = tokens.make([scope], org="org-1")
    assert (await call(service, method, path, token, **{"X-Tenant-ID": "org-1"})).status_code == 200
    other = await call(service, method, path, token, **{"X-Tenant-ID": "org-2"})
    assert other.status_code == 403 and "another organization" in other.json()["detail"]
    assert (await call(service, method, path, tokens.make([scope], org=""))).status_code == 401


def test_issuer_clients_and_tokens(issuer: Issuer) -> None:
    client_id, secret = issuer.create_client("org-9", ["claims:read", "claims:write"], "billing system")
    stored = (issuer.folder / "clients.json").read_text()
    assert secret not in stored and client_id in stored
    assert (issuer.folder / "signing-key.pem").stat().st_mode & 0o777 == 0o600
    body = issuer.token(client_id, secret, ["claims:read"])
    claims = jwt.decode(
        body["access_token"],
        jwt.PyJWKSet.from_dict(issuer.jwks()).keys[0].key,
        algorithms=["EdDSA"],
        audience="rcm-api",
    )
    assert (claims["org"], claims["scope"], claims["sub"]) == ("org-9", "claims:read", client_id)
    with pytest.raises(PermissionError):
        issuer.token(client_id, secret + "x")
    with pytest.raises(LookupError):
        issuer.token(client_id, secret, ["denials:work"])
    with pytest.raises(ValueError, match="unknown scope"):
        issuer.create_client("org-9", ["claims:admin"])


@pytest.fixture
async def small_claims(issuer: Issuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(ROOT / "services" / "claims", url, "claims")
    monkeypatch.setenv("CLAIMS_DATABASE_URL", url)
    monkeypatch.setenv("CLAIMS_MAX_BODY_MB", "1")
    monkeypatch.setenv("CLAIMS_RATE_LIMIT_PER_MINUTE", "60")  # a burst of 15, then one a second
    from claims.config import get_settings
    from claims.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as client:
        yield client


async def test_body_size_and_rate_limits(small_claims: Any, issuer: Issuer) -> None:
    tokens = Tokens(issuer)
    auth = {"Authorization": f"Bearer {tokens.make(['claims:write', 'claims:read'])}"}
    big = b"x" * (1024 * 1024 + 1)
    r = await small_claims.post("/v1/acknowledgments", content=big, headers=auth)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"

    async def stream() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(3):
            yield b"y" * 500_000

    r = await small_claims.post("/v1/acknowledgments", content=stream(), headers=auth)
    assert r.status_code == 413, r.text
    statuses = [(await small_claims.get("/v1/claims", headers=auth)).status_code for _ in range(20)]
    assert statuses[:10] == [200] * 10 and 429 in statuses
    limited = await small_claims.get("/v1/claims", headers=auth)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    other = {"Authorization": f"Bearer {tokens.make(['claims:read'], sub='another-client')}"}
    assert (await small_claims.get("/v1/claims", headers=other)).status_code == 200  # per client


def test_a_verified_token_is_remembered_until_it_expires_or_the_keys_change(issuer: Issuer) -> None:
    from rcm_shared.auth import AuthError, Verifier

    tokens = Tokens(issuer)
    verifier = Verifier(AuthSettings(leeway_s=0))
    short = tokens.make(["claims:read"], exp=int(time.time()) + 1)
    assert verifier.verify(short).tenant == "org-1"
    assert verifier.verify(short).tenant == "org-1"  # remembered
    while time.time() <= jwt.decode(short, options={"verify_signature": False})["exp"]:
        time.sleep(0.05)
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(short)
    # the issuer's key is replaced: a token of the old key that verified before is refused from then on
    old = tokens.make(["claims:read"])
    assert verifier.verify(old).tenant == "org-1"
    jwks = issuer.settings.jwks_path()
    new_key = Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(new_key.public_key()))
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": tokens.kid}]}))
    os.utime(jwks, (time.time() + 5, time.time() + 5))
    assert verifier.verify(tokens.make(["claims:read"], key=new_key)).tenant == "org-1"
    with pytest.raises(AuthError, match="signature"):
        verifier.verify(old)
