"""Clearinghouse adapters for real-time 270/271: HTTP endpoints (the sandbox's or a real one) with a
timeout, retries with backoff, a circuit breaker each, and a failover order across them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx


class AdapterError(RuntimeError):
    pass


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; lets one trial call through after ``reset_after`` s."""

    threshold: int = 5
    reset_after: float = 30.0
    failures: int = 0
    opened_at: float | None = None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        return time.monotonic() - self.opened_at >= self.reset_after  # half-open: one trial

    def success(self) -> None:
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()


@dataclass
class HttpAdapter:
    name: str
    url: str
    timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.2
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    transport: httpx.AsyncBaseTransport | None = None  # tests plug a transport in; production uses the network
    # One client per adapter, its connections kept alive: a client per call made a TLS context and a TCP
    # connection per 270.
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self.timeout, transport=self.transport)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def exchange(self, x12_270: str) -> str:
        if not self.breaker.allow():
            raise AdapterError(f"{self.name}: circuit open after {self.breaker.failures} failures")
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                response = await self._http().post(
                    self.url, content=x12_270.encode(), headers={"content-type": "application/edi-x12"}
                )
                if response.status_code >= 500:
                    raise AdapterError(f"{self.name} answered {response.status_code}")
                if response.status_code >= 400:  # our request is wrong: retrying will not help
                    self.breaker.success()
                    raise AdapterError(f"{self.name} refused the 270: {response.status_code} {response.text[:200]}")
                self.breaker.success()
                return response.text
            except (httpx.HTTPError, AdapterError) as exc:
                if isinstance(exc, AdapterError) and "refused" in str(exc):
                    raise
                last = exc
                if attempt < self.retries:
                    await asyncio.sleep(self.backoff * 2**attempt)
        self.breaker.failure()
        raise AdapterError(f"{self.name}: {last}")


@dataclass
class Failover:
    """Tries each adapter in order; the first 271 wins."""

    adapters: list[HttpAdapter]

    async def exchange(self, x12_270: str) -> tuple[str, str]:
        problems = []
        for adapter in self.adapters:
            try:
                return adapter.name, await adapter.exchange(x12_270)
            except AdapterError as exc:
                problems.append(str(exc))
        raise AdapterError("; ".join(problems) or "no clearinghouse adapter configured")

    async def aclose(self) -> None:
        for adapter in self.adapters:
            await adapter.aclose()
