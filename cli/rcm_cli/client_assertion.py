"""Client authentication with a signed assertion (``private_key_jwt``: RFC 7523 section 2.2, SMART Backend
Services), for the embedded issuer.

A client registers public keys (a JWKS, or the URL of one) instead of, or besides, a secret. For each token
request it signs a short-lived JWT with one of them: ``iss`` and ``sub`` its client id, ``aud`` the token
endpoint's URL, ``exp`` at most five minutes ahead, a ``jti`` it never uses again, and the key's ``kid`` in the
header. This module checks a JWKS at registration and an assertion's key, signature and claims; the issuer
keeps the clients and the ``jti`` values already seen.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from rcm_shared.auth import ASSERTION_ALGORITHMS

from rcm_cli.jwks_fetch import FETCH_ERRORS, REMOTE_TIMEOUT_S, FetchFailed, fetch_jwks

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME_S = 300  # SMART: exp no more than five minutes in the future
REMOTE_TTL_S = 300.0  # a fetched JWKS is used this long
REMOTE_RETRY_S = 30.0  # an unknown kid, or a failed fetch, fetches again at most this often
# RFC 7518 section 6: the members that carry private or symmetric key material
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_CURVE_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384"}
log = logging.getLogger(__name__)


class InvalidClient(PermissionError):
    """Client authentication failed (RFC 6749 section 5.2 ``invalid_client``); the message says why."""


@dataclass(frozen=True)
class ClientKey:
    kid: str
    key: Any
    algorithms: frozenset[str]  # what an assertion signed with this key may name as its alg


def client_key(jwk: Any) -> ClientKey:
    """One registered public key, checked; ValueError saying what is wrong with it."""
    if not isinstance(jwk, dict):
        raise ValueError("each entry of a JWKS's keys is a JSON object (a JWK)")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("every key needs a kid: the assertion's header names the key it is signed with")
    private = [m for m in _PRIVATE_MEMBERS if m in jwk]
    if private:
        raise ValueError(f"key {kid!r} holds private key material ({', '.join(private)}): register the public key only")
    use, ops = jwk.get("use"), jwk.get("key_ops")
    if use is not None and use != "sig":
        raise ValueError(f"key {kid!r} is for use {use!r}: a key that verifies assertions has use sig (or none)")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise ValueError(f"key {kid!r}: its key_ops do not include verify")
    alg = jwk.get("alg")
    if alg is not None and alg not in ASSERTION_ALGORITHMS:
        raise ValueError(f"key {kid!r}: alg {alg!r} is not accepted (accepted: {', '.join(ASSERTION_ALGORITHMS)})")
    try:
        key = jwt.PyJWK(jwk).key
    except jwt.PyJWTError as exc:
        raise ValueError(f"key {kid!r} is not a usable public JWK: {exc}") from None
    if isinstance(key, RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError(f"key {kid!r}: an RSA key has at least 2048 bits, not {key.key_size}")
        fits = {"RS256", "RS384"}
    elif isinstance(key, EllipticCurvePublicKey) and key.curve.name in _CURVE_ALGORITHMS:
        fits = {_CURVE_ALGORITHMS[key.curve.name]}
    elif isinstance(key, Ed25519PublicKey):
        fits = {"EdDSA"}
    else:
        raise ValueError(f"key {kid!r}: only RSA, EC P-256/P-384 and Ed25519 keys are accepted")
    if alg is not None:
        if alg not in fits:
            raise ValueError(f"key {kid!r}: alg {alg!r} does not fit this key (it signs {', '.join(sorted(fits))})")
        fits = {alg}
    return ClientKey(kid, key, frozenset(fits))


def public_jwks(data: Any) -> dict[str, Any]:
    """A client's JWKS as registered: public keys only, each with a kid of its own; ValueError otherwise."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise ValueError('a JWKS is a JSON object with a non-empty "keys" array')
    kids = [client_key(jwk).kid for jwk in data["keys"]]
    repeated = sorted({kid for kid in kids if kids.count(kid) > 1})
    if repeated:
        raise ValueError(f"kid {', '.join(repeated)} names more than one key")
    return {"keys": list(data["keys"])}


