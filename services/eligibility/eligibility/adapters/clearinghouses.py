"""Clearinghouse adapters for real-time 270/271: HTTP endpoints (the sandbox's or a real one) with a
timeout, retries with backoff, a circuit breaker each, and a failover order across them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
from rcm_shared.tracing import client_span


class AdapterError(RuntimeError):
    pass


class Refused(AdapterError):
    """The clearinghouse refused the 270 itself (``REFUSALS``): retrying or failing over will not help, since
    the next clearinghouse refuses the same request too."""

    def __init__(self, clearinghouse: str, status: int, reason: str) -> None:
        super().__init__(f"{clearinghouse} refused the 270: {status} {reason}".rstrip())
        self.clearinghouse, self.status, self.reason = clearinghouse, status, reason


# The 4xx answers about the request itself. Every other one is about this clearinghouse and us: 401/403 (our
# credentials or enrollment there), 404 (its endpoint as configured here is wrong or gone), 408 (it timed out),
# 429 (it throttles us). Those are retried, count against its breaker and fail over, as a 5xx does: the next
# clearinghouse may well answer.
REFUSALS = frozenset({400, 409, 422})


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; ``reset_after`` s later it is half-open: one trial call
    goes through, and every other call is refused until the trial's outcome closes the circuit (a success)
    or opens it again (a failure)."""

    threshold: int = 5
    reset_after: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    trial: bool = False  # the half-open trial is under way

    def allow(self) -> bool:
        """Whether a call may go now; the call let through while the circuit is open is the trial, and it
        ends with ``success``, ``failure`` or (abandoned, e.g. cancelled) ``end_trial``."""
        if self.opened_at is None:
            return True
        if self.trial or time.monotonic() - self.opened_at < self.reset_after:
            return False
        self.trial = True
        return True

    def end_trial(self) -> None:
        self.trial = False

    def success(self) -> None:
        self.failures, self.opened_at, self.trial = 0, None, False

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
    # One aiohttp session per adapter, its connections kept alive (a client per call would make a TLS context and
    # a TCP connection per 270). aiohttp rather than httpx: its round trip costs the API less CPU, and
    # bench/eligibility_api.py is bound by the API's CPU.
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, x12_270: str) -> str:
        headers = {"content-type": "application/edi-x12"}
        with client_span("POST", self.url, headers):
            async with self._http().post(self.url, data=x12_270.encode(), headers=headers) as response:
                text = await response.text()
        if response.status in REFUSALS:
            raise Refused(self.name, response.status, text[:200])
        if response.status >= 400:
            raise AdapterError(f"{self.name} answered {response.status}")
        return text

    async def exchange(self, x12_270: str) -> str:
        if not self.breaker.allow():
            raise AdapterError(f"{self.name}: circuit open after {self.breaker.failures} failures")
        trial = self.breaker.opened_at is not None
        try:
            return await self._exchange(x12_270)
        finally:
            if trial:  # an outcome has ended it already; a cancelled trial lets the next call try
                self.breaker.end_trial()

    async def _exchange(self, x12_270: str) -> str:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                text = await self._post(x12_270)
            except Refused:
                self.breaker.success()  # the clearinghouse is up; our request is wrong
                raise
            except (aiohttp.ClientError, TimeoutError, AdapterError) as exc:
                last = exc
                if attempt < self.retries:
                    await asyncio.sleep(self.backoff * 2**attempt)
                continue
            self.breaker.success()
            return text
        self.breaker.failure()
        raise AdapterError(f"{self.name}: {str(last) or type(last).__name__}")


@dataclass
class Failover:
    """Tries each adapter in order; the first 271 wins. A refusal (``REFUSALS``) ends the attempt: it is about
    our request, which every clearinghouse would refuse alike."""

    adapters: list[HttpAdapter]

    async def exchange(self, x12_270: str) -> tuple[str, str]:
        problems = []
        for adapter in self.adapters:
            try:
                return adapter.name, await adapter.exchange(x12_270)
            except Refused:
                raise
            except AdapterError as exc:
                problems.append(str(exc))
        raise AdapterError("; ".join(problems) or "no clearinghouse adapter configured")

    async def aclose(self) -> None:
        for adapter in self.adapters:
            await adapter.aclose()
