"""Who is calling: OAuth 2.0 client-credentials bearer tokens (JWT, asymmetric signatures), verified by
every service API against a configured issuer's keys, and the scope each route requires.

Settings (``AUTH_*``, shared by all services): ``AUTH_MODE`` (on | off; off only in development and
test), ``AUTH_ISSUER``, ``AUTH_AUDIENCE``, and the issuer's public keys from ``AUTH_JWKS_URL`` (fetched and
cached) or ``AUTH_JWKS_FILE`` (default: ``<var>/auth/jwks.json``, the embedded local issuer's).

A token names its client (``sub``), its organization (``org``: the tenant every query is scoped by)
and its scopes (``scope``, space separated). A route requires one scope: ``<service>:read`` for reads,
the service's write scope for the rest (``claims:write``, ``eligibility:check``, ``remittance:post``,
``denials:work``), unless the route names its own (``openapi_extra={"x-required-scope": ...}``): the FHIR
writes require ``claims:submit`` (``Claim/$submit``) and ``eligibility:request`` (a
CoverageEligibilityRequest), which the service's write scope implies (``IMPLIED_SCOPES``).

SMART on FHIR system scopes (``system/Claim.read``, ``system/*.rs``, ...) stand for the read scope of the
service that owns the resource type (``FHIR_TYPE_SERVICE``) and, on the types a client can write, that
type's write scope (``FHIR_WRITE_SCOPES``): a token carrying them holds the scopes they map to as well
(``expand_smart_scopes``), and ``smart_configuration`` is the discovery document a FHIR client reads first.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from pydantic_settings import BaseSettings, SettingsConfigDict

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALGORITHMS = ["EdDSA", "RS256", "ES256"]
SCOPE_KEY = "x-required-scope"
SCOPES = (
    "eligibility:check",
    "eligibility:request",
    "eligibility:read",
    "claims:write",
    "claims:submit",
    "claims:read",
    "remittance:post",
    "remittance:read",
    "denials:work",
    "denials:read",
    "audit:read",
)
# What a client may sign its token-endpoint assertion with (private_key_jwt); SMART requires RS384 and ES384.
ASSERTION_ALGORITHMS = ("RS384", "ES384", "RS256", "ES256", "EdDSA")


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
        principal = Principal(
            str(claims["sub"]), org, expand_smart_scopes(scopes.split() if isinstance(scopes, str) else [])
        )
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


# A service's write scope may also do the FHIR write it owns: a client that may void claims and edit the
# charge master may submit a claim, one that may ingest 271s may ask for a check. Never the other way round.
IMPLIED_SCOPES: dict[str, str] = {"claims:write": "claims:submit", "eligibility:check": "eligibility:request"}

# -- SMART on FHIR system scopes -----------------------------------------------------------------------
# The one mapping from FHIR resource types to the services that own them, and each service's read scope.
# Denials and the audit trail own no FHIR resource type: no SMART scope reaches them.
SERVICE_READ_SCOPES: dict[str, str] = {
    "eligibility": "eligibility:read",
    "claims": "claims:read",
    "remittance": "remittance:read",
}
FHIR_TYPE_SERVICE: dict[str, str] = {
    "CoverageEligibilityRequest": "eligibility",
    "CoverageEligibilityResponse": "eligibility",
    "Claim": "claims",
    "ClaimResponse": "claims",
    "Patient": "claims",
    "ExplanationOfBenefit": "remittance",
    "PaymentReconciliation": "remittance",
}
# The types a FHIR client can write, each with the scope of exactly that write: Claim (Claim/$submit) and
# CoverageEligibilityRequest (create and $submit). Only there does a write permission (c, u) grant anything,
# and only this scope: the owning service's write scope does far more (claims:write voids claims and edits
# prices, eligibility:check ingests raw 271s, remittance:post posts 835s). No type here can be deleted, so d
# grants nothing. rcm_shared.fhir.surfaces declares the same types (a test holds them equal; auth cannot
# import it).
FHIR_WRITE_SCOPES: dict[str, str] = {"Claim": "claims:submit", "CoverageEligibilityRequest": "eligibility:request"}
FHIR_WRITABLE_TYPES = frozenset(FHIR_WRITE_SCOPES)
# SMART v1 permissions in v2 letters (App Launch 2.0, "Scopes for requesting FHIR resources")
_V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_READ, _WRITE = frozenset("rs"), frozenset("cu")  # d: no delete anywhere here
_SYSTEM_SCOPE = re.compile(r"system/(?P<type>\*|[A-Z][A-Za-z]*)\.(?P<perm>[^?\s]+)(?P<query>\?.*)?")


@dataclass(frozen=True)
class SmartScope:
    """A SMART system scope: a FHIR resource type (or ``*``) and the permissions on it, as v2 letters."""

    resource: str
    permissions: frozenset[str]

    def platform_scopes(self) -> frozenset[str]:
        """Our scopes this stands for: the read scope of the services owning its type(s), and for c or u the
        write scope of each writable one (``*``: ``claims:submit`` and ``eligibility:request``). Write letters
        on a read-only type, and d anywhere, stand for nothing."""
        types = tuple(FHIR_TYPE_SERVICE) if self.resource == "*" else (self.resource,)
        out: set[str] = set()
        for kind in types:
            if self.permissions & _READ:
                out.add(SERVICE_READ_SCOPES[FHIR_TYPE_SERVICE[kind]])
            if self.permissions & _WRITE and kind in FHIR_WRITE_SCOPES:
                out.add(FHIR_WRITE_SCOPES[kind])
        return frozenset(out)


def parse_smart_scope(scope: str) -> SmartScope | None:
    """The SMART system scope ``scope`` names; None for any other scope (ours, or another SMART context);
    ValueError for a system scope this platform cannot grant, saying why."""
    if not scope.startswith("system/"):
        return None
    found = _SYSTEM_SCOPE.fullmatch(scope)
    if found is None:
        raise ValueError(f"{scope!r} is not a SMART system scope (system/<Type>.<read|write|*|cruds>)")
    if found["query"]:
        raise ValueError(f"{scope!r}: scope parameters (?...) are not supported")
    resource, permission = found["type"], found["perm"]
    if resource != "*" and resource not in FHIR_TYPE_SERVICE:
        known = ", ".join(sorted(FHIR_TYPE_SERVICE))
        raise ValueError(f"{scope!r}: no service here holds FHIR {resource} resources (known: *, {known})")
    letters = _V1_PERMISSIONS.get(permission, permission)
    # v2 permissions are letters of "cruds", each at most once, in that order
    if not letters or "".join(c for c in "cruds" if c in letters) != letters:
        raise ValueError(f"{scope!r}: the permission must be read, write, * or letters of cruds in that order")
    # A permission that grants nothing is refused, saying why. One that grants part of what it names is not:
    # SMART v1 clients ask for system/Patient.* (read and write) and get its read, and cud's d adds nothing.
    if resource != "*" and resource not in FHIR_WRITABLE_TYPES and not _READ & set(letters):
        writable = ", ".join(sorted(FHIR_WRITABLE_TYPES))
        raise ValueError(
            f"{scope!r}: {resource} is read-only here, so only read permissions (read, r, s, rs) apply to it "
            f"(c, u, write only on {writable}, or *)"
        )
    if not (_READ | _WRITE) & set(letters):
        raise ValueError(f"{scope!r}: no resource here can be deleted, so d alone grants nothing")
    return SmartScope(resource, frozenset(letters))


def expand_smart_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes as given, plus the platform scopes their SMART system scopes stand for and the scopes any
    of them implies (``IMPLIED_SCOPES``): what a token carrying ``scopes`` may do. A system scope that cannot
    be mapped (an unknown resource type, say, or a write permission on a read-only type, from another
    identity provider) adds nothing."""
    given = frozenset(scopes)
    out = set(given)
    for scope in given:
        try:
            smart = parse_smart_scope(scope)
        except ValueError:
            continue
        if smart is not None:
            out |= smart.platform_scopes()
    out |= {IMPLIED_SCOPES[scope] for scope in out & IMPLIED_SCOPES.keys()}
    return frozenset(out)


