"""SMART Backend Services at the embedded issuer: a client registers public keys and authenticates with a JWT
it signs (private_key_jwt), each bad assertion is refused with its reason, an assertion works once, and the
token it gets, carrying SMART scopes, passes a service route that requires the scope they stand for."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter
from rcm_cli import client_assertion
from rcm_cli.client_assertion import ASSERTION_TYPE
from rcm_cli.issuer import Issuer
from rcm_cli.main import app as cli
from rcm_shared.auth import AuthSettings, Verifier
from rcm_shared.config import BaseServiceSettings
from rcm_shared.testing import app_client, migrate
from rcm_shared.web import create_service_app
from smart_steps import HERE, TOKEN_URL, Key, ask, refused
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


async def test_rs384_and_es384_assertions_get_tokens_carrying_the_granted_smart_scopes(
    http: httpx.AsyncClient, issuer: Issuer, rs384: Key, es384: Key
) -> None:
    scopes = ["system/Claim.read", "system/ExplanationOfBenefit.rs"]
    client_id, secret = issuer.create_client("org-7", scopes, jwks={"keys": [rs384.jwk, es384.jwk]})
    assert secret == ""  # keys and no secret, unless asked
    verifier = Verifier(issuer.settings)
    for key in (rs384, es384):
        r = await ask(http, key.sign(client_id), "system/Claim.read")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["token_type"], body["scope"]) == ("Bearer", "system/Claim.read")
        assert r.headers["cache-control"] == "no-store"
        principal = verifier.verify(body["access_token"])
        assert (principal.client_id, principal.tenant) == (client_id, "org-7")
        assert principal.scopes == {"system/Claim.read", "claims:read"}
    r = await ask(http, rs384.sign(client_id), client_id=client_id)  # no scope: all granted, as SMART wrote them
    assert r.json()["scope"] == " ".join(sorted(scopes))
    assert Verifier(issuer.settings).verify(r.json()["access_token"]).scopes >= {"claims:read", "remittance:read"}


async def test_each_bad_assertion_is_refused_with_its_reason(
    http: httpx.AsyncClient, issuer: Issuer, rs384: Key, es384: Key
) -> None:
    client_id, _ = issuer.create_client("org-7", ["system/*.read"], jwks={"keys": [rs384.jwk, es384.jwk]})
    secret_only, _ = issuer.create_client("org-7", ["claims:read"])
    impostor = Key(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS384", "rsa-1")
    in_5_min = int(time.time()) + 300
    cases = {
        "unknown client": (rs384.sign("rcm-nobody"), "unknown client 'rcm-nobody'"),
        "no registered keys": (rs384.sign(secret_only), "has no registered keys"),
        "bad signature": (impostor.sign(client_id), "signature does not verify with key 'rsa-1'"),
        "wrong aud": (
            rs384.sign(client_id, aud="https://elsewhere.example/token"),
            f"aud must be the token endpoint URL, {TOKEN_URL}",
        ),
        "expired": (rs384.sign(client_id, iat=int(time.time()) - 900, exp=int(time.time()) - 600), "has expired"),
        "exp too far ahead": (rs384.sign(client_id, exp=in_5_min + 120), "more than 300 s in the future"),
        "no exp": (rs384.sign(client_id, exp=None), "has no exp claim"),
        "no jti": (rs384.sign(client_id, jti=None), "has no jti claim"),
        "sub is not the client": (rs384.sign(client_id, sub="someone-else"), "sub must be the client id"),
        "unknown kid": (Key(rs384.private, "RS384", "rsa-9").sign(client_id), "no registered key with kid 'rsa-9'"),
        "no kid": (Key(rs384.private, "RS384", "").sign(client_id), "names no kid"),
        "alg the key does not sign": (Key(rs384.private, "RS256", "rsa-1").sign(client_id), "does not sign RS256"),
        "symmetric alg": (
            jwt.encode({"iss": client_id}, "x" * 32, "HS256", headers={"kid": "rsa-1"}),
            "alg 'HS256' is not accepted",
        ),
        "not a JWT": ("not-a-jwt", "is not a JWT"),
    }
    for why, (assertion, description) in cases.items():
        r = await ask(http, assertion)
        assert r.status_code == 401, (why, r.text)
        refused(r, 401, "invalid_client", description)
    assert (await ask(http, rs384.sign(client_id, exp=int(time.time()) + 300))).status_code == 200  # 5 min is fine
    refused(
        await ask(http, rs384.sign(client_id), client_id="rcm-other"),
        401,
        "invalid_client",
        "is not the client_assertion's iss",
    )
    refused(
        await ask(http, rs384.sign(client_id), client_assertion_type="urn:x"), 401, "invalid_client", ASSERTION_TYPE
    )
    refused(await ask(http, rs384.sign(client_id), client_secret="s"), 400, "invalid_request", "not both")
    r = await http.post("/oauth/token", data={"grant_type": "password", "client_assertion": rs384.sign(client_id)})
    refused(r, 400, "unsupported_grant_type", "client_credentials")


async def test_the_aud_is_the_configured_token_url_whatever_url_the_request_came_to(
    http: httpx.AsyncClient, issuer: Issuer, rs384: Key
) -> None:
    # RFC 7523 section 3: the aud identifies this authorization server; the Host header is the caller's to
    # choose, so an assertion minted for (and captured at) another server must not pass here
    client_id, _ = issuer.create_client("org-7", ["system/Claim.read"], jwks={"keys": [rs384.jwk]})
    other = "http://other-as.example/oauth/token"
    r = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": rs384.sign(client_id, aud=other),
        },
        headers={"host": "other-as.example"},
    )
    refused(r, 401, "invalid_client", f"aud must be the token endpoint URL, {TOKEN_URL}")
    refused(await ask(http, rs384.sign(client_id, aud=HERE)), 401, "invalid_client", "aud must be")
    assert (await ask(http, rs384.sign(client_id, aud=TOKEN_URL))).status_code == 200


async def test_an_assertion_works_once(http: httpx.AsyncClient, issuer: Issuer, rs384: Key, tmp_path: Path) -> None:
    client_id, _ = issuer.create_client("org-7", ["system/Claim.read"], jwks={"keys": [rs384.jwk]})
    stale = {f"{client_id} old": time.time() - 1, f"{client_id} live": time.time() + 200}
    (issuer.folder / "jtis.json").write_text(json.dumps(stale))
    once = rs384.sign(client_id)
    assert (await ask(http, once)).status_code == 200
    refused(await ask(http, once), 401, "invalid_client", "jti was used before")
    # the seen jtis are the issuer's state on disk: another process serving the same folder refuses it too
    again = Issuer(issuer.folder, AuthSettings())
    with pytest.raises(client_assertion.InvalidClient, match="used before"):
        again.token_for_assertion(once)
    seen = json.loads((issuer.folder / "jtis.json").read_text())
    assert set(seen) == {
        f"{client_id} live",
        f"{client_id} {jwt.decode(once, options={'verify_signature': False})['jti']}",
    }
    assert (issuer.folder / "jtis.json").stat().st_mode & 0o777 == 0o600
    assert (await ask(http, rs384.sign(client_id))).status_code == 200  # a fresh jti


async def test_requested_scopes_are_checked_against_the_grant(
    http: httpx.AsyncClient, issuer: Issuer, es384: Key
) -> None:
    client_id, _ = issuer.create_client("org-7", ["system/*.read", "claims:write"], jwks={"keys": [es384.jwk]})
    for scope in ("system/Claim.read", "system/ExplanationOfBenefit.rs system/Patient.s", "claims:read claims:write"):
        r = await ask(http, es384.sign(client_id), scope)
        assert r.status_code == 200 and r.json()["scope"] == " ".join(sorted(scope.split())), r.text
    refused(
        await ask(http, es384.sign(client_id), "system/Claim.write"),
        400,
        "invalid_scope",
        "'system/Claim.write' is not granted",
    )
    refused(
        await ask(http, es384.sign(client_id), "system/Observation.read"),
        400,
        "invalid_scope",
        "no service here holds FHIR Observation",
    )
    refused(await ask(http, es384.sign(client_id), "denials:read"), 400, "invalid_scope", "not granted")


async def test_a_write_permission_on_a_read_only_type_is_an_invalid_scope(
    http: httpx.AsyncClient, issuer: Issuer, es384: Key
) -> None:
    # remittance:post posts 835s and claims:write voids claims: no FHIR write on an EOB or a Patient reaches them
    for scopes in (["system/ExplanationOfBenefit.c"], ["system/Patient.write"], ["system/ClaimResponse.cud"]):
        with pytest.raises(ValueError, match="is read-only here"):
            issuer.create_client("org-7", scopes, jwks={"keys": [es384.jwk]})
    client_id, _ = issuer.create_client("org-7", ["system/*.*"], jwks={"keys": [es384.jwk]})
    for scope in ("system/ExplanationOfBenefit.c", "system/PaymentReconciliation.u", "system/Patient.write"):
        refused(await ask(http, es384.sign(client_id), scope), 400, "invalid_scope", "is read-only here")
    r = await ask(http, es384.sign(client_id), "system/*.write")
    principal = Verifier(issuer.settings).verify(r.json()["access_token"])
    # a FHIR write is that write alone: not the service's write scope (voids, prices, raw 271s)
    writes = {"claims:write", "claims:submit", "eligibility:check", "eligibility:request", "remittance:post"}
    assert principal.scopes & writes == {"claims:submit", "eligibility:request"}


async def test_v1_read_and_write_on_a_read_only_type_gets_a_token_for_its_read(
    http: httpx.AsyncClient, issuer: Issuer, es384: Key
) -> None:
    # SMART v1 clients ask for system/<Type>.* ("read and write"): they register and get it, as written, and
    # it stands for the read
    granted = ["system/ExplanationOfBenefit.*", "system/Patient.cruds"]
    client_id, _ = issuer.create_client("org-7", granted, jwks={"keys": [es384.jwk]})
    verifier = Verifier(issuer.settings)
    for requested, reads in [
        (None, {"claims:read", "remittance:read"}),
        ("system/ExplanationOfBenefit.*", {"remittance:read"}),
        ("system/Patient.cruds system/ExplanationOfBenefit.rs", {"claims:read", "remittance:read"}),
    ]:
        r = await ask(http, es384.sign(client_id), requested or "")
        assert r.status_code == 200, r.text
        assert r.json()["scope"] == " ".join(sorted(requested.split() if requested else granted))
        scopes = verifier.verify(r.json()["access_token"]).scopes
        assert scopes - set(r.json()["scope"].split()) == reads
    refused(await ask(http, es384.sign(client_id), "system/Patient.write"), 400, "invalid_scope", "read-only here")


async def test_a_secret_client_may_hold_smart_scopes_and_both_methods(
    http: httpx.AsyncClient, issuer: Issuer, rs384: Key
) -> None:
    client_id, secret = issuer.create_client("org-7", ["system/Claim.*"], secret=True, jwks={"keys": [rs384.jwk]})
    form = {"grant_type": "client_credentials", "scope": "system/Claim.cruds"}
    r = await http.post("/oauth/token", data=form, auth=(client_id, secret))
    assert r.status_code == 200 and r.json()["scope"] == "system/Claim.cruds", r.text
    assert (await ask(http, rs384.sign(client_id), "system/Claim.rs")).status_code == 200
    keys_only, _ = issuer.create_client("org-7", ["claims:read"], jwks={"keys": [rs384.jwk]})
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(keys_only, "guess"))
    refused(r, 401, "invalid_client", "unknown client or wrong secret")


async def test_the_issuer_serves_its_smart_configuration(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/.well-known/smart-configuration")).json()
    assert doc["token_endpoint"] == TOKEN_URL
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]


def test_registration_takes_public_keys_only(issuer: Issuer, rs384: Key, es384: Key) -> None:
    private = {**es384.jwk, **json.loads(jwt.algorithms.ECAlgorithm.to_jwk(es384.private))}
    weak = Key(rsa.generate_private_key(public_exponent=65537, key_size=1024), "RS384", "weak")
    refusals = {
        "private key material (d)": {"keys": [private]},
        "needs a kid": {"keys": [{k: v for k, v in rs384.jwk.items() if k != "kid"}]},
        "names more than one key": {"keys": [rs384.jwk, {**es384.jwk, "kid": "rsa-1"}]},
        "at least 2048 bits": {"keys": [weak.jwk]},
        "does not fit this key": {"keys": [{**es384.jwk, "alg": "ES256"}]},
        "'HS256' is not accepted": {"keys": [{**rs384.jwk, "alg": "HS256"}]},
        "non-empty": {"keys": []},
        "private key material (k)": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]},
        "is for use 'enc'": {"keys": [{**rs384.jwk, "use": "enc"}]},
        "key_ops do not include verify": {"keys": [{**rs384.jwk, "key_ops": ["encrypt"]}]},
    }
    for why, jwks in refusals.items():
        with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
            issuer.create_client("org-7", ["claims:read"], jwks=jwks)
    with pytest.raises(ValueError, match="not both"):
        issuer.create_client("org-7", ["claims:read"], jwks={"keys": [rs384.jwk]}, jwks_url="https://k.example/jwks")
    with pytest.raises(ValueError, match="a secret or with keys"):
        issuer.create_client("org-7", ["claims:read"], secret=False)
    with pytest.raises(ValueError, match="https://"):
        issuer.create_client("org-7", ["claims:read"], jwks_url="http://keys.example/jwks.json")
    with pytest.raises(ValueError, match="Observation"):
        issuer.create_client("org-7", ["system/Observation.read"], jwks={"keys": [rs384.jwk]})
    assert not (issuer.folder / "clients.json").exists()


def test_the_cli_registers_a_client_by_its_keys(issuer: Issuer, rs384: Key, es384: Key, tmp_path: Path) -> None:
    public = tmp_path / "client-jwks.json"
    public.write_text(json.dumps({"keys": [rs384.jwk, es384.jwk]}))
    args = ["auth", "client", "create", "--org", "org-7", "--scopes", "system/*.read", "--jwks", str(public)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "client_secret" not in result.output and "rsa-1 ec-1" in result.output
    assert ASSERTION_TYPE in result.output
    client_id = result.output.split()[1]
    stored = json.loads((issuer.folder / "clients.json").read_text())[client_id]
    assert stored["jwks"]["keys"] == [rs384.jwk, es384.jwk] and "salt" not in stored
    assert "client_secret" in CliRunner().invoke(cli, [*args, "--secret"]).output
    leaked = tmp_path / "private-jwks.json"
    leaked.write_text(
        json.dumps({"keys": [json.loads(jwt.algorithms.ECAlgorithm.to_jwk(es384.private)) | {"kid": "e"}]})
    )
    result = CliRunner().invoke(cli, [*args[:-1], str(leaked)])
    assert result.exit_code == 2 and "private key material" in result.output


async def test_keys_at_a_jwks_url_are_fetched_cached_and_refetched_for_a_new_kid(
    http: httpx.AsyncClient, issuer: Issuer, rs384: Key, es384: Key, jwks_server: Any
) -> None:
    url, served = jwks_server
    served.jwks = {"keys": [rs384.jwk]}
    client_id, _ = issuer.create_client("org-7", ["system/Claim.read"], jwks_url=url)
    assert served.fetches == []  # registering fetches nothing
    remote = http.app.state.issuer.remote_keys  # type: ignore[attr-defined]
    start = time.monotonic()
    remote.clock = lambda: start
    for _ in range(3):
        assert (await ask(http, rs384.sign(client_id))).status_code == 200
    assert len(served.fetches) == 1
    served.jwks = {"keys": [rs384.jwk, es384.jwk]}  # the client adds a key
    refused(await ask(http, es384.sign(client_id)), 401, "invalid_client", "JWKS has no key with kid 'ec-1'")
    assert len(served.fetches) == 1  # an unknown kid soon after a fetch does not fetch again
    remote.clock = lambda: start + client_assertion.REMOTE_RETRY_S
    assert (await ask(http, es384.sign(client_id))).status_code == 200
    assert (await ask(http, rs384.sign(client_id))).status_code == 200
    assert len(served.fetches) == 2
    leaked = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(es384.private)) | {"kid": "ec-1"}
    served.jwks = {"keys": [leaked]}
    remote.clock = lambda: start + client_assertion.REMOTE_RETRY_S + client_assertion.REMOTE_TTL_S
    r = await ask(http, es384.sign(client_id))  # why is the log's: the caller is not authenticated yet
    refused(r, 401, "invalid_client", "registered JWKS URL cannot be used now")
    assert url not in r.text and "private" not in r.text
    assert len(served.fetches) == 3


class _ClaimsLike(BaseServiceSettings):
    service_name: ClassVar[str] = "claims"


async def test_a_smart_token_passes_the_route_that_requires_the_scope_it_stands_for(
    http: httpx.AsyncClient, issuer: Issuer, es384: Key, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claims.models import bus

    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(ROOT / "services" / "claims", url, "claims")  # the audit table
    client_id, _ = issuer.create_client("org-7", ["system/*.read"], jwks={"keys": [es384.jwk]})
    token = (await ask(http, es384.sign(client_id), "system/Claim.read")).json()["access_token"]
    router = APIRouter()

    @router.get("/v1/claims")  # a read: claims:read
    async def claims() -> dict[str, str]:
        return {"listed": "yes"}

    @router.post("/v1/claims")  # a write: claims:write
    async def submit() -> dict[str, str]:
        return {"submitted": "yes"}

    settings = _ClaimsLike(database_url=url)
    assert settings.auth.mode == "on"
    async with app_client(lambda: create_service_app(settings, bus, title="t", routers=[router])) as client:
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/v1/claims", headers=auth)).json() == {"listed": "yes"}
        r = await client.post("/v1/claims", headers=auth)
        assert r.status_code == 403 and r.json()["required_scope"] == "claims:write"
        assert (await client.get("/v1/claims")).status_code == 401
