"""The embedded local token issuer (OAuth 2.0 client credentials), so `make run` works with auth on.

Production points the services at a real identity provider (``AUTH_JWKS_URL``, ``AUTH_ISSUER``); this
one exists for the embedded default. State lives in ``<var>/auth``: an Ed25519 signing key
(``signing-key.pem``, mode 0600), its public JWKS (``jwks.json``, which the services read), and the
registered clients (``clients.json``: organization, scopes, and a PBKDF2 hash of the secret, never the
secret itself, and/or the client's public keys), and the assertion ids already used (``jtis.json``).

``rcm auth client create --org ORG --scopes ...`` registers a client and prints its credentials once;
``POST /oauth/token`` (``grant_type=client_credentials``; the client id and secret in the form or HTTP Basic,
or a JWT the client signed with one of its keys, ``client_assertion``, SMART Backend Services; optional
``scope`` subset) answers a short-lived JWT; ``GET /.well-known/jwks.json`` publishes the key and
``GET /.well-known/smart-configuration`` describes the endpoint to SMART clients.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from rcm_shared.auth import SCOPES, AuthSettings, check_scope, scope_granted, smart_configuration
from rcm_shared.config import project_var_dir
from rcm_shared.logging import configure_logging

from rcm_cli.client_assertion import (
    ASSERTION_TYPE,
    InvalidClient,
    RemoteJwks,
    assertion_issuer,
    check_jwks_url,
    client_keys,
    public_jwks,
    verify_assertion,
)

__all__ = ["SCOPES", "InvalidClient", "InvalidScope", "Issuer", "create_app"]

TOKEN_TTL_S = 900
_PBKDF2_ROUNDS = 200_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class InvalidScope(LookupError):
    """A requested scope is unknown or not granted to the client (RFC 6749 ``invalid_scope``)."""


@dataclass
class Issuer:
    folder: Path
    settings: AuthSettings
    remote_keys: RemoteJwks = field(default_factory=RemoteJwks)

    @classmethod
    def embedded(cls) -> Issuer:
        return cls(project_var_dir() / "auth", AuthSettings())

    @property
    def key_file(self) -> Path:
        return self.folder / "signing-key.pem"

    @property
    def clients_file(self) -> Path:
        return self.folder / "clients.json"

    @property
    def jtis_file(self) -> Path:
        return self.folder / "jtis.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time across processes (the CLI registers while the issuer serves)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".clients.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @staticmethod
    def _write(target: Path, data: dict[str, Any]) -> None:
        tmp = target.with_name(f".{target.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, target)

    def ensure_key(self) -> None:
        """Create the signing key and publish its JWKS, once; later starts reuse them."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.key_file.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
        jwks = json.dumps(self.jwks(), indent=2)
        target = self.settings.jwks_path()
        if not target.exists() or target.read_text() != jwks:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(jwks)
            os.replace(tmp, target)

    def _private(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        return key

    def jwks(self) -> dict[str, Any]:
        public = self._private().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = _b64(public)
        # RFC 7638 thumbprint as the key id
        kid = _b64(
            hashlib.sha256(
                json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":")).encode()
            ).digest()
        )
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}]}

    # -- clients ---------------------------------------------------------------------------------------
    def _clients(self) -> dict[str, Any]:
        return json.loads(self.clients_file.read_text()) if self.clients_file.exists() else {}

    def create_client(
        self,
        org: str,
        scopes: list[str],
        name: str = "",
        *,
        secret: bool | None = None,
        jwks: dict[str, Any] | None = None,
        jwks_url: str = "",
    ) -> tuple[str, str]:
        """Register a client; answers its id and its secret ("" when it has none). It authenticates with a
        secret, with assertions signed by its keys (``jwks`` or ``jwks_url``), or either; ``secret=None``
        gives it a secret only when it registers no keys. ValueError for what cannot be registered."""
        for scope in scopes:
            check_scope(scope)
        if not org:
            raise ValueError("a client belongs to an organization (--org)")
        if jwks is not None and jwks_url:
            raise ValueError("register the client's keys as a JWKS or as a JWKS URL, not both")
        record: dict[str, Any] = {"name": name, "org": org, "scopes": sorted(set(scopes))}
        if jwks is not None:
            record["jwks"] = public_jwks(jwks)
        if jwks_url:
            record["jwks_url"] = check_jwks_url(jwks_url)
        with_secret = (jwks is None and not jwks_url) if secret is None else secret
        if not with_secret and "jwks" not in record and "jwks_url" not in record:
            raise ValueError("a client authenticates with a secret or with keys (--jwks, --jwks-url)")
        client_id = f"rcm-{uuid.uuid4().hex[:16]}"
        plain = secrets.token_urlsafe(32) if with_secret else ""
        if plain:
            salt = secrets.token_bytes(16)
            record["salt"] = salt.hex()
            record["secret_pbkdf2_sha256"] = hashlib.pbkdf2_hmac("sha256", plain.encode(), salt, _PBKDF2_ROUNDS).hex()
        record["created"] = int(time.time())
        with self._locked():
            clients = self._clients()
            clients[client_id] = record
            self._write(self.clients_file, clients)
        return client_id, plain

    def token(self, client_id: str, secret: str, requested: list[str] | None = None) -> dict[str, Any]:
        """A token for a client that authenticates with its id and secret."""
        client = self._clients().get(client_id)
        if client is None or "salt" not in client:
            raise InvalidClient("unknown client or wrong secret")
        digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(client["salt"]), _PBKDF2_ROUNDS)
        if not hmac.compare_digest(digest.hex(), client["secret_pbkdf2_sha256"]):
            raise InvalidClient("unknown client or wrong secret")
        return self._issue(client_id, client, requested)

    def token_for_assertion(
        self, assertion: str, requested: list[str] | None = None, *, client_id: str = ""
    ) -> dict[str, Any]:
        """A token for a client that authenticates with a JWT signed by one of its registered keys
        (``private_key_jwt``). Its aud is the configured token URL (``AUTH_TOKEN_URL``), never the URL the
        request came to: the caller picks that with the Host header, so an assertion minted for another
        authorization server would pass. ``client_id``, when the form carries one too, must be the iss."""
        claimed = assertion_issuer(assertion)
        if client_id and client_id != claimed:
            raise InvalidClient(f"client_id {client_id!r} is not the client_assertion's iss {claimed!r}")
        client = self._clients().get(claimed)
        if client is None:
            raise InvalidClient(f"unknown client {claimed!r} (the client_assertion's iss)")
        leeway = self.settings.leeway_s
        claims = verify_assertion(
            assertion,
            claimed,
            client_keys(claimed, client, self.remote_keys),
            (self.settings.token_url,),
            leeway,
        )
        self._use_jti(claimed, claims["jti"], float(claims["exp"]) + leeway)
        return self._issue(claimed, client, requested)

    def _use_jti(self, client_id: str, jti: str, until: float) -> None:
        """Each assertion once: its jti is remembered until it expires, and a second use refused."""
        seen_key = f"{client_id} {jti}"
        with self._locked():
            now = time.time()
            seen = json.loads(self.jtis_file.read_text()) if self.jtis_file.exists() else {}
            seen = {k: t for k, t in seen.items() if t >= now}
            if seen_key in seen:
                raise InvalidClient("the client_assertion's jti was used before (a replayed assertion)")
            seen[seen_key] = until
            self._write(self.jtis_file, seen)

    def _issue(self, client_id: str, client: dict[str, Any], requested: list[str] | None) -> dict[str, Any]:
        granted = client["scopes"]
        scopes = sorted(set(requested) if requested else set(granted))
        for scope in scopes:
            try:
                allowed = scope_granted(scope, granted)
            except ValueError as exc:
                raise InvalidScope(str(exc)) from None
            if not allowed:
                raise InvalidScope(f"the scope {scope!r} is not granted to this client")
        now = int(time.time())
        claims = {
            "iss": self.settings.issuer,
            "sub": client_id,
            "aud": self.settings.audience,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_TTL_S,
            "jti": uuid.uuid4().hex,
            "org": client["org"],
            "scope": " ".join(scopes),
        }
        kid = self.jwks()["keys"][0]["kid"]
        token = jwt.encode(claims, self._private(), algorithm="EdDSA", headers={"kid": kid})
        return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_S, "scope": claims["scope"]}


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    # RFC 6749 section 5.2
    headers = {"WWW-Authenticate": 'Basic realm="rcm"'} if status == 401 else {}
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def create_app() -> FastAPI:
    configure_logging("issuer", os.environ.get("RCM_ISSUER_LOG_LEVEL", "INFO"))  # the services' JSON lines
    issuer = Issuer.embedded()
    issuer.ensure_key()
    app = FastAPI(title="RCM local token issuer", version="0.1.0")
    app.state.issuer = issuer

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "issuer"}

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return issuer.jwks()

    @app.get("/.well-known/smart-configuration")
    async def smart() -> dict[str, Any]:
        return smart_configuration(issuer.settings)

    @app.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        requested = form.get("scope", "").split() or None
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        issue: Callable[[], dict[str, Any]]
        if "client_assertion" in form or "client_assertion_type" in form:
            if scheme.lower() == "basic" or "client_secret" in form:
                return _oauth_error(
                    400, "invalid_request", "authenticate with a client_assertion or a secret, not both"
                )
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                return _oauth_error(401, "invalid_client", f"client_assertion_type must be {ASSERTION_TYPE}")
            if not form.get("client_assertion"):
                return _oauth_error(401, "invalid_client", "client_assertion is empty")
            issue = partial(
                issuer.token_for_assertion, form["client_assertion"], requested, client_id=form.get("client_id", "")
            )
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            if scheme.lower() == "basic":
                try:
                    client_id, _, secret = base64.b64decode(value).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    return _oauth_error(401, "invalid_client", "malformed HTTP Basic credentials")
            if not client_id or not secret:
                return _oauth_error(
                    401, "invalid_client", "client_id and client_secret, or a client_assertion, are required"
                )
            issue = partial(issuer.token, client_id, secret, requested)
        try:
            # PBKDF2, the state files' lock and a client's JWKS URL all block: not on the event loop
            body = await asyncio.to_thread(issue)
        except InvalidClient as exc:
            return _oauth_error(401, "invalid_client", str(exc))
        except InvalidScope as exc:
            return _oauth_error(400, "invalid_scope", str(exc))
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return app
