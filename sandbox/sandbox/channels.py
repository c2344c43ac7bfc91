"""The channels the clearinghouse sends through, as a real one does: the filedrop folders the claims and
remittance services watch (default), or an API push to their endpoints."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
from rcm_shared.config import project_var_dir
from rcm_shared.x12.reader import iter_raw_segments


class Delivery(Protocol):
    async def send(self, kind: str, name: str, text: str) -> str:
        """Deliver one file ('999', '277CA', '277' or '835'); returns where it went. Raises OSError/HTTPError."""
        ...


@dataclass
class FiledropDelivery:
    """Writes acknowledgments and 835s into the folders the services watch (atomically: hidden, then renamed)."""

    ack_dir: Path
    era_dir: Path

    async def send(self, kind: str, name: str, text: str) -> str:
        folder = self.era_dir if kind == "835" else self.ack_dir

        def write() -> str:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.part"
            tmp.write_text(text)
            os.replace(tmp, folder / name)
            return str(folder / name)

        return await asyncio.to_thread(write)


@dataclass
class PushDelivery:
    """POSTs acknowledgments to the claims service and 835s to the remittance service, for the organization of
    the submitter each file is addressed to (ISA08), ``tenant`` when that submitter is not in ``tenants``."""

    claims_url: str  # .../v1/acknowledgments
    remittance_url: str  # .../v1/remittances
    tenant: str
    transport: httpx.AsyncBaseTransport | None = None
    tenants: dict[str, str] = field(default_factory=dict)  # submitter id (ISA06 of its submissions) -> tenant

    def tenant_of(self, text: str) -> str:
        if not self.tenants:
            return self.tenant
        isa = next((e for _d, e in iter_raw_segments(text.encode()) if e[0].strip().upper() == "ISA"), None)
        return self.tenants.get(isa[8].strip(), self.tenant) if isa and len(isa) > 8 else self.tenant

    async def send(self, kind: str, name: str, text: str) -> str:
        url = self.remittance_url if kind == "835" else self.claims_url
        headers = {"content-type": "text/plain", "X-Tenant-ID": self.tenant_of(text)}
        async with httpx.AsyncClient(timeout=30.0, transport=self.transport) as client:
            response = await client.post(url, content=text.encode(), headers=headers)
        if response.status_code >= 300:
            raise httpx.HTTPStatusError(
                f"{url} answered {response.status_code}", request=response.request, response=response
            )
        return url


def delivery_from_env() -> Delivery:
    var = project_var_dir()
    if os.environ.get("SANDBOX_DELIVERY", "filedrop") == "push":
        return PushDelivery(
            os.environ.get("SANDBOX_CLAIMS_URL", "http://127.0.0.1:8002/v1/acknowledgments"),
            os.environ.get("SANDBOX_REMITTANCE_URL", "http://127.0.0.1:8003/v1/remittances"),
            os.environ.get("SANDBOX_TENANT", "default"),
            tenants=tenant_map(os.environ.get("SANDBOX_TENANTS", "")),
        )
    return FiledropDelivery(
        Path(os.environ.get("SANDBOX_ACK_DIR") or var / "inbound" / "acks"),
        Path(os.environ.get("SANDBOX_ERA_DIR") or var / "inbound" / "835"),
    )


def tenant_map(setting: str) -> dict[str, str]:
    """SANDBOX_TENANTS: a JSON object, submitter id -> organization, e.g. {"VALLEY01": "valley"}."""
    if not setting.strip():
        return {}
    try:
        value = json.loads(setting)
    except json.JSONDecodeError as exc:
        raise ValueError(f"SANDBOX_TENANTS is not JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError('SANDBOX_TENANTS must be a JSON object of submitter id -> tenant, e.g. {"VALLEY01": "valley"}')
    return value