def check_scope(scope: str) -> None:
    """ValueError unless ``scope`` is one a client may be granted: ours, or a SMART system scope we map."""
    if scope not in SCOPES and parse_smart_scope(scope) is None:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)} and SMART system/<Type>.<perm>")


def scope_granted(requested: str, granted: Iterable[str]) -> bool:
    """Whether a client granted ``granted`` may have ``requested`` in a token.

    A SMART scope is granted by the SMART scopes on its resource type or on ``*`` together
    (``system/*.read`` grants ``system/Claim.rs``; ``system/Claim.r`` and ``system/Claim.s`` grant
    ``system/Claim.read``); ``system/*`` is granted only by ``system/*`` scopes, and our own scopes never
    grant a SMART one. One of our scopes is granted by itself or by a SMART scope that maps to it.
    ValueError for a SMART scope this platform cannot grant.
    """
    wanted = parse_smart_scope(requested)
    held = list(granted)
    if wanted is None:
        return requested in expand_smart_scopes(held)
    permissions: set[str] = set()
    for scope in held:
        try:
            smart = parse_smart_scope(scope)
        except ValueError:
            continue
        if smart is not None and smart.resource in ("*", wanted.resource):
            permissions |= smart.permissions
    return wanted.permissions <= permissions


def smart_scopes_supported() -> list[str]:
    scopes = list(SCOPES)
    for resource in ("*", *sorted(FHIR_TYPE_SERVICE)):
        writable = resource == "*" or resource in FHIR_WRITABLE_TYPES
        perms = ("read", "write", "*", "rs", "cud", "cruds") if writable else ("read", "rs")
        scopes += [f"system/{resource}.{perm}" for perm in perms]
    return scopes


def smart_configuration(settings: AuthSettings | None = None) -> dict[str, Any]:
    """The SMART App Launch 2.0 discovery document (``/.well-known/smart-configuration``) for backend
    services: clients authenticate at ``AuthSettings.token_url`` with a signed assertion or a secret."""
    settings = settings or AuthSettings()
    return {
        "token_endpoint": settings.token_url,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": smart_scopes_supported(),
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }
