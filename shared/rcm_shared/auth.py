"""Who is calling: OAuth 2.0 client-credentials bearer tokens (JWT, asymmetric signatures), verified by
every service API against a configured issuer's keys, and the scope each route requires.

Settings (``AUTH_*``, shared by all services): ``AUTH_MODE`` (on | off; off only in development and
test), ``AUTH_ISSUER``, ``AUTH_AUDIENCE``, and the issuer's public keys from ``AUTH_JWKS_URL`` (fetched and
cached) or ``AUTH_JWKS_FILE`` (default: ``<var>/auth/jwks.json``, the embedded local issuer's).

A token names its client (``sub``), its organization (``org``: the tenant every query is scoped by)
and its scopes (``scope``, space separated). A route requires one scope: ``<service>:read`` for reads,
the service's write scope for the rest (``claims:write``, ``eligibility:check``, ``remittance:post``,
``denials:work``), unless the route names its own (``openapi_extra={"x-required-scope": ...}``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from pydantic_settings import BaseSettings, SettingsConfigDict

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALGORITHMS = ["EdDSA", "RS256", "ES256"]
SCOPE_KEY = "x-required-scope"


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    mode: Literal["on", "off"] = "on"
    issuer: str = "rcm-local-issuer"
    audience: str = "rcm-api"
    jwks_url: str = ""
    jwks_file: str = ""  # empty (and no URL): <var>/auth/jwks.json
    token_url: str = "http://127.0.0.1:8010/oauth/token"  # noqa: S105 - a URL, documented in the OpenAPI
    leeway_s: int = 30

    def jwks_path(self) -> Path:
        from rcm_shared.config import project_var_dir

        return Path(self.jwks_file) if self.jwks_file else project_var_dir() / "auth" / "jwks.json"


@dataclass(frozen=True)
class Principal:
    client_id: str
    tenant: str
    scopes: frozenset[str]


class AuthError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Verifier:
    """Checks signature, issuer, audience, expiry and the claims we rely on; keys are cached.

    A token that verified is remembered for up to ``VERIFIED_TTL_S`` (never past its expiry; all are
    forgotten when the key file is seen to change): a client sends the same token with every request
    until it expires, and verifying its EdDSA signature was ~6 % of the eligibility API's CPU at 200
    checks/s (py-spy).
    """

    VERIFIED_TTL_S = 60.0
    VERIFIED_MAX = 10_000

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._client = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300) if settings.jwks_url else None
        self._file_keys: dict[str, Any] = {}
        self._file_mtime: float | None = None
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, remembered until)

    def _key_from_file(self, kid: str | None) -> Any:
        path = self.settings.jwks_path()
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            raise AuthError(401, f"no signing keys to verify tokens with ({path}: {exc.strerror})") from None
        with self._lock:
            if mtime != self._file_mtime:
                keys = jwt.PyJWKSet.from_dict(json.loads(path.read_text())).keys
                self._file_keys = {k.key_id or "": k.key for k in keys}
                self._file_mtime = mtime
                self._verified.clear()  # a removed key must stop its tokens now
            if kid in self._file_keys:
                return self._file_keys[kid]
            if kid is None and len(self._file_keys) == 1:
                return next(iter(self._file_keys.values()))
        raise AuthError(401, "the token was signed with a key the issuer does not publish")

    def _key(self, token: str) -> Any:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(401, "the bearer token is not a JWT") from None
        if self._client is not None:
            try:
                return self._client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise AuthError(401, f"cannot find the token's signing key: {exc}") from None
        return self._key_from_file(header.get("kid"))

    def verify(self, token: str) -> Principal:
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        principal, expires = self._verify(token)
        if len(self._verified) >= self.VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (principal, min(time.time() + self.VERIFIED_TTL_S, expires))
        return principal

    def _remembered(self, token: str) -> Principal | None:
        held = self._verified.get(token)
        return held[0] if held is not None and time.time() < held[1] else None

    def _verify(self, token: str) -> tuple[Principal, float]:
        key = self._key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_s,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError(
                401, f"the token is not for this API (audience must be {self.settings.audience!r})"
            ) from None
        except jwt.InvalidIssuerError:
            raise AuthError(401, "the token comes from an issuer this API does not trust") from None
        except jwt.InvalidSignatureError:
            raise AuthError(401, "the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise AuthError(401, f"invalid token: {exc}") from None
        org = claims.get("org")
        if not isinstance(org, str) or not org:
            raise AuthError(401, "the token names no organization (org claim)")
        scopes = claims.get("scope", "")
        principal = Principal(str(claims["sub"]), org, frozenset(scopes.split() if isinstance(scopes, str) else []))
        return principal, float(claims["exp"])

    async def averify(self, token: str) -> Principal:
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        if self._client is not None:  # may fetch the JWKS over the network: not on the event loop
            return await asyncio.to_thread(self.verify, token)
        return self.verify(token)


def required_scope(service: str, write_scope: str, method: str, openapi_extra: dict[str, Any] | None) -> str:
    if openapi_extra and SCOPE_KEY in openapi_extra:
        return str(openapi_extra[SCOPE_KEY])
    return f"{service}:read" if method.upper() in READ_METHODS else write_scope
