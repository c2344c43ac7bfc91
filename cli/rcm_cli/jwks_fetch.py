"""Fetching a client's JWKS for the embedded issuer: GET, no redirects, at most ``REMOTE_MAX_BYTES``, and all of
it (resolving the name, connecting, TLS, every byte of the answer) within one deadline, ``REMOTE_TIMEOUT_S``: the
fetch holds its URL's lock, and requests for that client's tokens wait on it."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpcore

REMOTE_TIMEOUT_S = 5.0  # the whole fetch: resolving, connecting, the request, every byte of the answer
REMOTE_MAX_BYTES = 64 * 1024  # a JWKS of a few keys is a few KB


class FetchFailed(Exception):
    """A JWKS URL's answer cannot be used; ``cause`` says why in a few words fit for a log line (no URL)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


# What fetching a URL may raise besides FetchFailed: the network, TLS, HTTP, and a body that is not a JWKS
FETCH_ERRORS = (
    OSError,
    ValueError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
    httpcore.ConnectionNotAvailable,
)


def fetch_jwks(url: str, timeout_s: float = REMOTE_TIMEOUT_S, max_bytes: int = REMOTE_MAX_BYTES) -> bytes:
    """The body at ``url`` (GET, no redirects) within ``timeout_s`` in all and at most ``max_bytes``;
    FetchFailed, or the network's and HTTP's errors, otherwise."""
    deadline = time.monotonic() + timeout_s
    with (
        httpcore.ConnectionPool(network_backend=_DeadlineBackend(deadline), max_connections=1) as pool,
        pool.stream("GET", url, headers=[(b"Accept", b"application/json")]) as response,
    ):
        if response.status != 200:
            raise FetchFailed(f"HTTP {response.status}")
        body = bytearray()
        for chunk in response.iter_stream():
            body += chunk
            if len(body) > max_bytes:
                raise FetchFailed(f"larger than {max_bytes} bytes")
        return bytes(body)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Sockets whose each operation (resolving the name, connecting to each of its addresses, TLS handshake,
    read, write) waits at most what is left until ``deadline``, and none starts after it: a per-read timeout
    alone lets a server that sends a byte now and then hold a fetch (and its URL's lock) for as long as it
    likes, and socket.create_connection gives the resolver no timeout and each address the whole of one."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def left(self, timeout: float | None) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed("too slow")
        return remaining if timeout is None else min(timeout, remaining)

    def resolve(self, host: str, port: int, timeout: float | None) -> list[Any]:
        """getaddrinfo in a thread of its own, waited for until the deadline (it takes no timeout); a resolver
        that answers later finishes alone, its answer dropped."""
        answer: list[Any] = []
        done = threading.Event()

        def run() -> None:
            try:
                answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
            except Exception as exc:  # noqa: BLE001 - handed to the fetching thread, which raises it
                answer.append(exc)
            finally:
                done.set()

        threading.Thread(target=run, name="jwks-resolve", daemon=True).start()
        if not done.wait(self.left(timeout)):
            raise FetchFailed("too slow")
        if isinstance(answer[0], Exception):
            raise answer[0]
        return list(answer[0])

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: OSError = OSError(f"{host!r} has no address")
        for family, kind, proto, _name, address in self.resolve(host, port, timeout):
            sock = socket.socket(family, kind, proto)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if local_address is not None:
                    sock.bind((local_address, 0))
                sock.settimeout(self.left(timeout))  # each address: what is left, not the whole deadline again
                sock.connect(address)
            except OSError as exc:
                sock.close()
                failure = exc
                continue
            except BaseException:
                sock.close()
                raise
            return _DeadlineStream(sock, self)
        raise httpcore.ConnectError(failure) from failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise FetchFailed("not a TCP URL")


class _DeadlineStream(httpcore.NetworkStream):
    """A connected socket, each operation bounded by the backend's deadline; the socket's errors raised as
    httpcore's, as its own backend raises them."""

    def __init__(self, sock: socket.socket, backend: _DeadlineBackend) -> None:
        self._sock, self._backend = sock, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._sock.settimeout(self._backend.left(timeout))
        try:
            return self._sock.recv(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ReadError(exc) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        while buffer:
            self._sock.settimeout(self._backend.left(timeout))
            try:
                buffer = buffer[self._sock.send(buffer) :]
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(exc) from exc
            except OSError as exc:
                raise httpcore.WriteError(exc) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._sock.settimeout(self._backend.left(timeout))
        try:
            tls = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except OSError as exc:  # ssl.SSLError is one
            self._sock.close()
            raise httpcore.ConnectError(exc) from exc
        return _DeadlineStream(tls, self._backend)

    def get_extra_info(self, info: str) -> Any:
        # httpcore asks for the ssl_object for the ALPN protocol, which an SSLSocket answers too
        if info in ("ssl_object", "socket"):
            return self._sock if info == "socket" or isinstance(self._sock, ssl.SSLSocket) else None
        return None
