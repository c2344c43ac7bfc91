"""Clearinghouse connections: an interchange handed over as a file in an outbound folder, or POSTed to an
endpoint that answers with a 999. Delivery is retried until it succeeds, so a clearinghouse drops a resent
interchange by its ISA13."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from claims.config import ClaimsSettings


class DeliveryError(RuntimeError):
    pass


class Adapter(Protocol):
    name: str

    async def deliver(self, submission_id: str, x12: str) -> tuple[str, str | None]:
        """Send an interchange; returns (destination, an immediate response such as a 999, or None)."""
        ...


@dataclass
class FiledropAdapter:
    """Files into an outbound folder; acknowledgments come back through the inbound folder."""

    folder: Path
    name: str = "filedrop"

    async def deliver(self, submission_id: str, x12: str) -> tuple[str, str | None]:
        def write() -> str:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{submission_id}.x12"
            # a temporary name of its own: two deliveries of one submission (the API's, the worker's retry)
            # never share it; the clearinghouse takes only *.x12 files
            tmp = self.folder / f".{submission_id}.{uuid.uuid4().hex}.part"
            tmp.write_text(x12)
            os.replace(tmp, target)  # atomic: a reader never sees half a file
            return str(target)

        return await asyncio.to_thread(write), None


@dataclass
class HttpAdapter:
    """POSTs the interchange to a clearinghouse endpoint, which answers with a 999."""

    url: str
    timeout: float = 10.0
    name: str = "http"
    transport: httpx.AsyncBaseTransport | None = None  # tests plug a transport in; production uses the network

    async def deliver(self, submission_id: str, x12: str) -> tuple[str, str | None]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.post(
                    self.url, content=x12.encode(), headers={"content-type": "application/edi-x12"}
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.url}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"{self.url} answered {response.status_code}: {response.text[:300]}")
        return self.url, response.text or None


def adapter_for(settings: ClaimsSettings) -> Adapter:
    if settings.clearinghouse_adapter == "sandbox":
        return HttpAdapter(settings.sandbox_url, settings.clearinghouse_timeout_s, name="sandbox")
    if settings.clearinghouse_adapter == "http":
        if not settings.clearinghouse_url:
            raise ValueError("CLAIMS_CLEARINGHOUSE_URL is required with the http adapter")
        return HttpAdapter(settings.clearinghouse_url, settings.clearinghouse_timeout_s)
    if settings.clearinghouse_adapter == "filedrop":
        return FiledropAdapter(settings.outbound_path())
    raise ValueError(f"unknown clearinghouse adapter {settings.clearinghouse_adapter!r}")
