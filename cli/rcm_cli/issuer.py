"""The embedded local token issuer (OAuth 2.0 client credentials), so `make run` works with auth on.

Production points the services at a real identity provider (``AUTH_JWKS_URL``, ``AUTH_ISSUER``); this
one exists for the embedded default. State lives in ``<var>/auth``: an Ed25519 signing key
(``signing-key.pem``, mode 0600), its public JWKS (``jwks.json``, which the services read), and the
registered clients (``clients.json``: organization, scopes and a PBKDF2 hash of the secret, never the
secret itself).

``rcm auth client create --org ORG --scopes ...`` registers a client and prints its credentials once;
``POST /oauth/token`` (``grant_type=client_credentials``, client id and secret in the form or HTTP Basic,
optional ``scope`` subset) answers a short-lived JWT; ``GET /.well-known/jwks.json`` publishes the key.
"""

from __future__ import annotations

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from rcm_shared.auth import AuthSettings
from rcm_shared.config import project_var_dir
from rcm_shared.logging import configure_logging

SCOPES = (
    "eligibility:check",
    "eligibility:read",
    "claims:write",
    "claims:read",
    "remittance:post",
    "remittance:read",
    "denials:work",
    "denials:read",
    "audit:read",
)
TOKEN_TTL_S = 900
_PBKDF2_ROUNDS = 200_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Issuer:
    folder: Path
    settings: AuthSettings

    @classmethod
    def embedded(cls) -> Issuer:
        return cls(project_var_dir() / "auth", AuthSettings())

    @property
    def key_file(self) -> Path:
        return self.folder / "signing-key.pem"

    @property
    def clients_file(self) -> Path:
        return self.folder / "clients.json"

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

    def create_client(self, org: str, scopes: list[str], name: str = "") -> tuple[str, str]:
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
        if not org:
            raise ValueError("a client belongs to an organization (--org)")
        self.folder.mkdir(parents=True, exist_ok=True)
        client_id = f"rcm-{uuid.uuid4().hex[:16]}"
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _PBKDF2_ROUNDS)
        with open(self.folder / ".clients.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            clients = self._clients()
            clients[client_id] = {
                "name": name,
                "org": org,
                "scopes": sorted(set(scopes)),
                "salt": salt.hex(),
                "secret_pbkdf2_sha256": digest.hex(),
                "created": int(time.time()),
            }
            tmp = self.clients_file.with_name(".clients.json.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(clients, fh, indent=2)
            os.replace(tmp, self.clients_file)
        return client_id, secret

    def token(self, client_id: str, secret: str, requested: list[str] | None = None) -> dict[str, Any]:
        client = self._clients().get(client_id)
        if client is None:
            raise PermissionError("invalid_client")
        digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(client["salt"]), _PBKDF2_ROUNDS)
        if not hmac.compare_digest(digest.hex(), client["secret_pbkdf2_sha256"]):
            raise PermissionError("invalid_client")
        granted = set(client["scopes"])
        scopes = sorted(granted if not requested else set(requested))
        if not set(scopes) <= granted:
            raise LookupError("invalid_scope")
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

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "issuer"}

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return issuer.jwks()

    @app.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return _oauth_error(401, "invalid_client", "malformed HTTP Basic credentials")
        if not client_id or not secret:
            return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
        requested = form.get("scope", "").split() or None
        try:
            body = issuer.token(client_id, secret, requested)
        except PermissionError:
            return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
        except LookupError:
            return _oauth_error(400, "invalid_scope", "a requested scope was not granted to this client")
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return app