def keys_by_kid(jwks: dict[str, Any]) -> dict[str, ClientKey]:
    return {key.kid: key for key in map(client_key, jwks["keys"])}


def client_keys(client_id: str, client: dict[str, Any], remote: RemoteJwks) -> Callable[[str], ClientKey]:
    """The lookup from kid to key for a registered client's assertions: its JWKS, or its JWKS URL's."""
    if "jwks_url" in client:
        return partial(remote.key, client["jwks_url"])
    if "jwks" not in client:
        raise InvalidClient(f"client {client_id!r} has no registered keys (it authenticates with its secret)")
    keys = keys_by_kid(client["jwks"])

    def registered(kid: str) -> ClientKey:
        if kid not in keys:
            raise InvalidClient(f"client {client_id!r} has no registered key with kid {kid!r}")
        return keys[kid]

    return registered


def check_jwks_url(url: str) -> str:
    """A JWKS URL is HTTPS (plain HTTP only on this machine, for development); ValueError otherwise."""
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise ValueError(f"a JWKS URL is https://... (http:// only for localhost), not {url!r}")
    return url


@dataclass
class _Fetched:
    keys: dict[str, ClientKey]
    fresh_until: float
    retry_after: float
    failed: bool = False


_CANNOT_USE = "the client's registered JWKS URL cannot be used now; try again later"


class RemoteJwks:
    """Clients' keys served at their JWKS URLs: fetched within ``REMOTE_TIMEOUT_S`` (the whole fetch) and up to
    ``REMOTE_MAX_BYTES``, used for ``REMOTE_TTL_S``, and fetched again early for a kid not seen yet (the client
    rotated its keys), at most every ``REMOTE_RETRY_S``, so a stream of made-up kids or an unreachable URL costs
    one fetch per interval. A failed fetch keeps the keys fetched before until their TTL ends: a made-up kid
    while the URL is down locks no client out. A fetch holds its URL's lock only: a slow URL delays no other
    client, and a request waits for another's fetch of its URL no longer than a fetch may take. Why a fetch
    failed goes to the log, never to the caller, who is not authenticated yet."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, timeout_s: float = REMOTE_TIMEOUT_S) -> None:
        self.clock = clock
        self.timeout_s = timeout_s
        self._fetched: dict[str, _Fetched] = {}
        self._url_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()  # guards the two dicts; never held while fetching

    def key(self, url: str, kid: str) -> ClientKey:
        held = self._current(url, kid)
        if held is None:
            lock = self._url_lock(url)
            if not lock.acquire(timeout=self.timeout_s):
                raise InvalidClient(_CANNOT_USE)
            try:
                held = self._current(url, kid)  # fetched by another request while this one waited
                if held is None:
                    with self._lock:
                        before = self._fetched.get(url)
                    held = self._fetch(url, before)
                    with self._lock:
                        self._fetched[url] = held
            finally:
                lock.release()
        if kid in held.keys:
            return held.keys[kid]
        if held.failed:
            raise InvalidClient(_CANNOT_USE)
        raise InvalidClient(f"the client's JWKS has no key with kid {kid!r}")

    def _current(self, url: str, kid: str) -> _Fetched | None:
        """What was fetched from ``url``, unless it is time to fetch it again."""
        with self._lock:
            held = self._fetched.get(url)
        now = self.clock()
        if held is None or now >= held.fresh_until or (kid not in held.keys and now >= held.retry_after):
            return None
        return held

    def _url_lock(self, url: str) -> threading.Lock:
        with self._lock:
            return self._url_locks.setdefault(url, threading.Lock())

    def _fetch(self, url: str, before: _Fetched | None) -> _Fetched:
        try:
            keys = read_jwks(fetch_jwks(url, self.timeout_s))
        except FetchFailed as exc:
            log.warning("a client's JWKS URL cannot be used", extra={"cause": exc.cause})
        except FETCH_ERRORS as exc:  # the URL's answer, not a fault of ours: refused like the others
            log.warning("a client's JWKS URL cannot be used", extra={"cause": "fetch or content", "error": exc})
        else:
            now = self.clock()
            return _Fetched(keys, now + REMOTE_TTL_S, now + REMOTE_RETRY_S)
        now = self.clock()
        if before is not None and now < before.fresh_until:
            return _Fetched(before.keys, before.fresh_until, now + REMOTE_RETRY_S, failed=True)
        return _Fetched({}, now + REMOTE_RETRY_S, now + REMOTE_RETRY_S, failed=True)


def read_jwks(body: bytes) -> dict[str, ClientKey]:
    """A fetched JWKS's keys by kid; ValueError for any body the JSON and JWK parsers cannot read. Their errors
    are not all ValueErrors (PyJWK raises KeyError for an oct key without k, json RecursionError for deep
    nesting), and each is the URL's fault, to be throttled like a failed fetch, never a 500."""
    try:
        return keys_by_kid(public_jwks(json.loads(body)))
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"not a usable JWKS ({type(exc).__name__})") from exc


