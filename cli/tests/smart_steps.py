"""Steps of the SMART Backend Services tests: a client's key pair that signs assertions, asking the issuer for a
token with one, and a JWKS server a client registers the URL of (well or badly behaved)."""

from __future__ import annotations

import json
import socket
import struct
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import httpx
import jwt
from rcm_cli.client_assertion import ASSERTION_TYPE
from rcm_cli.jwks_fetch import REMOTE_MAX_BYTES

TOKEN_URL = "https://auth.example/oauth/token"  # AUTH_TOKEN_URL: what the issuer is known as
HERE = "http://issuer.test/oauth/token"  # the URL the test's requests come to: not an audience
DRIP_FOR_S = 8.0  # how long a dripping server keeps sending, a byte at a time, unless the client hangs up


class Key:
    """A client's key pair: the private half signs assertions, the public half is registered."""

    def __init__(self, private: Any, alg: str, kid: str, *, declare_alg: bool = True) -> None:
        self.private, self.alg, self.kid = private, alg, kid
        algorithm = jwt.algorithms.RSAAlgorithm if alg.startswith("RS") else jwt.algorithms.ECAlgorithm
        self.jwk: dict[str, Any] = {**json.loads(algorithm.to_jwk(private.public_key())), "kid": kid}
        if declare_alg:
            self.jwk["alg"] = alg

    def sign(self, client_id: str, *, aud: str = TOKEN_URL, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 240, "jti": uuid.uuid4().hex}
        body = {k: v for k, v in {**body, **claims}.items() if v is not None}  # None: leave the claim out
        header = {"kid": self.kid} if self.kid else {}
        return jwt.encode(body, self.private, algorithm=self.alg, headers=header)


async def ask(http: httpx.AsyncClient, assertion: str, scope: str = "", **form: str) -> httpx.Response:
    fields = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE}
    fields |= {"client_assertion": assertion, "scope": scope, **form}
    return await http.post("/oauth/token", data={k: v for k, v in fields.items() if v})


def refused(r: httpx.Response, status: int, error: str, why: str) -> None:
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert why in r.json()["error_description"], r.json()


class JwksServer(BaseHTTPRequestHandler):
    """Serves ``jwks`` as ``mode`` says: ok; drip (the headers, then a byte every 0.1 s); cut (half the body, then
    a TCP reset); huge (the JWKS padded past the issuer's size cap); deep (JSON nested past Python's recursion
    limit, within the cap). ``fetches`` lists the paths asked for."""

    mode: ClassVar[str] = "ok"
    jwks: ClassVar[dict[str, Any]] = {}
    fetches: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.fetches.append(self.path)
        body = json.dumps(self.jwks).encode()
        if self.mode == "huge":
            body = json.dumps({**self.jwks, "padding": "x" * REMOTE_MAX_BYTES}).encode()
        elif self.mode == "deep":
            body = b"[" * 30_000 + b"]" * 30_000
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) if self.mode != "drip" else 100_000))
        self.end_headers()
        self.wfile.flush()
        if self.mode == "drip":
            self._drip()
        elif self.mode == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        else:
            self.wfile.write(body)

    def _drip(self) -> None:
        until = time.monotonic() + DRIP_FOR_S
        try:
            while time.monotonic() < until:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            return  # the client hung up, as its deadline says

    def log_message(self, *args: Any) -> None:
        pass
