"""ASGI middleware of every service app: request body limit, correlation id, request timeout, latency metric."""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rcm_shared.config import BaseServiceSettings
from rcm_shared.ids import new_id
from rcm_shared.logging import correlation_id
from rcm_shared.metrics import HTTP_LATENCY
from rcm_shared.web.problems import ProblemError, answer, where

log = logging.getLogger(__package__)  # the web package's one logger

CORRELATION_HEADER = "X-Correlation-ID"


class BodyLimit:
    """Request bodies above the service's limit get 413, whether they declare their length or stream."""

    def __init__(self, app: ASGIApp, limit_mb: int) -> None:
        self.app = app
        self.limit_mb = limit_mb
        self.limit = limit_mb * 1024 * 1024

    def _too_large(self) -> ProblemError:
        return ProblemError(413, "Content Too Large", f"request bodies are limited to {self.limit_mb} MB")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            exc = self._too_large()
            await answer(scope["path"], exc.status, exc.title, exc.detail)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise self._too_large()  # rendered by the ProblemError handler
            return message

        await self.app(scope, counted, send)


class RequestContext:
    """Correlation id (taken from the request or made, and returned), request timeout (504), latency metric.

    Plain ASGI (so are the other middlewares here): Starlette's ``BaseHTTPMiddleware`` runs each request
    through a task group and memory streams, which leave reference cycles per request for the garbage
    collector, whose pauses would show in the tail latency of the fastest answers.
    """

    def __init__(self, app: ASGIApp, settings: BaseServiceSettings) -> None:
        self.app = app
        self.settings = settings
        self._header = CORRELATION_HEADER.lower().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == self._header), b"").decode("latin-1")
        cid = (given or new_id())[:100]
        token = correlation_id.set(cid)
        started = time.perf_counter()
        status = 500
        sent_start = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (self._header, cid.encode("latin-1"))]
                await send(message)
                # only once handed on: the audit trail outside holds the start until the request's row is
                # written, and a timeout meanwhile must still answer (504), not leave the client with nothing
                sent_start = True
                return
            await send(message)

        timeout = self.settings.request_timeout_s
        try:
            async with asyncio.timeout(timeout):
                await self.app(scope, receive, send_with_id)
        except TimeoutError:
            log.warning("request timed out", extra={"timeout_s": timeout, **where(scope)})
            if not sent_start:
                await answer(scope["path"], 504, "Gateway Timeout", f"the request took longer than {timeout} s")(
                    scope, receive, send_with_id
                )
        finally:
            correlation_id.reset(token)
            route = scope.get("route")
            HTTP_LATENCY.labels(
                self.settings.service_name, scope["method"], getattr(route, "path", "unmatched"), str(status)
            ).observe(time.perf_counter() - started)