def assertion_issuer(assertion: str) -> str:
    """The client an assertion says it comes from (its iss, not yet verified: it selects the keys)."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidClient("the client_assertion is not a JWT") from None
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        raise InvalidClient("the client_assertion names no client (iss)")
    return iss


def verify_assertion(
    assertion: str, client_id: str, key_for: Callable[[str], ClientKey], audiences: Sequence[str], leeway_s: int
) -> dict[str, Any]:
    """The assertion's claims once its key, signature, iss, sub, aud, exp and jti check out; InvalidClient
    saying which did not. Whether the jti was seen before is the caller's to check."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise InvalidClient("the client_assertion is not a JWT") from None
    kid, alg = header.get("kid"), header.get("alg")
    if not isinstance(kid, str) or not kid:
        raise InvalidClient("the client_assertion's header names no kid (the key it is signed with)")
    if alg not in ASSERTION_ALGORITHMS:
        raise InvalidClient(f"the client_assertion's alg {alg!r} is not accepted ({', '.join(ASSERTION_ALGORITHMS)})")
    key = key_for(kid)
    if alg not in key.algorithms:
        raise InvalidClient(f"key {kid!r} does not sign {alg} (it signs {', '.join(sorted(key.algorithms))})")
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key.key,
            algorithms=[alg],
            audience=list(audiences),
            issuer=client_id,
            leeway=leeway_s,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except jwt.InvalidSignatureError:
        raise InvalidClient(f"the client_assertion's signature does not verify with key {kid!r}") from None
    except jwt.ExpiredSignatureError:
        raise InvalidClient("the client_assertion has expired (exp)") from None
    except jwt.InvalidAudienceError:
        raise InvalidClient(f"the client_assertion's aud must be the token endpoint URL, {audiences[0]}") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidClient(f"the client_assertion has no {exc.claim} claim") from None
    except jwt.ImmatureSignatureError:
        raise InvalidClient("the client_assertion is not valid yet (nbf or iat in the future)") from None
    except jwt.PyJWTError as exc:
        raise InvalidClient(f"invalid client_assertion: {exc}") from None
    if claims["sub"] != client_id:
        raise InvalidClient("the client_assertion's sub must be the client id, as its iss is")
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise InvalidClient("the client_assertion's jti must be a non-empty string")
    if claims["exp"] > time.time() + MAX_LIFETIME_S + leeway_s:
        raise InvalidClient(f"the client_assertion's exp is more than {MAX_LIFETIME_S} s in the future")
    return claims
